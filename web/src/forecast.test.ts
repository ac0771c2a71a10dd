import { describe, expect, it } from 'vitest';
import { forecast } from './forecast.js';

const b = { limit_micros: 10_000_000, granted_micros: 0, spent_micros: 4_000_000, reserved_micros: 0, period_end: '2026-01-31T00:00:00.000Z' };
const now = Date.parse('2026-01-30T00:00:00.000Z');

describe('forecast', () => {
  it('says when what is left runs out at the burn rate, unless the period ends first', () => {
    // Proves the overview's forecast: $6 left at $2/h is 3 h; at $0.10/h the period ends first.
    expect(forecast(b, 2_000_000, now)).toEqual({ kind: 'runs_out', atMs: now + 3 * 3_600_000, inMs: 3 * 3_600_000 });
    expect(forecast(b, 100_000, now)).toEqual({ kind: 'outlasts', periodEndMs: Date.parse(b.period_end) });
    expect(forecast(b, 0, now)).toEqual({ kind: 'idle' });
    expect(forecast({ ...b, limit_micros: null }, 1, now)).toEqual({ kind: 'unlimited' });
    expect(forecast({ ...b, reserved_micros: 6_000_000 }, 1, now)).toEqual({ kind: 'exhausted' });
  });
});
