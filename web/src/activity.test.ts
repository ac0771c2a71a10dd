import { describe, expect, it } from 'vitest';
import { agentOf, BurnSeries, mergeBudgets, withSpend } from './activity.js';
import type { Budget, Entry } from './api.js';

function entry(over: Partial<Entry>): Entry {
  return {
    seq: 1, ts: new Date(over.ts_ms ?? 0).toISOString(), ts_ms: 0, kind: 'settle', budget: 'acme/bot/tok_1', budget_id: 9, amount_micros: 0, reservation_seq: 1, model: 'gpt-4o-mini',
    tokens_in: 10, tokens_out: 5, tokens_cached: 0, tokens_cache_write: 0, request_id: null, session: null, task: null, actor: null, reason: null, data: null, hash: 'h', ...over,
  };
}

function budget(path: string, over: Partial<Budget> = {}): Budget {
  return {
    id: 1, parent_id: null, path, name: path.split('/').at(-1) ?? path, kind: 'agent', status: 'active', limit_micros: 1_000, spent_micros: 0, reserved_micros: 0, granted_micros: 0, overrun_micros: 0,
    remaining_micros: 1_000, used_pct: 0, inflight: 0, period: 'day', timezone: 'UTC', period_start: '2026-01-01T00:00:00.000Z', period_end: null, policy: {}, created_at: '2026-01-01T00:00:00.000Z',
    alert_spent_pct: 0, alert_committed_pct: 0, breaker: 'closed', tripped_until: null, breaker_code: null, burn: [], loop: null, ...over,
  };
}

describe('live activity', () => {
  it('finds the agent above an envelope, even one the page has not loaded', () => {
    // Proves spend on a fresh token's envelope is credited to its agent.
    const budgets = new Map([['acme', budget('acme', { kind: 'org' })], ['acme/bot', budget('acme/bot')]]);
    expect(agentOf('acme/bot/tok_new', budgets)).toBe('acme/bot');
    expect(agentOf('acme', budgets)).toBeUndefined();
  });

  it('adds settlements to the session, the period and the last 10 costs; a new session starts afresh', () => {
    // Proves withSpend matches what GET /api/activity computes, entry by entry.
    let a = withSpend(undefined, 'acme/bot', entry({ seq: 1, ts_ms: 1_000, amount_micros: 50, session: 's1' }), 0);
    for (let i = 2; i <= 12; i += 1) a = withSpend(a, 'acme/bot', entry({ seq: i, ts_ms: i * 1_000, amount_micros: i * 100, session: 's1' }), 0);
    expect(a.recent_costs_micros).toEqual([300, 400, 500, 600, 700, 800, 900, 1_000, 1_100, 1_200]);
    expect(a.session).toMatchObject({ id: 's1', calls: 12, cost_micros: 50 + 7_700 });
    const next = withSpend(a, 'acme/bot', entry({ seq: 13, ts_ms: 20_000, amount_micros: 9, session: 's2' }), 0);
    expect(next.session).toEqual({ id: 's2', cost_micros: 9, calls: 1, tokens_in: 10, tokens_out: 5, tokens_cached: 0 });
    expect(next.period.calls).toBe(13);
    expect(next.last_request_at).toBe(new Date(20_000).toISOString());
    expect(a.session?.id).toBe('s1');
    const late = withSpend(next, 'acme/bot', entry({ seq: 14, ts_ms: 20_000, kind: 'late_charge', amount_micros: 4, session: 's2' }), 0);
    expect(late.recent_costs_micros).toEqual(next.recent_costs_micros);
    expect(late.session?.cost_micros).toBe(13);
    expect(withSpend(next, 'acme/bot', entry({ seq: 15, ts_ms: 30_000, amount_micros: 1 }), 25_000).period.calls).toBe(14);
    expect(withSpend(next, 'acme/bot', entry({ seq: 15, ts_ms: 30_000, amount_micros: 1 }), 40_000).period.calls).toBe(13);
  });

  it('buckets spend per minute per org and slides its window', () => {
    // Proves the burn series behind the overview's sparkline and forecast.
    const burn = new BurnSeries(3);
    burn.load([{ root: 'acme', cost_micros: [1, 2, 3] }], 0);
    burn.add('globex', 2 * 60_000 + 5, 10);
    expect(burn.series('acme', 2 * 60_000)).toEqual([1, 2, 3]);
    expect(burn.series(undefined, 2 * 60_000)).toEqual([1, 2, 13]);
    expect(burn.series(undefined, 3 * 60_000)).toEqual([2, 13, 0]);
    burn.prune(4 * 60_000);
    expect(burn.series(undefined, 2 * 60_000)).toEqual([0, 0, 13]);
  });

  it('merges fresh budgets keeping unchanged ones as they were', () => {
    // Proves unchanged rows keep their identity (and are not redrawn), changed ones are replaced, and a full list removes the gone.
    const a = budget('a');
    const b = budget('b');
    const map = new Map([['a', a], ['b', b]]);
    expect(mergeBudgets(map, [budget('a')], false)).toBe(false);
    expect(map.get('a')).toBe(a);
    expect(mergeBudgets(map, [budget('a', { spent_micros: 5 })], false)).toBe(true);
    expect(map.get('a')?.spent_micros).toBe(5);
    expect(mergeBudgets(map, [budget('b')], true)).toBe(true);
    expect([...map.keys()]).toEqual(['b']);
    expect(map.get('b')).toBe(b);
  });
});
