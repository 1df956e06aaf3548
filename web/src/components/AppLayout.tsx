import { Anchor, AppShell, Burger, Button, Group, Select, Skeleton, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { Outlet, useNavigate, useParams, useRouterState } from '@tanstack/react-router';
import { useEffect, useMemo, useState } from 'react';
import { meQuery, myRolesQuery, useLogout, type MyRole, type Role } from '../features/auth/session';
import { AnchorLink, NavLinkLink } from './links';
import { visibleEntries } from './navigation';

const PLACE_KEY = 'licensepool.place';

/**
 * The pool the person works in now (the pool switcher's choice): the pool of the page when they
 * hold a role there, else the last one chosen, else the first they hold a role at.
 */
function usePlace(roles: readonly MyRole[]) {
  const { poolId } = useParams({ strict: false });
  const [chosen, setChosen] = useState<string | null>(() => localStorage.getItem(PLACE_KEY));
  const held = (id: string | null | undefined) => !!id && roles.some((r) => r.pool.id === id);
  const place = held(poolId) ? poolId! : held(chosen) ? chosen! : (roles[0]?.pool.id ?? null);
  useEffect(() => {
    if (place) localStorage.setItem(PLACE_KEY, place);
  }, [place]);
  return [place, setChosen] as const;
}

/** The signed-in console: header, navigation by role, pool switcher, and the page. */
export function AppLayout() {
  const [opened, { toggle, close }] = useDisclosure();
  const me = useQuery(meQuery).data;
  const rolesQuery = useQuery(myRolesQuery);
  const roles = rolesQuery.data ?? [];
  const [place, setPlace] = usePlace(roles);
  const navigate = useNavigate();
  const logout = useLogout();
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  useEffect(close, [pathname, close]);

  const places = useMemo(() => {
    const byPool = new Map<string, { value: string; label: string }>();
    for (const r of roles) {
      const entry = byPool.get(r.pool.id);
      byPool.set(r.pool.id, { value: r.pool.id, label: entry ? `${entry.label}, ${r.role}` : `${r.pool.name} (${r.pool.kind}) — ${r.role}` });
    }
    return [...byPool.values()];
  }, [roles]);
  const entries = visibleEntries({
    superuser: me?.superuser ?? false,
    roles: roles.map((r) => r.role as Role),
    rolesAtPlace: roles.filter((r) => r.pool.id === place).map((r) => r.role as Role),
    hasPlace: place !== null,
  });

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 260, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <Anchor href="#main" className="skip-link">
        Skip to content
      </Anchor>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={opened ? 'Close navigation' : 'Open navigation'} />
            <AnchorLink to="/" fw={700} c="dark" underline="never">
              licensepool
            </AnchorLink>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" visibleFrom="sm" truncate maw={240}>
              {me?.name}
            </Text>
            <Button variant="default" size="xs" loading={logout.isPending} onClick={() => logout.mutate(undefined, { onSettled: () => void navigate({ to: '/login' }) })}>
              Log out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" aria-label="Main">
        {rolesQuery.isPending ? (
          <Skeleton h={36} mb="sm" aria-label="Loading your pools" />
        ) : (
          places.length > 1 && (
            <Select
              label="Pool"
              description="Where you work now"
              data={places}
              value={place}
              searchable
              allowDeselect={false}
              mb="sm"
              onChange={(id) => {
                if (!id) return;
                setPlace(id);
                void navigate({ to: '/pools/$poolId', params: { poolId: id } });
              }}
            />
          )
        )}
        <nav aria-label="Pages">
          {entries.map((entry) =>
            entry.place ? (
              <NavLinkLink key={entry.label} to={entry.to} params={{ poolId: place! }} label={entry.label} activeOptions={{ exact: true }} variant="filled" />
            ) : (
              <NavLinkLink key={entry.label} to={entry.to} label={entry.label} activeOptions={{ exact: true }} variant="filled" />
            ),
          )}
        </nav>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
