import { describe, expect, it } from 'vitest';
import { percentOf, thresholdsAt } from './alerts.js';
import { cooldownMsOf } from './breaker.js';
import { burnAdd, burnAdjust, burnFreeInMs, burnInWindow, burnWindowsFor, formatWindow } from './burn.js';
import { limits } from './limits.js';
import type { BudgetRecord } from './types.js';

describe('alert arithmetic', () => {
  it('counts whole percent in integers, exactly at the edges and for amounts beyond 2^53 / 100', () => {
    // Proves a threshold is reached at exactly t% and not one micro earlier, whatever the size.
    expect([percentOf(499_999, 1_000_000), percentOf(500_000, 1_000_000), percentOf(0, 0), percentOf(1, 0)]).toEqual([49, 50, 0, Number.MAX_SAFE_INTEGER]);
    const big = 9_000_000_000_000_000;
    expect([percentOf(big, big), percentOf(big - 1, big), percentOf(big, big / 10)]).toEqual([100, 99, 1000]);
    for (const cap of [3, 7, 999_999_999_999, 123_456_789_012_345]) {
      for (const pct of [1, 33, 50, 100, 999]) {
        const at = Math.ceil((cap * pct) / 100);
        expect(percentOf(at, cap), `${cap} ${pct}`).toBeGreaterThanOrEqual(pct);
        expect(percentOf(at - 1, cap), `${cap} ${pct}`).toBeLessThan(pct);
      }
    }
  });

  it('takes a budget\'s own thresholds, else the nearest ancestor\'s, else 50/75/90/100', () => {
    // Proves the inheritance rule the ledger uses for alerts.
    const b = (alertThresholdsPct?: number[]) => ({ policy: alertThresholdsPct ? { alertThresholdsPct } : {} }) as BudgetRecord;
    const chain = [b(), b([80]), b([10])];
    expect([thresholdsAt(chain, 0), thresholdsAt(chain, 2), thresholdsAt([b()], 0)]).toEqual([[80], [10], [50, 75, 90, 100]]);
  });
});

describe('burn windows', () => {
  it('counts a hold in its slice, takes back what a settlement returns, and forgets slices that leave the window', () => {
    // Proves the rolling sum: 60 slices of a minute-long window, a hold's refund landing where the hold was counted.
    const [w] = burnWindowsFor({ burnLimits: [{ amountMicros: 1_000, windowMs: 60_000 }] }, null) ?? [];
    if (!w) throw new Error('no window');
    burnAdd([w], 10_000, 400);
    burnAdd([w], 30_500, 300);
    burnAdjust([w], 40_000, 10_000, -150);
    expect(burnInWindow(w, 40_000)).toBe(550);
    expect(burnInWindow(w, 69_999)).toBe(550);
    expect(burnInWindow(w, 70_000)).toBe(300);
    burnAdjust([w], 70_000, 10_000, -250);
    expect(burnInWindow(w, 70_000)).toBe(300);
    expect(w.slots).toEqual([30, 300]);
  });

  it('says when enough of the window has left it for an amount, and the whole window when it can never fit', () => {
    // Proves retry-after: the oldest slices leave first, each a sixtieth of the window after its own end.
    const w = { windowMs: 60_000, slots: [] as number[] };
    burnAdd([w], 0, 500);
    burnAdd([w], 20_000, 500);
    const limit = { amountMicros: 1_000, windowMs: 60_000 };
    expect(burnFreeInMs(w, limit, 30_000, 0)).toBe(0);
    expect(burnFreeInMs(w, limit, 30_000, 400)).toBe(30_000);
    expect(burnFreeInMs(w, limit, 30_000, 600)).toBe(50_000);
    expect(burnFreeInMs(w, limit, 30_000, 2_000)).toBe(60_000);
  });

  it('keeps the windows a policy still names when it changes, and writes windows as people do', () => {
    // Proves a policy change keeps what was counted, and the window names in messages.
    const kept = { windowMs: 60_000, slots: [1, 5] };
    expect(burnWindowsFor({ burnLimits: [{ amountMicros: 1, windowMs: 3_600_000 }, { amountMicros: 1, windowMs: 60_000 }] }, [kept])).toEqual([kept, { windowMs: 3_600_000, slots: [] }]);
    expect(burnWindowsFor({ burnLimits: [] }, [kept])).toBeNull();
    expect([formatWindow(60_000), formatWindow(90_000), formatWindow(3_600_000), formatWindow(86_400_000), formatWindow(1_500)]).toEqual(['1m', '90s', '1h', '1d', '1500ms']);
  });

  it('doubles the cool-down on each trip in a row, up to its maximum', () => {
    // Proves the breaker's backoff schedule.
    expect([1, 2, 3, 4].map(cooldownMsOf)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(cooldownMsOf(50)).toBe(limits.breakerCooldownMsMax);
  });
});
