import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiServer, type ErrorAnswer } from './api-harness.js';

/** The admin API's side of loop detection: the policy field, its validation, and what a budget shows. */

interface BudgetAnswer {
  budget: { path: string; breaker: string; breaker_code: string | null; policy: Record<string, unknown>; loop: { repeats: number; window_ms: number; tracked: number; most_repeated: { count: number; first_request: string; last_request: string } | null } | null };
}

let s: ApiServer;
beforeAll(async () => {
  s = await startApi();
});
afterAll(async () => s.close());

const create = (body: Record<string, unknown>) => s.call<BudgetAnswer & ErrorAnswer>('POST', '/api/budgets', { body });

describe('loop limits in the admin API', () => {
  it('refuses zero or negative repeats, a zero window and garbage with a 400 naming the field, and a wider child with a 403', async () => {
    // Proves edge validation of loop_limit on create and on a policy patch, before the ledger.
    expect((await create({ path: 'acme', kind: 'team', policy: { loop_limit: { repeats: 10, window_ms: 600_000 } } })).status).toBe(201);
    const cases: [unknown, string][] = [
      [{ repeats: 0, window_ms: 600_000 }, 'policy.loop_limit.repeats'],
      [{ repeats: -2, window_ms: 600_000 }, 'policy.loop_limit.repeats'],
      [{ repeats: 20, window_ms: 0 }, 'policy.loop_limit.window_ms'],
      [{ repeats: 20 }, 'policy.loop_limit'],
      ['sometimes', 'policy.loop_limit'],
      [{ repeats: 20, window_ms: 600_000, per: 'minute' }, 'policy.loop_limit.per'],
    ];
    for (const [loop, field] of cases) {
      const made = await create({ path: 'acme/x', policy: { loop_limit: loop } });
      expect([made.status, made.json.error.code, made.json.error.field], JSON.stringify(loop)).toEqual([400, 'bad_request', field]);
      expect(made.json.error.message, JSON.stringify(loop)).toContain(field);
      const patched = await s.call<ErrorAnswer>('PATCH', '/api/budgets/acme', { body: { policy: { loop_limit: loop } } });
      expect([patched.status, patched.json.error.field], JSON.stringify(loop)).toEqual([400, field]);
    }
    const wide = await create({ path: 'acme/x', kind: 'agent', policy: { loop_limit: { repeats: 11, window_ms: 600_000 } } });
    expect([wide.status, wide.json.error.code, wide.json.error.field]).toEqual([403, 'policy_widens', 'policy.loop_limit.repeats']);
  });

  it('sets, shows and turns off a loop limit, and a tripped budget says a loop tripped it', async () => {
    // Proves the policy field round-trips, the default reaches a new agent, and the budget JSON carries the loop counts and the breaker's code.
    const agent = await create({ path: 'acme/bot', kind: 'agent', policy: { inflight_max: 10 } });
    expect(agent.json.budget.policy.loop_limit).toEqual({ repeats: 10, window_ms: 600_000 });
    const set = await s.call<BudgetAnswer>('PATCH', '/api/budgets/acme%2Fbot', { body: { policy: { loop_limit: { repeats: 2, window_ms: 3_600_000 } } } });
    expect(set.json.budget.loop).toEqual({ repeats: 2, window_ms: 3_600_000, tracked: 0, most_repeated: null });
    for (let i = 0; i < 3; i += 1) await s.store.reserve({ path: 'acme/bot', amountMicros: 1, fingerprint: 'fpApi' });
    const tripped = await s.call<BudgetAnswer>('GET', '/api/budgets/acme%2Fbot');
    expect([tripped.json.budget.breaker, tripped.json.budget.breaker_code]).toEqual(['open', 'loop_detected']);
    expect(tripped.json.budget.loop?.most_repeated).toMatchObject({ count: 2 });
    const off = await s.call<BudgetAnswer>('PATCH', '/api/budgets/acme%2Fbot', { body: { policy: { loop_limit: 'off' } } });
    expect([off.json.budget.policy.loop_limit, off.json.budget.loop]).toEqual(['off', null]);
  });
});
