import { DateTime, IANAZone } from 'luxon';

/** Budget periods, calendar-aligned in the budget's time zone. `none` never resets. */
export const periods = ['none', 'hour', 'day', 'week', 'month'] as const;
export type Period = (typeof periods)[number];

export interface PeriodWindow {
  startMs: number;
  /** Exclusive end; null for `none`. */
  endMs: number | null;
}

export function isPeriod(value: unknown): value is Period {
  return typeof value === 'string' && (periods as readonly string[]).includes(value);
}

/** True for IANA zone names Luxon knows (`UTC`, `Europe/Amsterdam`, …). */
export function isTimeZone(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64 && IANAZone.isValidZone(value);
}

const unitOf = { hour: 'hour', day: 'day', week: 'week', month: 'month' } as const;

/**
 * The calendar window of `period` that contains `nowMs`, in `timeZone`. Weeks start on Monday
 * (ISO). For `none` the window starts at `originMs` and never ends.
 *
 * @example
 * periodWindow('day', 'UTC', Date.UTC(2026, 0, 2, 15)) // { startMs: Date.UTC(2026,0,2), endMs: Date.UTC(2026,0,3) }
 */
export function periodWindow(period: Period, timeZone: string, nowMs: number, originMs = nowMs): PeriodWindow {
  if (period === 'none') return { startMs: originMs, endMs: null };
  const unit = unitOf[period];
  const start = DateTime.fromMillis(nowMs, { zone: timeZone }).startOf(unit);
  const end = start.plus({ [`${unit}s`]: 1 }).startOf(unit);
  return { startMs: start.toMillis(), endMs: end.toMillis() };
}
