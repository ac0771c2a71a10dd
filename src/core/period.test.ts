import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { isTimeZone, periodWindow, type Period } from './period.js';

/** The window as Luxon computes it in any zone: what the UTC arithmetic must equal. */
function luxonWindow(period: Exclude<Period, 'none'>, zone: string, nowMs: number): { startMs: number; endMs: number } {
  const start = DateTime.fromMillis(nowMs, { zone }).startOf(period);
  return { startMs: start.toMillis(), endMs: start.plus({ [`${period}s`]: 1 }).startOf(period).toMillis() };
}

describe('periodWindow', () => {
  it('computes UTC windows equal to Luxon for any instant, before 1970 and far ahead included', () => {
    fc.assert(
      fc.property(fc.constantFrom<Exclude<Period, 'none'>>('hour', 'day', 'week', 'month'), fc.integer({ min: -8_000_000_000_000, max: 8_000_000_000_000 }), (period, nowMs) => {
        expect(periodWindow(period, 'UTC', nowMs)).toEqual(luxonWindow(period, 'UTC', nowMs));
      }),
      { numRuns: 4_000 },
    );
  });

  it('starts and ends UTC windows on their boundaries, inclusive at the start and exclusive at the end', () => {
    const monday = Date.UTC(2026, 10, 30);
    expect(periodWindow('week', 'UTC', monday)).toEqual({ startMs: monday, endMs: Date.UTC(2026, 11, 7) });
    expect(periodWindow('week', 'UTC', monday - 1)).toEqual({ startMs: Date.UTC(2026, 10, 23), endMs: monday });
    expect(periodWindow('month', 'UTC', Date.UTC(2028, 1, 29, 23, 59))).toEqual({ startMs: Date.UTC(2028, 1, 1), endMs: Date.UTC(2028, 2, 1) });
    expect(periodWindow('month', 'UTC', Date.UTC(2026, 11, 31, 23))).toEqual({ startMs: Date.UTC(2026, 11, 1), endMs: Date.UTC(2027, 0, 1) });
    expect(periodWindow('day', 'UTC', -1)).toEqual({ startMs: -86_400_000, endMs: 0 });
    expect(periodWindow('hour', 'UTC', Date.UTC(2026, 0, 2, 15, 30))).toEqual({ startMs: Date.UTC(2026, 0, 2, 15), endMs: Date.UTC(2026, 0, 2, 16) });
  });

  it('computes windows in other zones with their offsets and daylight saving', () => {
    // 29 March 2026 has 23 hours in Amsterdam (the clocks go forward at 02:00).
    const day = periodWindow('day', 'Europe/Amsterdam', Date.UTC(2026, 2, 29, 12));
    expect(day).toEqual({ startMs: Date.UTC(2026, 2, 28, 23), endMs: Date.UTC(2026, 2, 29, 22) });
    expect(periodWindow('month', 'America/New_York', Date.UTC(2026, 0, 1, 3))).toEqual(luxonWindow('month', 'America/New_York', Date.UTC(2026, 0, 1, 3)));
  });

  it('never ends a period of none, which starts at its origin', () => {
    expect(periodWindow('none', 'UTC', 5_000, 1_000)).toEqual({ startMs: 1_000, endMs: null });
  });
});

describe('isTimeZone', () => {
  it('knows UTC and IANA zones, and nothing else', () => {
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Amsterdam')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(isTimeZone(42)).toBe(false);
  });
});
