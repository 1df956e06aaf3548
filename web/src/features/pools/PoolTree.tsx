/**
 * The pool tree (issue 14, item 4; BAS-IP's "Group Object"): the pools under each place the
 * person's tree starts, loaded a level at a time when a node opens, a page of children at a time
 * (the API's cursor), and a search by name that opens the tree down to the hit. The tree never
 * holds more than what was opened, so 100,000 pools cost what the open nodes show.
 *
 * ARIA tree pattern (WAI-ARIA APG "Tree View"): one tab stop (roving tabindex), arrows move and
 * open/close, Home/End, Enter opens the pool's page. The items are one flat list whose depth is
 * `aria-level` (with `aria-setsize`/`aria-posinset`), not nested groups: an item's accessible
 * name is its own row — name, kind, status, the person's role, the fullest meter — never its
 * open children's too.
 */
import { Anchor, Box, Group, Loader, Stack, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { createContext, memo, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type KeyboardEvent } from 'react';
import { AnchorLink } from '../../components/links';
import { Empty, Loading } from '../../components/PageState';
import { ProblemAlert } from '../../components/ProblemAlert';
import { meQuery, myRolesQuery } from '../auth/session';
import { PoolStatus } from './PoolStatus';
import { poolQuery } from './queries';
import { treeChildrenQuery, treeSearchQuery, treeTopQuery, type TreePool } from './tree.queries';

/** A pool a search opened the tree to, shown under its parent before (or without) its page of siblings. */
type Pinned = { id: string; name: string; pool?: TreePool };
const TOP = '#top';
const levelOf = (item: HTMLElement | undefined) => Number(item?.getAttribute('aria-level') ?? 0);

/**
 * What the tree remembers (open nodes, focus, selection, pins) outside React state, so a change
 * re-renders only the items it concerns (each subscribes to its own flags), not every drawn item:
 * opening a node with hundreds already drawn costs its children only.
 */
class TreeStore {
  expanded = new Set<string>();
  focused: string | null = null;
  selected: string | null = null;
  /** The pool to scroll to and focus once it is drawn (a search hit). */
  reveal: string | null = null;
  pinned = new Map<string, readonly Pinned[]>();
  readonly #listeners = new Set<() => void>();

  subscribe = (listener: () => void) => {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  };
  #changed() {
    for (const listener of this.#listeners) listener();
  }
  toggle(id: string, open?: boolean) {
    if (open ?? !this.expanded.has(id)) this.expanded.add(id);
    else this.expanded.delete(id);
    this.#changed();
  }
  setFocused(id: string) {
    if (this.focused === id) return;
    this.focused = id;
    this.#changed();
  }
  revealed() {
    this.reveal = null;
  }
  /** Opens every ancestor of a search hit, pins each level under its parent, and selects and focuses the hit. */
  openTo(hit: TreePool) {
    const path = hit.tree?.path ?? [];
    for (const p of path) this.expanded.add(p.id);
    const pin = (parent: string, entry: Pinned) => this.pinned.set(parent, [...(this.pinned.get(parent) ?? []).filter((p) => p.id !== entry.id), entry]);
    path.forEach((p, i) => pin(i === 0 ? TOP : path[i - 1]!.id, p));
    pin(path.length === 0 ? TOP : path[path.length - 1]!.id, { id: hit.id, name: hit.name, pool: hit });
    this.selected = hit.id;
    this.focused = hit.id;
    this.reveal = hit.id;
    this.#changed();
  }
}

interface TreeContextValue {
  store: TreeStore;
  roleAt(poolId: string): string | undefined;
}
const TreeContext = createContext<TreeContextValue | null>(null);
const useTree = () => useContext(TreeContext)!;

/** One item's flags, as a string so the snapshot compares by value: open, focused (tab stop), selected, to reveal. */
function useItemFlags(store: TreeStore, id: string, tabStopWhenNoFocus: boolean) {
  const flags = useSyncExternalStore(store.subscribe, () =>
    [store.expanded.has(id), store.focused === id || (store.focused === null && tabStopWhenNoFocus), store.selected === id, store.reveal === id].map(Number).join(''),
  );
  return { open: flags[0] === '1', tabbable: flags[1] === '1', selected: flags[2] === '1', reveal: flags[3] === '1' };
}

export function PoolTree() {
  const me = useQuery(meQuery).data;
  const roles = useQuery(myRolesQuery).data;
  const top = useInfiniteQuery(treeTopQuery);
  const [store] = useState(() => new TreeStore());
  const treeRef = useRef<HTMLUListElement>(null);
  const navigate = useNavigate();
  const toggle = (id: string, open?: boolean) => store.toggle(id, open);
  const openTo = useCallback((hit: TreePool) => store.openTo(hit), [store]);
  const context = useMemo<TreeContextValue>(
    () => ({
      store,
      roleAt: (poolId) =>
        roles
          ?.filter((r) => r.pool.id === poolId)
          .map((r) => r.role)
          .join(', ') || undefined,
    }),
    [store, roles],
  );

  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    const item = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
    if (!item || !treeRef.current) return;
    const items = [...treeRef.current.querySelectorAll<HTMLElement>('[role="treeitem"]')];
    const at = items.indexOf(item);
    const id = item.dataset.poolId ?? '';
    const move = (to: HTMLElement | null | undefined) => to?.focus();
    switch (event.key) {
      case 'ArrowDown':
        move(items[at + 1]);
        break;
      case 'ArrowUp':
        move(items[at - 1]);
        break;
      case 'Home':
        move(items[0]);
        break;
      case 'End':
        move(items[items.length - 1]);
        break;
      case 'ArrowRight':
        if (item.getAttribute('aria-expanded') === 'false') toggle(id, true);
        else if (item.getAttribute('aria-expanded') === 'true' && levelOf(items[at + 1]) > levelOf(item)) move(items[at + 1]);
        break;
      case 'ArrowLeft':
        if (item.getAttribute('aria-expanded') === 'true') toggle(id, false);
        else move(items.slice(0, at).findLast((above) => levelOf(above) < levelOf(item)));
        break;
      case 'Enter':
      case ' ':
        if (item.dataset.more) item.click();
        else if (event.key === 'Enter' && id) void navigate({ to: '/pools/$poolId', params: { poolId: id } });
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  const topPools = top.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <TreeContext.Provider value={context}>
      <Stack gap="sm">
        <PoolSearch onOpen={openTo} />
        {top.isPending ? (
          <Loading label="Loading the pool tree" />
        ) : top.isError ? (
          <ProblemAlert error={top.error} />
        ) : topPools.length === 0 ? (
          <Empty title={me?.superuser ? 'No pools yet' : 'You hold no role at any pool yet'}>
            {me?.superuser ? 'Create a vendor root with `licensepool create-root`.' : 'An operator or an admin of your reseller gives you one; then it shows here.'}
          </Empty>
        ) : (
          <Box component="ul" role="tree" aria-label="Pool tree" ref={treeRef} onKeyDown={onKeyDown} className="pool-tree">
            <Level pools={topPools} parentId={TOP} level={1} setSize={topPools.length} firstIsTabStop />
            {top.hasNextPage && <MoreItem onMore={() => void top.fetchNextPage()} loading={top.isFetchingNextPage} shown={topPools.length} level={1} />}
          </Box>
        )}
      </Stack>
    </TreeContext.Provider>
  );
}

/** The pools of one level: the loaded pages, then any pinned by a search that no page holds yet. */
const NO_PINS: readonly Pinned[] = [];

function Level({ pools, parentId, level, setSize, firstIsTabStop }: { pools: readonly TreePool[]; parentId: string; level: number; setSize: number; firstIsTabStop?: boolean }) {
  const { store } = useTree();
  const pins = useSyncExternalStore(store.subscribe, () => store.pinned.get(parentId) ?? NO_PINS);
  const loaded = new Set(pools.map((p) => p.id));
  const extra = pins.filter((p) => !loaded.has(p.id));
  // One list (not loaded + pinned as two), so a pinned pool its page then loads keeps its element (and focus).
  const all: readonly Pinned[] = [...pools.map((pool) => ({ id: pool.id, name: pool.name, pool })), ...extra];
  const size = Math.max(setSize, all.length);
  return (
    <>
      {all.map((entry, i) => (
        <TreeItem key={entry.id} id={entry.id} name={entry.name} pool={entry.pool} level={level} posInSet={i + 1} setSize={size} tabStopWhenNoFocus={!!firstIsTabStop && i === 0} />
      ))}
    </>
  );
}

/** One pool's row; memoised, so a level's next page or a sibling's change leaves it be. */
const TreeItem = memo(function TreeItem({
  id,
  name,
  pool,
  level,
  posInSet,
  setSize,
  tabStopWhenNoFocus,
}: {
  id: string;
  name: string;
  pool: TreePool | undefined;
  level: number;
  posInSet: number;
  setSize: number;
  tabStopWhenNoFocus: boolean;
}) {
  const { store, roleAt } = useTree();
  const flags = useItemFlags(store, id, tabStopWhenNoFocus);
  const ref = useRef<HTMLLIElement>(null);
  // A pool pinned from a search's path comes with its name only: its kind and status from its own read.
  const own = useQuery({ ...poolQuery(id), enabled: !pool });
  const kind = pool?.kind ?? own.data?.kind;
  const status = pool?.status ?? own.data?.status;
  const childCount = pool?.tree?.childCount;
  // Unknown (a pinned ancestor of a hit): it has children, the hit among them.
  const expandable = childCount === undefined ? true : childCount > 0;
  const open = expandable && flags.open;
  const role = roleAt(id);

  useEffect(() => {
    if (!flags.reveal || !ref.current) return;
    ref.current.scrollIntoView({ block: 'center' });
    ref.current.focus();
    store.revealed();
  }, [flags.reveal, store]);

  return (
    <>
      <li
        ref={ref}
        role="treeitem"
        data-pool-id={id}
        aria-level={level}
        aria-setsize={setSize}
        aria-posinset={posInSet}
        aria-expanded={expandable ? open : undefined}
        aria-selected={flags.selected}
        tabIndex={flags.tabbable ? 0 : -1}
        onFocus={(e) => e.target === e.currentTarget && store.setFocused(id)}
        className="pool-tree-item"
      >
        <Group gap="xs" wrap="wrap" className="pool-tree-row" style={{ paddingInlineStart: `${(level - 1) * 1.25}rem` }} data-selected={flags.selected || undefined}>
          {/* The mouse's expander; the keyboard opens with the right arrow (the item is the one tab stop). */}
          <span aria-hidden="true" className="pool-tree-toggle" onClick={() => expandable && store.toggle(id)}>
            {expandable ? (open ? '▾' : '▸') : ''}
          </span>
          <AnchorLink to="/pools/$poolId" params={{ poolId: id }} tabIndex={-1} fw={500}>
            {name}
          </AnchorLink>
          <Group gap="xs" wrap="wrap">
            {kind && (
              <Text span size="sm" c="dimmed">
                {kind}
              </Text>
            )}
            {status && <PoolStatus status={status} />}
            {pool?.tree && !pool.tree.serving && status === 'active' && (
              <Text span size="xs" c="red.9">
                not serving
              </Text>
            )}
            {role && (
              <Text span size="xs">
                your role: {role}
              </Text>
            )}
            {pool?.tree && <MeterBar meters={pool.tree.meters} />}
          </Group>
        </Group>
      </li>
      {open && <Children parentId={id} level={level + 1} childCount={childCount} />}
    </>
  );
});

function Children({ parentId, level, childCount }: { parentId: string; level: number; childCount: number | undefined }) {
  const children = useInfiniteQuery(treeChildrenQuery(parentId));
  const pools = children.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <>
      <Level pools={pools} parentId={parentId} level={level} setSize={childCount ?? pools.length} />
      {children.isPending ? (
        <li role="treeitem" aria-level={level} aria-busy="true" aria-disabled="true" tabIndex={-1} className="pool-tree-note">
          <Group gap="xs">
            <Loader size="xs" aria-hidden="true" />
            <Text span size="sm">
              Loading…
            </Text>
          </Group>
        </li>
      ) : children.isError ? (
        <li role="treeitem" aria-level={level} aria-disabled="true" tabIndex={-1} className="pool-tree-note">
          <ProblemAlert error={children.error} />
        </li>
      ) : (
        children.hasNextPage && <MoreItem onMore={() => void children.fetchNextPage()} loading={children.isFetchingNextPage} shown={pools.length} of={childCount} level={level} />
      )}
    </>
  );
}

/**
 * "Show more" as an item of the tree (a tree owns only tree items): Enter or a click loads the
 * level's next page through the API's cursor.
 */
function MoreItem({ onMore, loading, shown, of, level }: { onMore: () => void; loading: boolean; shown: number; of?: number | undefined; level: number }) {
  return (
    <li role="treeitem" aria-level={level} data-more="true" tabIndex={-1} aria-busy={loading} onClick={onMore} className="pool-tree-item pool-tree-more">
      <Group gap="xs" className="pool-tree-row" style={{ paddingInlineStart: `${(level - 1) * 1.25 + 1.5}rem` }}>
        <Text span size="sm" c="blue.9" td="underline">
          {loading ? 'Loading more…' : `Show more (${shown}${of !== undefined ? ` of ${of}` : ''} shown)`}
        </Text>
      </Group>
    </li>
  );
}

type Meter = NonNullable<TreePool['tree']>['meters'][number];

/** How full a meter is, for picking the one to show: over its limit first, then by share of the limit, then by use. */
const fullness = (m: Meter) => (m.limit === null ? (m.used > 0 ? 0 : -1) : m.limit === 0 ? (m.used > 0 ? 2 : 1) : m.used / m.limit);

/**
 * The compact used/limit bar: the pool's fullest meter (the one that runs out first), drawn as a
 * bar and said in words ("sip 1 of 50"), which is what screen readers read; the bar is decoration.
 */
export function MeterBar({ meters }: { meters: readonly Meter[] }) {
  if (meters.length === 0) return null;
  const m = meters.reduce((a, b) => (fullness(b) > fullness(a) ? b : a));
  const share = m.limit === null ? 0 : m.limit === 0 ? 1 : Math.min(1, m.used / m.limit);
  const words = m.limit === null ? `${m.key} ${m.used} used, no limit` : `${m.key} ${m.used} of ${m.limit}`;
  return (
    <Group gap={6} wrap="nowrap" className="meter">
      <span aria-hidden="true" className="meter-bar">
        <span className={m.overLimit ? 'meter-fill over' : 'meter-fill'} style={{ width: `${Math.round(share * 100)}%` }} />
      </span>
      <Text span size="xs" c={m.overLimit ? 'red.9' : undefined}>
        {words}
        {m.overLimit ? ' (over limit)' : ''}
        {meters.length > 1 ? ` · ${meters.length - 1} more meter${meters.length > 2 ? 's' : ''}` : ''}
      </Text>
    </Group>
  );
}

/** Search by name over everything the person may read; a hit opens the tree down to it. */
function PoolSearch({ onOpen }: { onOpen: (hit: TreePool) => void }) {
  const [text, setText] = useState('');
  const [q] = useDebouncedValue(text.trim(), 250);
  const hits = useQuery(treeSearchQuery(q));
  return (
    <Stack gap={4} component="section" aria-label="Find a pool">
      <TextInput type="search" label="Find a pool by name" value={text} onChange={(e) => setText(e.currentTarget.value)} maw={420} />
      {q.length > 0 &&
        (hits.isPending ? (
          <Loading label="Searching" />
        ) : hits.isError ? (
          <ProblemAlert error={hits.error} />
        ) : hits.data.data.length === 0 ? (
          <Text size="sm" role="status">
            No pool is named like “{q}”.
          </Text>
        ) : (
          <Box component="ul" aria-label="Pools found" className="pool-hits">
            {hits.data.data.map((hit) => (
              <li key={hit.id}>
                <Group gap="xs" wrap="wrap">
                  <Anchor component="button" type="button" size="sm" onClick={() => onOpen(hit)} aria-describedby={`hit-${hit.id}`}>
                    {hit.name}
                  </Anchor>
                  <Text span size="xs" c="dimmed" id={`hit-${hit.id}`}>
                    {hit.kind}
                    {hit.tree && hit.tree.path.length > 0 ? ` in ${hit.tree.path.map((p) => p.name).join(' › ')}` : ''}
                  </Text>
                </Group>
              </li>
            ))}
            {hits.data.nextCursor && (
              <li>
                <Text size="xs">More pools match: type more of the name.</Text>
              </li>
            )}
          </Box>
        ))}
    </Stack>
  );
}
