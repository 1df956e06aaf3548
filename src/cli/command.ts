/** What every command file shares: how an action answers its exit code, and option parsers. */
import { InvalidArgumentError } from 'commander';

/** The exit code the command that ran answered; main() returns it. */
export const outcome = { code: 0 };

/** Wraps a command's action: its answer (a number, or nothing for 0) becomes the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    outcome.code = (await fn(...args)) ?? 0;
  };
}

/** Option parser: a whole number, or a usage error naming the value. */
export function integer(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`not a whole number: ${value}`);
  return Number(value);
}

/** Option parser: a comma-separated list. */
export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}
