import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeTable, errorHeaders, WireError } from '../../src/contract/index.js';
import { startHarness, type Harness } from './harness.js';

/** 429 refusals tell the client when to try again, so SDKs that retry only then do. */

let h: Harness;
let busy: { secret: string; envelope: string };

beforeAll(async () => {
  h = await startHarness();
  // A token allowed one call at a time, whose one slot a tool reservation holds.
  busy = await h.mint({ inflightMax: 1 });
  const held = await h.server.store.reserve({ path: busy.envelope, amountMicros: 1_000 });
  if (!held.ok) throw new Error(held.message);
});

afterAll(async () => {
  await h.close();
});

describe('Retry-After', () => {
  it('comes with too_many_inflight on a model call, as the OpenAI SDK sees it', async () => {
    // Proves a client refused for in-flight calls is told to come back in a second.
    const client = new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: busy.secret, maxRetries: 0 });
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof OpenAI.RateLimitError)) throw new Error(`expected a 429, got ${String(error)}`);
    expect(error.code).toBe('too_many_inflight');
    expect(error.headers.get('retry-after')).toBe(String(codeTable.too_many_inflight.retryAfterSDefault));
  });

  it('comes with too_many_inflight on a tool reservation through the agent routes', async () => {
    // Proves the other door that reserves answers the same way.
    const res = await fetch(`${h.server.url}/v1/bursar/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${busy.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tool: 'WebFetch' }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('x-bursar-code')).toBe('too_many_inflight');
    expect(res.headers.get('retry-after')).toBe(String(codeTable.too_many_inflight.retryAfterSDefault));
  });

  it('is set on every burn_limit refusal, and a refusal that knows its cool-down says that instead', () => {
    // Proves no burn_limit refusal can leave the header out, whoever builds it.
    expect(errorHeaders(new WireError('burn_limit', 'cooling down'))['retry-after']).toBe(60);
    expect(errorHeaders(new WireError('burn_limit', 'cooling down', { retryAfterS: 17 }))['retry-after']).toBe(17);
    expect(errorHeaders(new WireError('budget_exceeded', 'no money'))['retry-after']).toBeUndefined();
  });
});
