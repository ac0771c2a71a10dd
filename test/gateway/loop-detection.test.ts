import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { useHarness, type Harness } from './harness.js';

/**
 * A loop of identical requests through the gateway is stopped by the agent's default loop limit
 * (20 repeats in 10 minutes) long before its budget is spent, and the breaker behaves as it does
 * for burn limits: the whole budget waits out a cool-down, then one request probes.
 */

let h: Harness;
useHarness((started) => (h = started));

const loopMs = 10 * 60_000;
const question = { role: 'user' as const, content: 'Check the queue for new work.' };

/** One step of the runaway agent: the same question, with what a loop varies from call to call. */
function step(i: number) {
  return h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are a worker.' }, question], max_tokens: 20, user: `attempt-${i}`, temperature: i % 2 ? 0.2 : 0.7 }).withResponse();
}

async function refusalOf(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof OpenAI.APIError)) throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

describe('loop detection at the gateway', () => {
  it('stops a loop of identical requests at the 21st with 429 loop_detected naming its first and last requests, before the budget is spent', async () => {
    // Proves the official OpenAI client gets a rate-limit error with Bursar's code, retry-after and the reservation ids; the provider never sees the refused call.
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) ids.push((await step(i)).response.headers?.get('x-bursar-reservation') ?? '');
    const upstreamBefore = h.server.mock?.requests.length ?? 0;
    const e = await refusalOf(step(20));
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect([e.status, e.code, e.headers?.get('retry-after'), e.headers?.get('x-bursar-code')]).toEqual([429, 'loop_detected', '60', 'loop_detected']);
    expect(e.message).toContain(`first ${ids[0]}`);
    expect(e.message).toContain(`last ${ids[19]}`);
    expect(h.server.mock?.requests.length ?? 0).toBe(upstreamBefore);
    const tripped = await h.entries(['breaker_tripped']);
    expect(tripped).toHaveLength(1);
    expect(JSON.parse(tripped[0]?.data ?? '{}')).toMatchObject({ code: 'loop_detected', count: 20, repeats: 20, firstRequest: ids[0], lastRequest: ids[19] });
    const bot = await h.server.store.getBudget('acme/research/bot');
    expect([bot?.breaker, bot?.breakerCode]).toEqual(['open', 'loop_detected']);
    // Stopped early: the agent spent a sliver of its $10.
    expect(bot?.spentMicros ?? 0).toBeLessThan((bot?.limitMicros ?? 0) / 100);
  });

  it('refuses every request on the tripped budget until the cool-down ends, while other budgets keep working', async () => {
    // Proves the breaker is per budget: a different question from the looping agent waits too; another agent does not.
    const other = await refusalOf(h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Something else entirely' }], max_tokens: 20 }));
    expect([other.status, other.code]).toEqual([429, 'loop_detected']);
    expect(Number(other.headers?.get('retry-after'))).toBeGreaterThan(0);
    const made = await h.server.store.createBudget({ path: 'acme/research/peer', kind: 'agent' });
    if (!made.ok) throw new Error(made.message);
    const peer = await h.mint({ path: 'acme/research/peer' });
    const client = new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: peer.secret, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are a worker.' }, question], max_tokens: 20 });
  });

  it('after the cool-down trips again for twice as long on the looping request, and closes on a different one', async () => {
    // Proves half-open on a loop trip through the gateway, and that the loop is still counted within its window.
    h.clock.advance(60_000);
    const again = await refusalOf(step(21));
    expect([again.code, again.headers?.get('retry-after')]).toEqual(['loop_detected', '120']);
    h.clock.advance(120_000);
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'A new task' }], max_tokens: 20 });
    expect((await h.server.store.getBudget('acme/research/bot'))?.breaker).toBe('closed');
    expect((await refusalOf(step(22))).code).toBe('loop_detected');
  });

  it('counts the same request afresh once its window has passed', async () => {
    // Proves window expiry on the injected clock: the loop's request passes again as the probe and closes the breaker.
    h.clock.advance(loopMs);
    await step(23);
    const bot = await h.server.store.getBudget('acme/research/bot');
    expect([bot?.breaker, bot?.loop?.mostRepeated?.count]).toEqual(['closed', 1]);
  });

  it('stops a tool called with the same params over and over, through the agent routes', async () => {
    // Proves tool spend carries a fingerprint of its tool and params, and only with params.
    const made = await h.server.store.createBudget({ path: 'acme/research/fetcher', kind: 'agent', policy: { inflightMax: 100, loopLimit: { repeats: 2, windowMs: loopMs } } });
    if (!made.ok) throw new Error(made.message);
    const token = await h.mint({ path: 'acme/research/fetcher' });
    const reserve = (body: Record<string, unknown>) => fetch(`${h.server.url}/v1/bursar/reservations`, { method: 'POST', headers: { authorization: `Bearer ${token.secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (let i = 0; i < 3; i += 1) expect((await reserve({ tool: 'WebFetch' })).status).toBe(201);
    for (let i = 0; i < 2; i += 1) expect((await reserve({ tool: 'WebFetch', params: { url: 'https://example.com/stuck' } })).status).toBe(201);
    const looped = await reserve({ tool: 'WebFetch', params: { url: 'https://example.com/stuck' } });
    expect([looped.status, looped.headers.get('retry-after')]).toEqual([429, '60']);
    expect(((await looped.json()) as { error: { code: string } }).error.code).toBe('loop_detected');
  });
});
