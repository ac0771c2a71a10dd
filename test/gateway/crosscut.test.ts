import { randomBytes } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { newSpendToken, type Policy } from '../../src/core/index.js';
import { eventually, expectedCost, useHarness, usd, type Harness } from './harness.js';
import { raceOnModelBudget, reservedFor } from './model-budget-race.js';

let h: Harness;
// The race sends one request 200 times: loop detection is off for its agent.
useHarness((started) => (h = started), { agentPolicy: { inflightMax: 1_000, loopLimit: 'off' } });

const body = { messages: [{ role: 'user' as const, content: 'summarise the market' }], max_tokens: 100 };
const maxed = { headers: { 'x-mock-output-tokens': 'max' } };
type ApiError = InstanceType<typeof OpenAI.APIError> & { error?: Record<string, unknown> };

function must<T extends { ok: boolean }>(r: T): T {
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r;
}

/** A team under acme with its own policy and limit, an agent in it, and SDK clients with a token on the agent. */
async function team(name: string, limitMicros: number | null, policy: Policy = {}): Promise<{ openai: OpenAI; anthropic: Anthropic; path: string }> {
  const store = h.server.store;
  must(await store.createBudget({ path: `acme/${name}`, kind: 'team', limitMicros, policy }));
  must(await store.createBudget({ path: `acme/${name}/bot`, kind: 'agent', policy: { inflightMax: 100, burnLimits: [] } }));
  const t = newSpendToken((n) => randomBytes(n));
  must(await store.mintToken({ path: `acme/${name}/bot`, tokenId: t.id, hash: t.hash, limitMicros: null }));
  return { openai: new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: t.secret, maxRetries: 0 }), anthropic: new Anthropic({ baseURL: h.server.url, apiKey: t.secret, maxRetries: 0 }), path: `acme/${name}` };
}

async function refusal(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof OpenAI.APIError || error instanceof Anthropic.APIError) return error as ApiError;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** Spends `micros` on a budget directly (a settled tool reservation). */
async function spend(path: string, micros: number): Promise<void> {
  const r = must(await h.server.store.reserve({ path, amountMicros: micros }));
  if (r.ok) must(await h.server.store.settle({ reservationId: r.reservation.id, actualMicros: micros }));
}

const lastUpstreamModel = () => h.server.mock?.requests.at(-1)?.model;

describe('model sub-budgets through the gateway', () => {
  it('admits exactly 37 of 200 concurrent SDK calls on a model sub-budget that holds 37, while another model of the team runs', async () => {
    // Proves the sub-limit end to end on SQLite: the race for its last dollar, and other models untouched.
    await raceOnModelBudget(h.server);
  });
});

describe('brownout', () => {
  it('forwards the model asked for below the tier and the cheaper one past it, priced at the cheaper model', async () => {
    // Proves the tier decides on the ledger's state at admission, the mock sees the rewritten model and the ledger prices it.
    const { openai, path } = await team('brown', usd(1), { brownout: [{ atPct: 50, from: 'gpt-4o', to: 'gpt-4o-mini' }] });
    const below = await openai.chat.completions.create({ ...body, model: 'gpt-4o' }, maxed).withResponse();
    expect([below.data.model, lastUpstreamModel(), below.response.headers.get('x-bursar-downgraded-from')]).toEqual(['gpt-4o', 'gpt-4o', null]);
    await spend(path, usd(0.5));
    const past = await openai.chat.completions.create({ ...body, model: 'gpt-4o' }, maxed).withResponse();
    expect([past.data.model, lastUpstreamModel()]).toEqual(['gpt-4o-mini', 'gpt-4o-mini']);
    expect([past.response.headers.get('x-bursar-downgraded-from'), past.response.headers.get('x-bursar-route')]).toEqual(['gpt-4o', 'brownout']);
    const usage = past.data.usage;
    const cost = expectedCost('gpt-4o-mini', { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 });
    expect(Number(past.response.headers.get('x-bursar-cost-micros'))).toBe(cost);
    expect(cost).toBeLessThan(reservedFor('gpt-4o', body) / 10);
    const settle = await eventually(async () => (await h.entries(['settle'])).find((e) => e.requestId === past.response.headers.get('x-bursar-request-id')));
    expect([settle.model, settle.amountMicros]).toEqual(['gpt-4o-mini', cost]);
    const reserve = (await h.entries(['reserve'])).find((e) => e.seq === settle.reservationSeq);
    expect(JSON.parse(reserve?.data ?? '{}')).toMatchObject({ requestedModel: 'gpt-4o', route: 'brownout' });
  });
});

describe('fallbacks', () => {
  it('uses the next model when a model budget is spent, and refuses with 402 listing every model and budget tried when none fits', async () => {
    // Proves the fallback chain end to end: A exhausted → B forwarded; all exhausted → the refusal names what was tried.
    const { openai, path } = await team('fall', null, { fallbacks: [{ from: 'gpt-4o', to: ['gpt-4.1-mini', 'gpt-4o-mini'] }] });
    must(await h.server.store.createBudget({ path: `${path}/model:gpt-4o`, kind: 'model', limitMicros: reservedFor('gpt-4o', body) }));
    must(await h.server.store.createBudget({ path: `${path}/model:gpt-4.1-mini`, kind: 'model', limitMicros: reservedFor('gpt-4.1-mini', body) }));
    must(await h.server.store.createBudget({ path: `${path}/model:gpt-4o-mini`, kind: 'model', limitMicros: 0 }));
    expect((await openai.chat.completions.create({ ...body, model: 'gpt-4o' }, maxed)).model).toBe('gpt-4o');
    const fell = await openai.chat.completions.create({ ...body, model: 'gpt-4o' }, maxed).withResponse();
    expect([fell.data.model, lastUpstreamModel(), fell.response.headers.get('x-bursar-route')]).toEqual(['gpt-4.1-mini', 'gpt-4.1-mini', 'fallback']);
    const forwarded = h.server.mock?.requests.length;
    const e = await refusal(openai.chat.completions.create({ ...body, model: 'gpt-4o' }, maxed));
    expect([e.status, e.code, e.error?.budget]).toEqual([402, 'budget_exceeded', `${path}/model:gpt-4o`]);
    expect(e.error?.tried).toEqual([
      { model: 'gpt-4o', code: 'budget_exceeded', budget: `${path}/model:gpt-4o` },
      { model: 'gpt-4.1-mini', code: 'budget_exceeded', budget: `${path}/model:gpt-4.1-mini` },
      { model: 'gpt-4o-mini', code: 'budget_exceeded', budget: `${path}/model:gpt-4o-mini` },
    ]);
    expect(e.message).toContain('fallbacks tried: gpt-4.1-mini');
    expect(h.server.mock?.requests.length).toBe(forwarded);
  });
});

describe('tags and providers', () => {
  it('reserves on the budgets of the x-bursar-tags a call carries and refuses a call without a tag its team requires', async () => {
    // Proves tag budgets from the header, the required-tag refusal, and a bad header as a 400 naming it.
    const { openai, path } = await team('tagged', null, { requiredTags: ['product'] });
    const amount = reservedFor('gpt-4o-mini', body);
    must(await h.server.store.createBudget({ path: 'tags/product:chat-bot', kind: 'tag', limitMicros: amount, period: 'day' }));
    const tags = { headers: { ...maxed.headers, 'x-bursar-tags': 'product:chat-bot, customer:42' } };
    const missing = await refusal(openai.chat.completions.create({ ...body, model: 'gpt-4o-mini' }, maxed));
    expect([missing.status, missing.code, missing.param, missing.error?.budget]).toEqual([403, 'tag_required', 'x-bursar-tags', path]);
    const bad = await refusal(openai.chat.completions.create({ ...body, model: 'gpt-4o-mini' }, { headers: { 'x-bursar-tags': 'product:chat bot' } }));
    expect([bad.status, bad.code, bad.param]).toEqual([400, 'bad_request', 'x-bursar-tags']);
    await openai.chat.completions.create({ ...body, model: 'gpt-4o-mini' }, tags);
    const over = await refusal(openai.chat.completions.create({ ...body, model: 'gpt-4o-mini' }, tags));
    expect([over.status, over.code, over.error?.budget]).toEqual([402, 'budget_exceeded', 'tags/product:chat-bot']);
    const tagBudget = await h.server.store.getBudget('tags/product:chat-bot');
    expect([tagBudget?.spentMicros, tagBudget?.reservedMicros]).toEqual([amount, 0]);
    const reserve = (await h.entries(['reserve'])).at(-1);
    expect(JSON.parse(reserve?.data ?? '{}')).toMatchObject({ tags: ['product:chat-bot', 'customer:42'], provider: 'openai' });
  });

  it('holds a provider budget for every call that provider serves', async () => {
    // Proves the provider budget: Anthropic calls stop at its limit while OpenAI calls go on.
    const { openai, anthropic } = await team('providers', null);
    must(await h.server.store.createBudget({ path: 'providers/anthropic', kind: 'provider', limitMicros: 100, period: 'day' }));
    const e = await refusal(anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }));
    expect([e.status, (e.error as { error?: { code?: string; budget?: string } } | undefined)?.error?.budget]).toEqual([402, 'providers/anthropic']);
    expect((await openai.chat.completions.create({ ...body, model: 'gpt-4o-mini' })).model).toBe('gpt-4o-mini');
  });
});
