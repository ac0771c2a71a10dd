import { describe, expect, it } from 'vitest';
import { expectedCost, type Harness, useHarness } from './harness.js';

let h: Harness;

useHarness((started) => (h = started));

async function lastSettle(reservationId: string | null) {
  const seq = Number(reservationId?.slice(4));
  const settles = await h.entries(['settle']);
  const entry = settles.find((e) => e.reservationSeq === seq);
  if (!entry) throw new Error(`no settlement for ${reservationId}`);
  return entry;
}

describe('the official SDKs through the gateway', () => {
  it('chat completions: the answer arrives intact and is settled to the micro of usage x price', async () => {
    // Proves the non-streaming OpenAI path: same answer as the provider's, exact settlement, headers.
    const { data, response } = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 20 }).withResponse();
    expect(data.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(data.object).toBe('chat.completion');
    const usage = data.usage;
    if (!usage) throw new Error('no usage');
    const cost = expectedCost('gpt-4o-mini', { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0 });
    expect(Number(response.headers.get('x-bursar-cost-micros'))).toBe(cost);
    const settle = await lastSettle(response.headers.get('x-bursar-reservation'));
    expect(settle).toMatchObject({ amountMicros: cost, model: 'gpt-4o-mini', tokensIn: usage.prompt_tokens, tokensOut: usage.completion_tokens });
    expect(Number(response.headers.get('x-bursar-remaining-micros'))).toBeGreaterThan(0);
    const seen = h.server.mock?.requests.at(-1);
    expect(seen?.authorization).toBe('Bearer mock-openai-key');
    expect(JSON.stringify(seen?.headers)).not.toContain(h.secret);
  });

  it('chat completions stream: chunks relayed, no usage chunk for a client that did not ask, exact settlement', async () => {
    // Proves streaming relay: what the client sees equals what it would see without Bursar.
    const stream = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count' }], stream: true, max_tokens: 30 }, { headers: { 'x-mock-chunks': '5', 'x-mock-output-tokens': '12' } });
    let text = '';
    let sawUsage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) sawUsage = true;
      expect('usage' in chunk).toBe(false);
    }
    expect(text.length).toBeGreaterThan(0);
    expect(sawUsage).toBe(false);
    const seen = h.server.mock?.requests.at(-1);
    expect(seen?.outputTokens).toBe(12);
    const settles = await h.entries(['settle']);
    const last = settles.at(-1);
    expect(last?.amountMicros).toBe(expectedCost('gpt-4o-mini', { inputTokens: seen?.promptTokens ?? 0, outputTokens: 12 }));
  });

  it('chat completions stream: a client that asks for usage gets the usage chunk', async () => {
    // Proves the usage chunk is passed through when the client requested it.
    const stream = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    let usage: { completion_tokens: number; prompt_tokens: number } | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const last = (await h.entries(['settle'])).at(-1);
    expect(last?.amountMicros).toBe(expectedCost('gpt-4o-mini', { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 }));
  });

  it('responses API, plain and streamed', async () => {
    // Proves /v1/responses: usage from the response object and from response.completed.
    const plain = await h.openai.responses.create({ model: 'gpt-5.6-luna', input: 'Write a haiku', max_output_tokens: 40 });
    expect(plain.output_text.length).toBeGreaterThan(0);
    const cost = expectedCost('gpt-5.6-luna', { inputTokens: plain.usage?.input_tokens ?? 0, outputTokens: plain.usage?.output_tokens ?? 0, cachedTokens: plain.usage?.input_tokens_details.cached_tokens ?? 0 });
    expect((await h.entries(['settle'])).at(-1)?.amountMicros).toBe(cost);
    const stream = await h.openai.responses.create({ model: 'gpt-5.6-luna', input: 'Again', stream: true });
    let completed: { usage?: { input_tokens: number; output_tokens: number } | null } | undefined;
    let deltas = '';
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(deltas.length).toBeGreaterThan(0);
    expect((await h.entries(['settle'])).at(-1)?.amountMicros).toBe(expectedCost('gpt-5.6-luna', { inputTokens: completed?.usage?.input_tokens ?? 0, outputTokens: completed?.usage?.output_tokens ?? 0 }));
  });

  it('embeddings', async () => {
    // Proves embeddings are priced on input tokens only.
    const result = await h.openai.embeddings.create({ model: 'text-embedding-3-small', input: ['the quick brown fox', 'jumps'] });
    expect(result.data).toHaveLength(2);
    expect((await h.entries(['settle'])).at(-1)?.amountMicros).toBe(expectedCost('text-embedding-3-small', { inputTokens: result.usage.prompt_tokens, outputTokens: 0 }));
  });

  it('anthropic messages, plain and streamed, with cache reads and writes priced', async () => {
    // Proves the Anthropic path: usage from the body, and from message_start + message_delta.
    const message = await h.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hello Claude' }] }, { headers: { 'x-mock-cached-tokens': '5', 'x-mock-cache-write-tokens': '3' } });
    expect(message.content[0]?.type).toBe('text');
    const u = message.usage;
    const total = u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
    expect(u.cache_read_input_tokens).toBe(5);
    expect((await h.entries(['settle'])).at(-1)?.amountMicros).toBe(expectedCost('claude-haiku-4-5', { inputTokens: total, outputTokens: u.output_tokens, cachedTokens: 5, cacheWriteTokens: 3 }));
    const stream = h.anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Stream please' }] }, { headers: { 'x-mock-chunks': '4' } });
    const final = await stream.finalMessage();
    expect(final.content[0]?.type).toBe('text');
    expect((await h.entries(['settle'])).at(-1)?.amountMicros).toBe(expectedCost('claude-haiku-4-5', { inputTokens: final.usage.input_tokens, outputTokens: final.usage.output_tokens }));
  });

  it('accepts the token as x-api-key too, and answers balance and models for the token', async () => {
    // Proves both credential headers work and the agent self-service routes.
    const response = await fetch(`${h.server.url}/v1/bursar/balance`, { headers: { 'x-api-key': h.secret } });
    expect(response.status).toBe(200);
    const balance = (await response.json()) as { chain: { budget: string }[]; tightest: string; remaining_micros: number };
    expect(balance.chain.map((l) => l.budget)).toEqual([h.envelope, 'acme/research/bot', 'acme/research', 'acme']);
    expect(balance.tightest).toBe(h.envelope);
    const limited = await h.mint({ models: ['gpt-4o-mini', 'claude-haiku-4-5'] });
    const models = await fetch(`${h.server.url}/v1/models`, { headers: { authorization: `Bearer ${limited.secret}` } });
    expect(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id).sort()).toEqual(['claude-haiku-4-5', 'gpt-4o-mini']);
  });
});

describe('read-your-writes', () => {
  it('a balance read sent right after an answer already sees that call settled', async () => {
    // Proves the settlement commits before the next request is read, though the answer is written first: no window in which the call looks merely reserved.
    const t = await h.mint({ limitMicros: 1_000_000 });
    for (let i = 0; i < 20; i += 1) {
      const res = await fetch(`${h.server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${i}` }], max_tokens: 50 }),
      });
      await res.text();
      const cost = Number(res.headers.get('x-bursar-cost-micros'));
      const balance = (await (await fetch(`${h.server.url}/v1/bursar/balance`, { headers: { authorization: `Bearer ${t.secret}` } })).json()) as { chain: { budget: string; reserved_micros: number; spent_micros: number }[] };
      const envelope = balance.chain.find((b) => b.budget === t.envelope);
      expect(envelope?.reserved_micros, `call ${i}`).toBe(0);
      expect(envelope?.spent_micros, `call ${i}`).toBeGreaterThanOrEqual(cost);
      expect(Number(res.headers.get('x-bursar-remaining-micros'))).toBe(1_000_000 - (envelope?.spent_micros ?? 0));
    }
  });
});
