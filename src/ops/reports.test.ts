import { describe, expect, it } from 'vitest';
import type { BudgetView, LedgerEntry } from '../core/index.js';
import { BudgetIndex } from './budget-index.js';
import { UsageAccumulator } from './reports.js';

function budget(id: number, parentId: number | null, path: string, kind: BudgetView['kind']): BudgetView {
  return { id, parentId, path, name: path.split('/').pop() ?? path, kind, status: 'active', limitMicros: null, period: 'none', timezone: 'UTC', periodStartMs: 0, periodEndMs: null, spentMicros: 0, reservedMicros: 0, grantedMicros: 0, overrunMicros: 0, remainingMicros: null, inflight: 0, policy: {}, createdMs: 0, alertSpentPct: 0, alertCommittedPct: 0, breaker: 'closed', trippedUntilMs: null, breakerCode: null, burn: [], loop: null };
}

function entry(seq: number, kind: LedgerEntry['kind'], budgetId: number, amountMicros: number, tsMs: number, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return { seq, tsMs, kind, budgetId, amountMicros, reservationSeq: null, model: null, tokensIn: null, tokensOut: null, tokensCached: null, tokensCacheWrite: null, requestId: null, session: null, task: null, actor: null, reason: null, data: null, hash: '', ...extra };
}

const index = new BudgetIndex([budget(1, null, 'acme', 'org'), budget(2, 1, 'acme/bot', 'agent'), budget(3, 2, 'acme/bot/tok_1', 'envelope'), budget(4, 1, 'acme/tools', 'budget')]);

describe('UsageAccumulator', () => {
  it('sums only settlements and late charges, attributing envelopes to the agent above them', () => {
    // Proves what counts as spend (not reserves, voids or the overrun that repeats part of a settle) and the agent grouping.
    const acc = new UsageAccumulator('agent', index, 'UTC');
    for (const e of [
      entry(1, 'reserve', 3, 500, 0),
      entry(2, 'settle', 3, 600, 1, { tokensIn: 10, tokensOut: 2 }),
      entry(3, 'overrun', 3, 100, 1),
      entry(4, 'late_charge', 2, 40, 2),
      entry(5, 'settle', 4, 7, 3),
      entry(6, 'void', 4, 9, 4),
    ]) acc.add(e);
    expect(acc.rows()).toEqual([
      { key: 'acme/bot', cost_micros: 640, calls: 2, tokens_in: 10, tokens_out: 2, tokens_cached: 0 },
      { key: null, cost_micros: 7, calls: 1, tokens_in: 0, tokens_out: 0, tokens_cached: 0 },
    ]);
    expect(acc.totals.cost_micros).toBe(647);
  });

  it('buckets by day in a time zone, oldest first, keyed by the bucket start with its offset', () => {
    // Proves calendar buckets follow the zone (a UTC evening is the next day in Tokyo) and come out in time order.
    const acc = new UsageAccumulator('day', index, 'Asia/Tokyo');
    acc.add(entry(2, 'settle', 2, 5, Date.UTC(2026, 0, 2, 1)));
    acc.add(entry(1, 'settle', 2, 3, Date.UTC(2026, 0, 1, 20)));
    acc.add(entry(3, 'settle', 2, 1, Date.UTC(2026, 0, 1, 10)));
    expect(acc.rows().map((r) => [r.key, r.cost_micros])).toEqual([
      ['2026-01-01T00:00:00.000+09:00', 1],
      ['2026-01-02T00:00:00.000+09:00', 8],
    ]);
  });
});
