import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiServer, type ErrorAnswer } from './api-harness.js';

interface Budget {
  path: string;
  kind: string;
  limit_micros: number | null;
  period: string;
  reserved_micros: number;
  policy: Record<string, unknown>;
}

interface ScopedAnswer extends ErrorAnswer {
  budget: Budget;
  created: boolean;
}

let s: ApiServer;

beforeAll(async () => {
  s = await startApi();
  for (const body of [{ path: 'acme', kind: 'org', limit_micros: 100_000_000 }, { path: 'acme/research', kind: 'team' }]) expect((await s.call('POST', '/api/budgets', { body })).status).toBe(201);
});

afterAll(async () => {
  const audit = await s.call<{ ok: boolean }>('GET', '/api/audit');
  await s.close();
  expect(audit.json.ok).toBe(true);
});

describe('model, tag and provider limits over the admin API', () => {
  it('creates the budget the first time and changes its limit after, for a model under a budget, a tag and a provider', async () => {
    // Proves the three routes set ordinary budgets of their kinds at their paths, and a second call updates in place.
    const model = await s.call<ScopedAnswer>('POST', '/api/budgets/acme%2Fresearch/model-limits', { body: { model: 'gpt-4o*', limit_micros: 20_000_000, period: 'day' } });
    expect([model.status, model.json.created, model.json.budget.path, model.json.budget.kind, model.json.budget.period]).toEqual([200, true, 'acme/research/model:gpt-4o*', 'model', 'day']);
    const again = await s.call<ScopedAnswer>('POST', '/api/budgets/acme%2Fresearch/model-limits', { body: { model: 'gpt-4o*', limit_micros: 25_000_000 } });
    expect([again.json.created, again.json.budget.limit_micros, again.json.budget.period]).toEqual([false, 25_000_000, 'day']);
    const tag = await s.call<ScopedAnswer>('POST', '/api/tags', { body: { tag: 'product:chat-bot', limit_micros: 10_000_000, period: 'day' } });
    expect([tag.status, tag.json.budget.path, tag.json.budget.kind]).toEqual([200, 'tags/product:chat-bot', 'tag']);
    const provider = await s.call<ScopedAnswer>('POST', '/api/providers', { body: { provider: 'openai', limit_micros: 100_000_000, period: 'day' } });
    expect([provider.status, provider.json.budget.path]).toEqual([200, 'providers/openai']);
    const listed = await s.call<{ budgets: Budget[] }>('GET', '/api/budgets?kind=tag');
    expect(listed.json.budgets.map((b) => b.path)).toEqual(['tags', 'tags/product:chat-bot']);
    const shown = await s.call<{ budget: Budget }>('GET', `/api/budgets/${encodeURIComponent('acme/research/model:gpt-4o*')}`);
    expect(shown.json.budget.limit_micros).toBe(25_000_000);
    const reserved = await s.call<{ reservation: { id: string } }>('POST', '/api/reservations', { body: { budget: 'acme/research', amount_micros: 1_000, tags: ['product:chat-bot'] } });
    expect(reserved.status).toBe(201);
    expect((await s.call<{ budget: Budget }>('GET', '/api/budgets/tags%2Fproduct%3Achat-bot')).json.budget.reserved_micros).toBe(1_000);
  });

  it('refuses what could never be charged: a glob no priced model matches, an unknown provider, a missing budget', async () => {
    // Proves the edge checks: 400 naming the field with a suggestion, 404 for the budget.
    const glob = await s.call('POST', '/api/budgets/acme/model-limits', { body: { model: 'gtp-4o*', limit_micros: 1 } });
    expect([glob.status, glob.json.error.code, glob.json.error.field]).toEqual([400, 'bad_request', 'model']);
    const provider = await s.call('POST', '/api/providers', { body: { provider: 'opnai', limit_micros: 1 } });
    expect([provider.status, provider.json.error.field]).toEqual([400, 'provider']);
    expect(provider.json.error.message).toContain('known: anthropic, openai');
    const missing = await s.call('POST', '/api/budgets/acme%2Fnope/model-limits', { body: { model: 'gpt-4o', limit_micros: 1 } });
    expect([missing.status, missing.json.error.code]).toEqual([404, 'unknown_budget']);
    const slash = await s.call('POST', '/api/budgets/acme/model-limits', { body: { model: 'a/b', limit_micros: 1 } });
    expect([slash.status, slash.json.error.field]).toEqual([400, 'model']);
  });
});

describe('brownout tiers, fallbacks and required tags in policy', () => {
  const patch = (policy: Record<string, unknown>) => s.call<{ budget: Budget } & ErrorAnswer>('PATCH', '/api/budgets/acme%2Fresearch', { body: { policy } });

  it('round-trips a routing policy in snake_case', async () => {
    // Proves the policy's new fields reach the ledger and come back as they were set.
    const policy = { required_tags: ['product'], brownout: [{ at_pct: 90, from: 'gpt-4o', to: 'gpt-4o-mini' }], fallbacks: [{ from: 'gpt-4o*', to: ['gpt-4.1-mini', 'gpt-4.1-nano'] }] };
    const set = await patch(policy);
    expect(set.status).toBe(200);
    expect(set.json.budget.policy).toEqual(policy);
    expect((await patch({ brownout: null, fallbacks: null, required_tags: null })).json.budget.policy).toEqual({});
  });

  it('answers a tier over 100%, a fallback to an unpriced model and a cycle A→B→A with a clear 400', async () => {
    // Proves bad routing policy never reaches the ledger: each refusal names the field and says what to fix.
    const over = await patch({ brownout: [{ at_pct: 120, from: 'gpt-4o', to: 'gpt-4o-mini' }] });
    expect([over.status, over.json.error.code, over.json.error.field]).toEqual([400, 'bad_request', 'policy.brownout.0.at_pct']);
    expect(over.json.error.message).toContain('from 1 to 100');
    const unpriced = await patch({ fallbacks: [{ from: 'gpt-4o', to: ['gpt-4o-mini', 'my-private-model'] }] });
    expect([unpriced.status, unpriced.json.error.code, unpriced.json.error.field]).toEqual([400, 'invalid_policy', 'policy.fallbacks.0.to.1']);
    expect(unpriced.json.error.message).toContain('my-private-model has no price');
    const cycle = await patch({ fallbacks: [{ from: 'gpt-4o', to: ['gpt-4o-mini'] }, { from: 'gpt-4o-mini', to: ['gpt-4o'] }] });
    expect([cycle.status, cycle.json.error.code, cycle.json.error.field]).toEqual([400, 'invalid_policy', 'policy.fallbacks']);
    expect(cycle.json.error.message).toContain('gpt-4o → gpt-4o-mini → gpt-4o');
    const tierCycle = await s.call('POST', '/api/budgets', { body: { path: 'acme/loop', policy: { brownout: [{ at_pct: 50, from: 'gpt-4o', to: 'gpt-4o-mini' }, { at_pct: 60, from: 'gpt-4o-mini', to: 'gpt-4o' }] } } });
    expect([tierCycle.status, tierCycle.json.error.code, tierCycle.json.error.field]).toEqual([400, 'invalid_policy', 'policy.brownout']);
  });

  it('documents the three limit routes and the routing policy in the OpenAPI document', async () => {
    // Proves the routes are declared once in the registry and so appear in the generated document.
    const doc = await s.call<{ paths: Record<string, Record<string, unknown>> }>('GET', '/api/openapi.json', { key: null });
    expect(Object.keys(doc.json.paths)).toEqual(expect.arrayContaining(['/api/budgets/{path}/model-limits', '/api/tags', '/api/providers']));
    expect(JSON.stringify(doc.json)).toContain('at_pct');
  });
});
