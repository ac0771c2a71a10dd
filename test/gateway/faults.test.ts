import { request } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, expectedCost, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ upstreamTimeoutMs: 1_000 });
});

afterAll(async () => {
  expect((await h.server.store.audit()).problems).toEqual([]);
  await h.close();
});

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hello there' }], max_tokens: 40 };

async function resolutionOf(reservationId: string | null | undefined) {
  const seq = Number(reservationId?.slice(4));
  return eventually(async () => (await h.entries(['settle', 'void', 'expire'])).find((e) => e.reservationSeq === seq));
}

async function lastReservationId(): Promise<string> {
  const last = (await h.entries(['reserve'])).at(-1);
  return `rsv_${last?.seq}`;
}

describe('upstream failures resolve every reservation', () => {
  it('usage beyond any request settles at the reservation, is logged, and the gateway keeps serving', async () => {
    // Proves a 2xx answer claiming 200,000,000 output tokens is input to validate, not a crash.
    const plain = await h.openai.chat.completions.create(chat, { headers: { 'x-mock-fault': 'huge-usage' } }).withResponse();
    expect(plain.data.usage?.completion_tokens).toBe(200_000_000);
    const reserved = Number(plain.response.headers.get('x-bursar-cost-micros'));
    const settle = await resolutionOf(plain.response.headers.get('x-bursar-reservation'));
    const reserve = (await h.entries(['reserve'])).find((e) => `rsv_${e.seq}` === plain.response.headers.get('x-bursar-reservation'));
    expect([settle.kind, settle.amountMicros, reserved]).toEqual(['settle', reserve?.amountMicros, reserve?.amountMicros]);
    expect(settle.reason).toMatch(/outputTokens 200000000, beyond any request/);
    const streamed = await h.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-mock-fault': 'huge-usage' } });
    for await (const _event of streamed) void _event;
    const last = await resolutionOf(await lastReservationId());
    expect(last.reason).toMatch(/beyond any request/);
    expect(h.logs.filter((l) => l.event === 'usage_anomaly')).toHaveLength(2);
    const after = await h.openai.chat.completions.create(chat);
    expect(after.choices[0]?.message.content).toBeTruthy();
  });

  it('a provider 500 voids the reservation and reaches the client as the provider sent it', async () => {
    // Proves nothing is charged for a failed call and the SDK sees the provider's error.
    const e = await h.openai.chat.completions.create(chat, { headers: { 'x-mock-fault': '500' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.InternalServerError);
    const resolution = await resolutionOf(await lastReservationId());
    expect(resolution.kind).toBe('void');
  });

  it('a provider 429 voids and passes retry-after through', async () => {
    // Proves rate limits upstream are relayed, not charged.
    const e = (await h.openai.chat.completions.create(chat, { headers: { 'x-mock-fault': '429' } }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e.headers?.get('retry-after')).not.toBeNull();
    expect((await resolutionOf(await lastReservationId())).kind).toBe('void');
  });

  it('a provider that never answers times out with 504 and the reservation is voided', async () => {
    // Proves the upstream timeout, well inside the reservation's TTL.
    const e = (await h.openai.chat.completions.create(chat, { headers: { 'x-mock-fault': 'timeout' } }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(504);
    expect(e.code).toBe('upstream_timeout');
    expect((await resolutionOf(await lastReservationId())).kind).toBe('void');
  });

  it('a stream cut short is settled from what was streamed, never at $0', async () => {
    // Proves a truncated stream (no usage, no [DONE]) is priced with the tokenizer.
    const stream = await h.openai.chat.completions.create({ ...chat, stream: true }, { headers: { 'x-mock-fault': 'truncate', 'x-mock-chunks': '6', 'x-mock-output-tokens': '30' } });
    let text = '';
    await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })().catch(() => undefined);
    const settle = await resolutionOf(await lastReservationId());
    expect(settle.kind).toBe('settle');
    expect(settle.amountMicros).toBeGreaterThan(0);
    expect(settle.reason).toBe('stream ended early');
    expect(settle.tokensOut).toBeGreaterThan(0);
    expect(text.length).toBeGreaterThan(0);
  });

  it('a stream that ends without usage is priced by the tokenizer', async () => {
    // Proves the "streamed calls costed at $0" failure of other gateways does not happen here.
    const stream = await h.openai.chat.completions.create({ ...chat, stream: true }, { headers: { 'x-mock-fault': 'no-usage', 'x-mock-output-tokens': '20' } });
    for await (const _chunk of stream) void _chunk;
    const settle = await resolutionOf(await lastReservationId());
    const seen = h.server.mock?.requests.at(-1);
    expect(settle.tokensOut).toBe(20);
    expect(settle.amountMicros).toBe(expectedCost('gpt-4o-mini', { inputTokens: seen?.promptTokens ?? 0, outputTokens: 20 }));
  });

  it('a client that leaves mid-stream stops the upstream call and is charged for what was generated', async () => {
    // Proves disconnect handling: upstream aborted, partial output settled.
    const url = new URL(`${h.server.url}/v1/chat/completions`);
    const body = JSON.stringify({ ...chat, stream: true, max_tokens: 200 });
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${h.secret}`, 'content-type': 'application/json', 'x-mock-chunks': '50', 'x-mock-chunk-delay-ms': '30', 'x-mock-output-tokens': '200' } }, (res) => {
        let got = 0;
        res.on('data', () => {
          got += 1;
          if (got === 3) {
            req.destroy();
            resolve();
          }
        });
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      req.end(body);
      setTimeout(() => reject(new Error('no data')), 5_000);
    });
    const settle = await resolutionOf(await lastReservationId());
    expect(settle.kind).toBe('settle');
    expect(settle.reason).toBe('client disconnected');
    expect(settle.tokensOut).toBeGreaterThan(0);
    expect(settle.tokensOut).toBeLessThan(200);
    const seen = await eventually(async () => h.server.mock?.requests.findLast((r) => r.stream && r.clientClosed));
    expect(seen.chunksSent).toBeLessThan(50);
  });
});

describe('modes', () => {
  it('shadow forwards what enforcement would refuse and says so', async () => {
    // Proves shadow mode: calibrate limits without stopping traffic; the would-be refusal is recorded.
    const s = await startHarness({ mode: 'shadow', tokenLimitMicros: 1 });
    try {
      const { response, data } = await s.openai.chat.completions.create(chat).withResponse();
      expect(data.choices.length).toBe(1);
      expect(response.headers.get('x-bursar-would-refuse')).toBe('budget_exceeded');
      // Past the limit, what is left is nothing, never a negative amount.
      expect(response.headers.get('x-bursar-remaining-micros')).toBe('0');
      const reserve = (await s.entries(['reserve'])).at(-1);
      expect(JSON.parse(reserve?.data ?? '{}')).toMatchObject({ wouldRefuse: 'budget_exceeded' });
      expect((await s.entries(['settle'])).length).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('dry-run forwards nothing and records the estimate', async () => {
    // Proves dry-run: a synthetic answer, no provider call, the estimate charged to the budget.
    const s = await startHarness({ mode: 'dry-run' });
    try {
      const { response, data } = await s.openai.chat.completions.create(chat).withResponse();
      expect(data.choices[0]?.message.content).toContain('dry-run');
      expect(response.headers.get('x-bursar-dry-run')).toBe('true');
      expect(s.server.mock?.requests.length).toBe(0);
      const reserve = (await s.entries(['reserve'])).at(-1);
      const settle = (await s.entries(['settle'])).at(-1);
      expect(settle?.amountMicros).toBe(reserve?.amountMicros);
      expect(settle?.reason).toBe('dry-run');
      const stream = await s.anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
      expect(stream.usage.output_tokens).toBe(16);
    } finally {
      await s.close();
    }
  });
});
