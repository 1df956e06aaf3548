import { Alert, List, Text } from '@mantine/core';
import { isProblem } from '../api/problem';

/**
 * An error as a person reads it: the API's `detail`, and the field errors that no field on the
 * page shows itself (`shownFields`: the fields a form puts its messages next to).
 */
export function ProblemAlert({ error, shownFields = [], title }: { error: unknown; shownFields?: readonly string[]; title?: string }) {
  if (!error) return null;
  const problem = isProblem(error) ? error : null;
  const detail = problem?.detail ?? (error instanceof Error ? error.message : String(error));
  const others = problem ? Object.entries(problem.fieldErrors()).filter(([field]) => !shownFields.includes(field)) : [];
  return (
    <Alert color="red" variant="light" title={title ?? problem?.title ?? 'Something went wrong'} role="alert">
      <Text size="sm">{detail}</Text>
      {others.length > 0 && (
        <List size="sm" mt="xs">
          {others.map(([field, message]) => (
            <List.Item key={field}>
              {field}: {message}
            </List.Item>
          ))}
        </List>
      )}
      {problem?.requestId && (
        <Text size="xs" mt="xs" c="gray.7">
          Request {problem.requestId}
        </Text>
      )}
    </Alert>
  );
}

/** The message the API gave for one field (`address.city`), for the input's `error`. */
export function fieldError(error: unknown, field: string): string | undefined {
  return isProblem(error) ? error.fieldErrors()[field] : undefined;
}
