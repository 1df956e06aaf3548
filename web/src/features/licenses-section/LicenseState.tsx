import { Badge, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Empty, Loading } from '../../components/PageState';
import { ProblemAlert } from '../../components/ProblemAlert';
import { poolStateQuery } from '../pools/queries';
import { nameOf, timeLimit, units } from './format';
import { catalogQuery } from './queries';

/** A table's own sideways scroll (on a phone) that the keyboard can reach and a screen reader names. */
const scrollable = (label: string) => ({ type: 'native' as const, tabIndex: 0, role: 'region', 'aria-label': label });

/**
 * "License state" [001/002], at the bottom of the Licenses section: per meter its status, time
 * limit or end date, maximum, used and available (a meter used beyond its maximum is marked in
 * words, not by colour alone); per feature whether it is enabled and until when. The query polls
 * (poolStateQuery), so claims that come and go elsewhere show while the page is open.
 */
export function LicenseState({ poolId }: { poolId: string }) {
  const state = useQuery(poolStateQuery(poolId));
  const catalog = useQuery(catalogQuery(poolId));
  return (
    <Stack component="section" aria-labelledby="license-state" gap="sm">
      <Title order={2} size="h3" id="license-state">
        License state
      </Title>
      {state.isPending ? (
        <Loading label="Loading the license state" />
      ) : state.isError ? (
        <ProblemAlert error={state.error} />
      ) : (
        <>
          {!state.data.serving && (
            <Text size="sm" c="red.9" role="status">
              Not serving: {state.data.notServing.map((n) => n.code).join(', ')}
            </Text>
          )}
          {state.data.meters.length === 0 ? (
            <Empty title="No meters">The root's catalog has no meters yet.</Empty>
          ) : (
            <Table.ScrollContainer minWidth={620} {...scrollable('Meters')}>
              <Table captionSide="top">
                <Table.Caption>Meters</Table.Caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th scope="col">Meter</Table.Th>
                    <Table.Th scope="col">Status</Table.Th>
                    <Table.Th scope="col">Time limit</Table.Th>
                    <Table.Th scope="col">Maximum</Table.Th>
                    <Table.Th scope="col">Used</Table.Th>
                    <Table.Th scope="col">Available</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {state.data.meters.map((m) => (
                    <Table.Tr key={m.key} className={m.overLimit ? 'over-limit' : undefined}>
                      <Table.Th scope="row">{nameOf(catalog.data?.meters, m.key)}</Table.Th>
                      <Table.Td>
                        {m.enabled ? 'enabled' : 'disabled'}
                        {m.overLimit && (
                          <Badge color="red.9" variant="filled" ml="xs">
                            over limit
                          </Badge>
                        )}
                      </Table.Td>
                      <Table.Td>{m.enabled ? timeLimit(m.until) : '—'}</Table.Td>
                      <Table.Td>{units(m.effectiveLimit)}</Table.Td>
                      <Table.Td>{m.used}</Table.Td>
                      <Table.Td>{units(m.available)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
          {state.data.features.length > 0 && (
            <Table.ScrollContainer minWidth={360} {...scrollable('Features')}>
              <Table captionSide="top">
                <Table.Caption>Features</Table.Caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th scope="col">Feature</Table.Th>
                    <Table.Th scope="col">Enabled</Table.Th>
                    <Table.Th scope="col">Until</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {state.data.features.map((f) => (
                    <Table.Tr key={f.key}>
                      <Table.Th scope="row">{nameOf(catalog.data?.features, f.key)}</Table.Th>
                      <Table.Td>{f.enabled ? 'yes' : 'no'}</Table.Td>
                      <Table.Td>{f.enabled ? timeLimit(f.until) : '—'}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </>
      )}
    </Stack>
  );
}
