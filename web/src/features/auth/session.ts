/**
 * Who is signed in, and where they hold roles: the two queries every page and the shell read.
 * The session itself is the HTTP-only cookie the login sets; the console never sees its secret.
 */
import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, CSRF_COOKIE, readCookie, unwrap } from '../../api/client';
import { isProblem } from '../../api/problem';

export type Account = NonNullable<Awaited<ReturnType<typeof fetchMe>>>;
export type MyRole = Awaited<ReturnType<NonNullable<typeof myRolesQuery.queryFn>>>['data'][number];
export type Role = 'operator' | 'admin' | 'manager' | 'deputy';

async function fetchMe() {
  // The login sets the readable CSRF cookie beside the session cookie, with the same lifetime:
  // without it there is no session to ask about (and no 401 to log in the browser's console).
  if (!readCookie(CSRF_COOKIE)) return null;
  try {
    return await unwrap(api.GET('/v1/accounts/me'));
  } catch (err) {
    // Not signed in (or the session ended): the console shows the login page.
    if (isProblem(err) && err.status === 401) return null;
    throw err;
  }
}

export const meQuery = queryOptions({ queryKey: ['me'], queryFn: fetchMe, staleTime: 60_000 });

export const myRolesQuery = queryOptions({
  queryKey: ['me', 'roles'],
  queryFn: () => unwrap(api.GET('/v1/accounts/me/roles')),
  select: (answer) => answer.data,
  staleTime: 60_000,
});

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string }) => unwrap(api.POST('/v1/auth/login', { body })),
    onSuccess: async (session) => {
      // Another person may have used this browser: nothing of theirs stays in the cache.
      queryClient.clear();
      queryClient.setQueryData(meQuery.queryKey, session.account);
    },
  });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/v1/auth/logout')),
    onSettled: () => {
      queryClient.clear();
      queryClient.setQueryData(meQuery.queryKey, null);
    },
  });
}
