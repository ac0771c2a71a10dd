import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/** A burst of calls through the gateway stops at the agent's burn limit, and the breaker behaves as it promises. */

let h: Harness;
let estimateMicros = 0;
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hello' }], max_tokens: 200 };

beforeAll(async () => {
  h = await startHarness();
  // What one call reserves, measured on another agent so that it counts in no window of the bot's.
  const store = h.server.store;
  const made = await store.createBudget({ path: 'acme/research/estimator', kind: 'agent', policy: { burnLimits: [] } });
  if (!made.ok) throw new Error(made.message);
  const estimator = await h.mint({ path: 'acme/research/estimator' });
  await new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: estimator.secret, maxRetries: 0 }).chat.completions.create(chat);
  estimateMicros = (await h.entries(['reserve']))[0]?.amountMicros ?? 0;
  const limited = await store.updateBudget({ path: 'acme/research/bot', policyPatch: { burnLimits: [{ amountMicros: 5 * estimateMicros, windowMs: 60_000 }] } });
  if (!limited.ok) throw new Error(limited.message);
});

afterAll(async () => {
  expect((await h.server.store.audit()).problems).toEqual([]);
  await h.close();
});

/** `n` concurrent calls, each billed its whole output cap and held upstream for a moment, as a runaway loop's would be. */
async function burst(n: number): Promise<PromiseSettledResult<unknown>[]> {
  const headers = { 'x-mock-output-tokens': 'max', 'x-mock-latency-ms': '200' };
  return Promise.allSettled(Array.from({ length: n }, () => h.openai.chat.completions.create(chat, { headers })));
}

function refusals(results: PromiseSettledResult<unknown>[]): InstanceType<typeof OpenAI.RateLimitError>[] {
  return results.flatMap((r) => (r.status === 'rejected' && r.reason instanceof OpenAI.RateLimitError ? [r.reason] : []));
}

describe('burn limits at the gateway', () => {
  it('refuses a burst past the burn limit with 429 burn_limit and retry-after, before forwarding', async () => {
    // Proves the official OpenAI client sees a rate-limit error with Bursar's code and when to come back, and the provider never sees the refused calls.
    expect(estimateMicros).toBeGreaterThan(0);
    const upstreamBefore = h.server.mock?.requests.length ?? 0;
    const results = await burst(20);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = refusals(results);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBeLessThanOrEqual(5);
    expect(refused).toHaveLength(20 - ok.length);
    for (const e of refused) {
      expect(e.status).toBe(429);
      expect(e.code).toBe('burn_limit');
      // The cool-down (60 s) outlasts the window's own wait; a second may pass during the burst.
      expect(Number(e.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
      expect(Number(e.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    }
    expect((h.server.mock?.requests.length ?? 0) - upstreamBefore).toBe(ok.length);
    expect(await h.entries(['breaker_tripped'])).toHaveLength(1);
    const view = await h.server.store.getBudget('acme/research/bot');
    expect([view?.status, view?.breaker]).toEqual(['active', 'open']);
  });

  it('after the cool-down lets exactly one call through, and closes when it settles', async () => {
    // Proves half-open: one probe among concurrent callers, the rest told to retry in a second; success closes the breaker.
    h.clock.advance(60_000);
    const results = await burst(6);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = refusals(results);
    expect(refused).toHaveLength(5);
    for (const e of refused) expect([e.code, e.headers.get('retry-after')]).toEqual(['burn_limit', '1']);
    const closed = await h.entries(['breaker_closed']);
    expect(closed).toHaveLength(1);
    expect((await h.server.store.getBudget('acme/research/bot'))?.breaker).toBe('closed');
    await h.openai.chat.completions.create(chat);
  });
});
