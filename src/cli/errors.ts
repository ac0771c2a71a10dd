import type { Failure as Refused } from '../contract/index.js';
import type { Failure } from './output.js';

/**
 * A command that cannot go on: usage errors (bad input the CLI caught itself) exit 2, refusals
 * and failures exit 1. Thrown by command code and reported in one place (`reportError`).
 *
 * @example
 * throw new CliError({ code: 'invalid_amount', message: '"abc" is not a USD amount' }, 2);
 */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly failure: Failure,
    readonly exitCode: 1 | 2,
  ) {
    super(failure.message);
  }
}

/**
 * Bad input caught before anything is sent: exit code 2.
 *
 * @example
 * throw usageError('invalid_period', 'period must be one of none, hour, day, week, month');
 */
export function usageError(code: string, message: string, field?: string): CliError {
  return new CliError(field === undefined ? { code, message } : { code, message, field }, 2);
}

/**
 * The value of a successful result, or a `CliError` (exit 1) carrying the refusal.
 *
 * @example
 * const { budget } = unwrap(await backend.grant({ path, amountMicros }));
 */
export function unwrap<R extends { ok: true } | Refused>(result: R): Extract<R, { ok: true }> {
  if (result.ok) return result as Extract<R, { ok: true }>;
  const { ok: _ok, ...failure }: Refused = result;
  throw new CliError(failure, 1);
}
