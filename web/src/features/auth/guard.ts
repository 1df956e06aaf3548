import type { QueryClient } from '@tanstack/react-query';
import { redirect } from '@tanstack/react-router';
import { meQuery } from './session';

/** `beforeLoad` of the signed-in pages: without a session, the login page, then back here. */
export async function requireSession({ context, location }: { context: { queryClient: QueryClient }; location: { href: string } }) {
  const me = await context.queryClient.ensureQueryData(meQuery);
  if (!me) throw redirect({ to: '/login', search: { redirect: location.href } });
  return { me };
}

/** The login page's search: where to go once signed in (a path of this console only). */
export function loginSearch(search: Record<string, unknown>): { redirect?: string } {
  const to = search.redirect;
  return typeof to === 'string' && to.startsWith('/') && !to.startsWith('//') ? { redirect: to } : {};
}

/** `beforeLoad` of the login page: someone signed in goes straight on. */
export async function skipLoginWhenSignedIn({ context, search }: { context: { queryClient: QueryClient }; search: { redirect?: string } }) {
  const me = await context.queryClient.ensureQueryData(meQuery);
  if (me) throw redirect({ to: search.redirect ?? '/' });
}
