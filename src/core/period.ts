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
  if (value === 'UTC') return true;
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
  if (timeZone === 'UTC') return utcWindow(period, nowMs);
  const unit = unitOf[period];
  const start = DateTime.fromMillis(nowMs, { zone: timeZone }).startOf(unit);
  const end = start.plus({ [`${unit}s`]: 1 }).startOf(unit);
  return { startMs: start.toMillis(), endMs: end.toMillis() };
}

const hourMs = 3_600_000;
const dayMs = 86_400_000;

/**
 * `periodWindow` in UTC, from the date's own arithmetic. Luxon gives the same windows, but every
 * `DateTime` it makes asks Intl for the system's locale, which maps about 6 MB of ICU's data into
 * the process; most budgets are in UTC (the default), so most processes never need it.
 */
function utcWindow(period: Exclude<Period, 'none'>, nowMs: number): PeriodWindow {
  if (period === 'hour' || period === 'day') {
    const size = period === 'hour' ? hourMs : dayMs;
    const startMs = Math.floor(nowMs / size) * size;
    return { startMs, endMs: startMs + size };
  }
  if (period === 'week') {
    const day = Math.floor(nowMs / dayMs);
    // 1 January 1970 was a Thursday: three days after a Monday.
    const startMs = (day - (((day + 3) % 7) + 7) % 7) * dayMs;
    return { startMs, endMs: startMs + 7 * dayMs };
  }
  const date = new Date(nowMs);
  return { startMs: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1), endMs: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
}
