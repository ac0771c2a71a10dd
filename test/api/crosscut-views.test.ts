import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiServer, type ErrorAnswer } from './api-harness.js';

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

interface Report {
  items: { model: string; requested_model: string | null; route: string | null; across: string[]; call_micros: number }[];
  budgets: { budget: string; kind: string; planned_micros: number }[];
  checks: { name: string; status: string; message: string; budget?: string }[];
  proceed: boolean;
}

const preflight = (items: unknown[]) => s.call<Report & ErrorAnswer>('POST', '/api/preflight', { body: { items } });

describe('pre-flight checks each item against the budgets across the tree its calls would reserve on', () => {
  it('fails a plan whose gpt-4o calls fit the agent but not acme/research/model:gpt-4o*, naming that budget', async () => {
    // Proves the model, tag and provider budgets of each call join the plan's budgets and its ✗ names the model budget.
    const item = { budget: 'acme/research/bot', model: 'gpt-4o', input_tokens: 1_000, max_output_tokens: 1_000, tags: ['product:chat-bot'] };
    const r = await preflight([{ ...item, count: 400 }]);
    expect(r.status).toBe(200);
    expect(r.json.items[0]?.across).toEqual(['acme/research/model:gpt-4o*', 'tags/product:chat-bot', 'providers/openai']);
    expect(r.json.budgets.map((b) => b.budget)).toEqual(expect.arrayContaining(['acme/research/model:gpt-4o*', 'tags', 'tags/product:chat-bot', 'providers', 'providers/openai']));
    const availability = r.json.checks.find((c) => c.name === 'budget_availability');
    expect([availability?.status, availability?.budget, r.json.proceed]).toEqual(['fail', 'acme/research/model:gpt-4o*', false]);
    expect(availability?.message).toContain('acme/research/model:gpt-4o*, which has $3.00 left');
    // The other models of the team are not held by the gpt-4o* budget.
    const mini = await preflight([{ ...item, model: 'gpt-4.1-mini', count: 400 }]);
    expect(mini.json.items[0]?.across).toEqual(['tags/product:chat-bot', 'providers/openai']);
    expect(mini.json.checks.find((c) => c.name === 'budget_availability')?.status).not.toBe('fail');
  });

  it('fails an item without a tag its chain requires, and a tag budget that cannot take the plan', async () => {
    // Proves required tags and tag budgets are checked as the reservation would: tag_required, then the tag budget's room.
    const untagged = await preflight([{ budget: 'acme/research/bot', model: 'gpt-4o-mini', input_tokens: 100 }]);
    const policy = untagged.json.checks.find((c) => c.name === 'model_policy');
    expect([policy?.status, policy?.budget]).toEqual(['fail', 'acme/research']);
    expect(policy?.message).toContain('carries no product tag');
    const tagged = await preflight([{ budget: 'acme/research/bot', model: 'gpt-4o-mini', input_tokens: 10_000, max_output_tokens: 4_000, count: 1_000, tags: ['product:x', 'customer:42'] }]);
    expect(tagged.json.checks.find((c) => c.name === 'budget_availability')?.budget).toBe('tags/customer:42');
  });

  it('answers a malformed tag in a plan item with a 400 naming it', async () => {
    // Proves plan tags are read at the edge with the gateway's tag rule.
    const bad = await preflight([{ budget: 'acme/research/bot', model: 'gpt-4o', input_tokens: 1, tags: ['product:chat-bot', 'not a tag'] }]);
    expect([bad.status, bad.json.error.code, bad.json.error.field]).toEqual([400, 'bad_request', 'items.0.tags.1']);
  });

  it('says when a brownout tier or a fallback would send an item\'s calls to another model now, and prices them there', async () => {
    // Proves the item names the model asked for and the route, and its budgets are those of the model it goes to.
    expect((await s.call('POST', '/api/budgets', { body: { path: 'acme/ops', kind: 'team', limit_micros: 10_000_000, policy: { brownout: [{ at_pct: 10, from: 'gpt-4o', to: 'gpt-4o-mini' }] } } })).status).toBe(201);
    const item = { model: 'gpt-4o', input_tokens: 1_000, max_output_tokens: 1_000 };
    const below = await preflight([{ ...item, budget: 'acme/ops' }]);
    expect([below.json.items[0]?.model, below.json.items[0]?.route]).toEqual(['gpt-4o', null]);
    expect((await s.call('POST', '/api/reservations', { body: { budget: 'acme/ops', amount_micros: 2_000_000 } })).status).toBe(201);
    const past = await preflight([{ ...item, budget: 'acme/ops' }]);
    expect([past.json.items[0]?.model, past.json.items[0]?.requested_model, past.json.items[0]?.route]).toEqual(['gpt-4o-mini', 'gpt-4o', 'brownout']);
    expect(past.json.items[0]?.call_micros).toBeLessThan(below.json.items[0]?.call_micros ?? 0);

    expect((await s.call('PATCH', '/api/budgets/acme%2Fsales', { body: { policy: { fallbacks: [{ from: 'gpt-4o', to: ['gpt-4o-mini', 'gpt-4.1-mini'] }] } } })).status).toBe(200);
    expect((await s.call('POST', '/api/reservations', { body: { budget: 'acme/sales', amount_micros: 1_000_000, labels: { model: 'gpt-4o' } } })).status).toBe(201);
    const fallback = await preflight([{ ...item, budget: 'acme/sales' }]);
    expect([fallback.json.items[0]?.model, fallback.json.items[0]?.route, fallback.json.items[0]?.across]).toEqual(['gpt-4.1-mini', 'fallback', ['providers/openai']]);
    expect(fallback.json.checks.find((c) => c.name === 'budget_availability')?.status).not.toBe('fail');
  });
});

interface ForecastRow {
  budget: string;
  kind: string;
  windows: { window: string; spent_micros: number; rate_micros_per_hour: number; outlook: string }[];
}

interface UsageRow {
  key: string;
  kind?: string;
  cost_micros: number;
  calls: number;
}

describe('forecast and usage count spend on the budgets across the tree', () => {
  beforeAll(async () => {
    const held = await s.store.reserve({ path: 'acme/sales', amountMicros: 50_000, labels: { model: 'gpt-4.1-mini' }, provider: 'openai', tags: ['customer:42'] });
    if (!held.ok) throw new Error(held.message);
    const settled = await s.store.settle({ reservationId: held.reservation.id, actualMicros: 30_000 });
    if (!settled.ok) throw new Error(settled.message);
  });

  it('rates providers/openai and the tag budget from the spend of the calls that reserved on them', async () => {
    // Proves a settlement counts on its reservation's extra budgets (from the reserve entry), so burn rate and run-out time show for a provider.
    const all = await s.call<{ budgets: ForecastRow[] }>('GET', '/api/forecast');
    const row = (path: string) => all.json.budgets.find((b) => b.budget === path);
    expect([row('providers/openai')?.kind, row('providers/openai')?.windows[0]?.spent_micros, row('providers/openai')?.windows[0]?.rate_micros_per_hour]).toEqual(['provider', 30_000, 360_000]);
    expect([row('tags/customer:42')?.kind, row('tags/customer:42')?.windows[2]?.spent_micros]).toEqual(['tag', 30_000]);
    expect(row('tags/product:chat-bot')?.windows[2]?.spent_micros).toBe(0);
    const one = await s.call<{ budgets: ForecastRow[] }>('GET', '/api/forecast?budget=providers%2Fopenai');
    expect(one.json.budgets.map((b) => [b.budget, b.windows[1]?.spent_micros])).toEqual([['providers/openai', 30_000]]);
  });

  it('lists usage on the budgets across the tree beside the groups, and reads a provider budget\'s own usage', async () => {
    // Proves usage shows spend per model, tag and provider budget (with its kind) without counting it twice in totals.
    const usage = await s.call<{ rows: UsageRow[]; across: UsageRow[]; totals: UsageRow }>('GET', '/api/usage?group_by=budget');
    expect(usage.json.across.map((r) => [r.key, r.kind, r.cost_micros, r.calls])).toEqual([
      ['providers/openai', 'provider', 30_000, 1],
      ['tags/customer:42', 'tag', 30_000, 1],
    ]);
    expect(usage.json.totals.cost_micros).toBe(30_000);
    const provider = await s.call<{ totals: UsageRow }>('GET', '/api/usage?group_by=model&budget=providers%2Fopenai');
    expect([provider.json.totals.cost_micros, provider.json.totals.calls]).toEqual([30_000, 1]);
    const quiet = await s.call<{ totals: UsageRow }>('GET', '/api/usage?group_by=model&budget=tags%2Fproduct%3Achat-bot');
    expect(quiet.json.totals.cost_micros).toBe(0);
  });
});
