import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiServer } from './api-harness.js';

/** Model, tag and provider budgets where a user looks and plans: balances, budget views, pre-flight, forecast and usage. */

interface Level {
  budget: string;
  kind: string;
  limit_micros: number | null;
  remaining_micros: number | null;
  applies_to?: string;
}

let s: ApiServer;
let secret = '';

beforeAll(async () => {
  s = await startApi();
  const budgets = [
    { path: 'acme', kind: 'org', limit_micros: 100_000_000 },
    { path: 'acme/research', kind: 'team', policy: { required_tags: ['product'] } },
    { path: 'acme/research/bot', kind: 'agent' },
    { path: 'acme/sales', kind: 'team' },
  ];
  for (const body of budgets) expect((await s.call('POST', '/api/budgets', { body })).status).toBe(201);
  const limits: [string, unknown][] = [
    ['/api/budgets/acme%2Fresearch/model-limits', { model: 'gpt-4o*', limit_micros: 3_000_000, period: 'day' }],
    ['/api/budgets/acme%2Fsales/model-limits', { model: 'gpt-4o*', limit_micros: 1_000_000 }],
    ['/api/tags', { tag: 'product:chat-bot', limit_micros: 5_000_000 }],
    ['/api/tags', { tag: 'customer:42', limit_micros: 1_000_000 }],
    ['/api/providers', { provider: 'openai', limit_micros: 50_000_000, period: 'day' }],
  ];
  for (const [path, body] of limits) expect((await s.call('POST', path, { body })).status).toBe(200);
  const minted = await s.call<{ token: string }>('POST', '/api/tokens', { body: { budget: 'acme/research/bot', max_spend_micros: 20_000_000 } });
  secret = minted.json.token;
});

afterAll(async () => {
  const audit = await s.call<{ ok: boolean }>('GET', '/api/audit');
  await s.close();
  expect(audit.json.ok).toBe(true);
});

describe('balances list the budgets across the tree beside the chain', () => {
  it('shows a token the model budgets under its chain, the tag budgets its policy requires and every provider budget', async () => {
    // Proves an agent sees "gpt-4o* has $3 left here" before it calls, and nothing of another team's model budget or an unrequired tag.
    const balance = await s.call<{ chain: Level[]; across: Level[]; tightest: string }>('GET', '/v1/bursar/balance', { key: secret });
    expect(balance.status).toBe(200);
    expect(balance.json.across.map((l) => [l.budget, l.kind, l.applies_to, l.remaining_micros])).toEqual([
      ['acme/research/model:gpt-4o*', 'model', 'gpt-4o*', 3_000_000],
      ['tags/product:chat-bot', 'tag', 'product:chat-bot', 5_000_000],
      ['providers/openai', 'provider', 'openai', 50_000_000],
    ]);
    // The chain's own figures are unchanged: the across list does not count in remaining_micros.
    expect(balance.json.tightest).toBe(balance.json.chain[0]?.budget);
  });

  it('shows the same list on the admin view of a budget', async () => {
    // Proves GET /api/budgets/{path} (and so `bursar budgets show`) carries the across list in the budget's JSON shape.
    const shown = await s.call<{ across: { path: string; kind: string; limit_micros: number }[] }>('GET', '/api/budgets/acme%2Fsales');
    expect(shown.json.across.map((b) => [b.path, b.kind, b.limit_micros])).toEqual([
      ['acme/sales/model:gpt-4o*', 'model', 1_000_000],
      ['providers/openai', 'provider', 50_000_000],
    ]);
  });
});
