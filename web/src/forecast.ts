import type { Budget } from './api.js';

/**
 * When a budget runs out at the current burn rate, as the overview says it.
 */
export type Forecast =
  | { kind: 'unlimited' }
  | { kind: 'exhausted' }
  | { kind: 'idle' }
  | { kind: 'outlasts'; periodEndMs: number }
  | { kind: 'runs_out'; atMs: number; inMs: number };

/**
 * The forecast for a budget spending `burnMicrosPerHour`: when what it has left (limit plus
 * grants, less spent and reserved) is gone, unless its period ends first.
 *
 * @example
 * forecast(budget, 2_000_000, Date.now()) // { kind: 'runs_out', atMs: …, inMs: 9_000_000 }
 */
export function forecast(b: Pick<Budget, 'limit_micros' | 'granted_micros' | 'spent_micros' | 'reserved_micros' | 'period_end'>, burnMicrosPerHour: number, nowMs: number): Forecast {
  if (b.limit_micros === null) return { kind: 'unlimited' };
  const remaining = b.limit_micros + b.granted_micros - b.spent_micros - b.reserved_micros;
  if (remaining <= 0) return { kind: 'exhausted' };
  if (burnMicrosPerHour <= 0) return { kind: 'idle' };
  const inMs = Math.floor((remaining * 3_600_000) / burnMicrosPerHour);
  const periodEndMs = b.period_end === null ? null : Date.parse(b.period_end);
  if (periodEndMs !== null && nowMs + inMs >= periodEndMs) return { kind: 'outlasts', periodEndMs };
  return { kind: 'runs_out', atMs: nowMs + inMs, inMs };
}
