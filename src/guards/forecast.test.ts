import { describe, expect, it } from 'vitest';
import type { BudgetView, EntryKind, LedgerEntry } from '../core/index.js';
import type { ForecastBudget } from '../contract/index.js';
import { BurnMeter, runOut, sortForecast } from './forecast.js';
import { testView } from './test-views.js';

const nowMs = Date.UTC(2026, 0, 27, 3, 0, 0);
const minute = 60_000;
const hour = 60 * minute;

function budget(id: number, path: string, o: Partial<BudgetView> = {}): BudgetView {
  return testView(path, { name: path, ...o, id, limitMicrosDefault: 100_000_000 });
}

function entry(kind: EntryKind, budgetId: number, amountMicros: number, ageMs: number, data: string | null = null): LedgerEntry {
  return { seq: 0, hash: '', tsMs: nowMs - ageMs, kind, budgetId, amountMicros, reservationSeq: null, model: null, tokensIn: null, tokensOut: null, tokensCached: null, tokensCacheWrite: null, requestId: null, session: null, task: null, actor: null, reason: null, data };
}

function windowOf(f: ForecastBudget | undefined, name: string) {
  const w = f?.windows.find((x) => x.window === name);
  if (!w) throw new Error(`no window ${name}`);
  return w;
}

describe('burn rates', () => {
  const org = budget(1, 'acme', { kind: 'org', limitMicros: 1_000_000_000, spentMicros: 40_000_000 });
  const bot = budget(2, 'acme/bot', { parentId: 1, limitMicros: 50_000_000, spentMicros: 40_000_000 });

  it('counts spend on the entry\'s budget and its ancestors, in every window it falls in', () => {
    const meter = new BurnMeter([org, bot], nowMs);
    meter.add(entry('settle', 2, 1_000_000, 1 * minute));
    meter.add(entry('expire_charged', 2, 2_000_000, 30 * minute));
    meter.add(entry('settle', 2, 4_000_000, 10 * hour));
    meter.add(entry('settle', 2, 8_000_000, 25 * hour));
    meter.add(entry('reserve', 2, 9_000_000, 1 * minute));
    meter.add(entry('expiry_refund', 2, 500_000, 2 * minute, '{"actualMicros":1500000,"chargedMicros":2000000}'));
    const [o, b] = meter.forecast({ budgets: [org, bot], completeSinceMs: null });
    expect(b?.windows.map((w) => w.spent_micros)).toEqual([500_000, 2_500_000, 6_500_000]);
    expect(o?.windows.map((w) => w.spent_micros)).toEqual([500_000, 2_500_000, 6_500_000]);
    expect(windowOf(b, '5m').rate_micros_per_hour).toBe(6_000_000);
    expect(windowOf(b, '24h').rate_micros_per_hour).toBe(Math.round(6_500_000 / 24));
  });

  it('says when each budget runs out at each rate, or that it outlasts its period', () => {
    const meter = new BurnMeter([org, bot], nowMs);
    meter.add(entry('settle', 2, 1_000_000, 1 * minute));
    const [o, b] = meter.forecast({ budgets: [org, bot], completeSinceMs: null });
    // $10 left at $1 per 5 minutes: 50 minutes.
    expect(windowOf(b, '5m')).toMatchObject({ outlook: 'runs_out', runs_out_at: new Date(nowMs + 50 * minute).toISOString() });
    // $10 left at $1 per hour: 10 hours.
    expect(windowOf(b, '1h')).toMatchObject({ outlook: 'runs_out', runs_out_at: new Date(nowMs + 10 * hour).toISOString() });
    // $10 left at $1 a day: the month ends first.
    expect(windowOf(b, '24h')).toMatchObject({ outlook: 'not_this_period', runs_out_at: null });
    expect(windowOf(o, '1h').outlook).toBe('not_this_period');
  });

  it('says no_burn, no_limit and exhausted where a time would mislead', () => {
    const free = budget(3, 'free', { limitMicros: null });
    const spent = budget(4, 'spent', { limitMicros: 1_000, spentMicros: 1_000 });
    const meter = new BurnMeter([org, bot, free, spent], nowMs);
    meter.add(entry('settle', 3, 10, 1 * minute));
    const rows = meter.forecast({ budgets: [bot, free, spent], completeSinceMs: null });
    expect(rows.map((r) => windowOf(r, '1h').outlook)).toEqual(['no_burn', 'no_limit', 'exhausted']);
  });

  it('rates an incomplete window over the part the read covered, and says so', () => {
    const meter = new BurnMeter([org, bot], nowMs);
    meter.add(entry('settle', 2, 2_000_000, 1 * minute));
    const [b] = meter.forecast({ budgets: [bot], completeSinceMs: nowMs - 2 * hour });
    expect(windowOf(b, '1h')).toMatchObject({ complete: true, rate_micros_per_hour: 2_000_000 });
    expect(windowOf(b, '24h')).toMatchObject({ complete: false, rate_micros_per_hour: 1_000_000 });
  });

  it('puts what runs out soonest first', () => {
    const a = budget(5, 'a', { limitMicros: 100_000_000 });
    const z = budget(6, 'z', { limitMicros: 2_000_000 });
    const meter = new BurnMeter([a, z], nowMs);
    meter.add(entry('settle', 5, 1_000_000, 1 * minute));
    meter.add(entry('settle', 6, 1_000_000, 1 * minute));
    expect(sortForecast(meter.forecast({ budgets: [a, z], completeSinceMs: null })).map((f) => f.budget)).toEqual(['z', 'a']);
  });
});

describe('runOut', () => {
  it('puts a budget without a period beyond the horizon when it would last more than a year', () => {
    const b = { remainingMicros: 1_000_000_000, periodEndMs: null };
    expect(runOut(b, 1, hour, nowMs).outlook).toBe('not_within_horizon');
    expect(runOut(b, 1_000_000_000, hour, nowMs)).toEqual({ outlook: 'runs_out', atMs: nowMs + hour });
  });
});
