import '@mantine/core/styles.css';
import './styles.css';
import { createTheme, MantineProvider, type CSSVariablesResolver } from '@mantine/core';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createRouter, RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { isProblem } from './api/problem';
import { meQuery } from './features/auth/session';
import { routeTree } from './routeTree.gen';

/**
 * The page's nonce (the server puts a fresh one in place of the build's placeholder on every
 * answer of index.html); Mantine puts it on the <style> tags it adds, which the page's
 * Content-Security-Policy admits by it and by nothing else.
 */
const styleNonce = document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.nonce ?? '';
// Mantine's Modal locks the page's scroll through react-remove-scroll, whose <style> tag takes its
// nonce from this global (get-nonce reads `__webpack_nonce__`, whatever the bundler); without it a
// dialog's opening is a CSP violation.
(globalThis as { __webpack_nonce__?: string }).__webpack_nonce__ = styleNonce;

// Darker shades than Mantine's default 6, so text on white and white on colour meet WCAG AA
// contrast (the axe check of the browser tests).
const theme = createTheme({ primaryColor: 'blue', primaryShade: 8, defaultRadius: 'sm' });
const darkerText: CSSVariablesResolver = (t) => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': t.colors.gray[7]!,
    '--mantine-color-error': t.colors.red[9]!,
    ...Object.fromEntries(['blue', 'red', 'green', 'orange'].map((c) => [`--mantine-color-${c}-light-color`, t.colors[c]![9]!])),
  },
  dark: {},
});

/** The session ended (expired, revoked, logged out elsewhere): back to the login page. */
function onSessionLost(error: unknown) {
  if (isProblem(error) && error.code === 'UNAUTHENTICATED' && queryClient.getQueryData(meQuery.queryKey)) {
    queryClient.setQueryData(meQuery.queryKey, null);
    void router.navigate({ to: '/login', search: { redirect: router.state.location.href } });
  }
}

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: onSessionLost }),
  mutationCache: new MutationCache({ onError: onSessionLost }),
  defaultOptions: {
    queries: {
      // A refusal (4xx) is the answer; only a lost connection or a server error is worth a retry.
      retry: (failures, error) => failures < 2 && !(isProblem(error) && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});

const router = createRouter({ routeTree, context: { queryClient }, defaultPreload: 'intent', scrollRestoration: true });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={darkerText} getStyleNonce={() => styleNonce}>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
