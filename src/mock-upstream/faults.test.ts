import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { limits } from './limits.js';
import { startMockUpstream, type MockUpstream } from './server.js';

let upstream: MockUpstream;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  upstream = await startMockUpstream({ port: 0, slowStreamDelayMs: 50 });
  openai = new OpenAI({ apiKey: 'sk-upstream', baseURL: `${upstream.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-upstream', baseURL: upstream.url, maxRetries: 0 });
});
afterAll(() => upstream.close());

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Say hello.' }] };
const message = { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Say hello.' }] };
const fault = (name: string, extra: Record<string, string> = {}) => ({ headers: { 'x-mock-fault': name, ...extra } });

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${upstream.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Reads a body until it ends or the connection is cut; returns the text and whether it was cut. */
async function readAll(res: Response): Promise<{ text: string; cut: boolean }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, cut: false };
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    return { text, cut: true };
  }
}

describe('provider errors', () => {
  it('answers 500 in each provider shape, raised as the SDKs typed errors', async () => {
    // Proves a 500 fault reaches both SDKs as InternalServerError with the provider's error type.
    const openaiError = await openai.chat.completions.create(chat, fault('500')).catch((e: unknown) => e);
    expect(openaiError).toBeInstanceOf(OpenAI.InternalServerError);
    expect((openaiError as InstanceType<typeof OpenAI.APIError>).status).toBe(500);
    expect((openaiError as InstanceType<typeof OpenAI.APIError>).type).toBe('server_error');
    const anthropicError = await anthropic.messages.create(message, fault('500')).catch((e: unknown) => e);
    expect(anthropicError).toBeInstanceOf(Anthropic.InternalServerError);
    expect((anthropicError as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(upstream.requests.at(-1)).toMatchObject({ status: 500, outcome: 'error', fault: '500' });
  });

  it('answers 429 with retry-after, raised as RateLimitError', async () => {
    // Proves the rate-limit fault carries retry-after and the SDKs classify it.
    const openaiError = await openai.chat.completions.create(chat, fault('429')).catch((e: unknown) => e);
    expect(openaiError).toBeInstanceOf(OpenAI.RateLimitError);
    expect((openaiError as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe(String(limits.retryAfterS));
    const anthropicError = await anthropic.messages.create(message, fault('429')).catch((e: unknown) => e);
    expect(anthropicError).toBeInstanceOf(Anthropic.RateLimitError);
    expect((anthropicError as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: 'rate_limit_error' } });
  });

  it('answers bad JSON and bad fields with 400 in the provider shape, naming the field', async () => {
    // Proves bad input never crashes the mock and is reported like the provider would.
    const badJson = await post('/v1/chat/completions', '{"model": ');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    const badField = await post('/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 10, messages: 'hi' });
    expect(badField.status).toBe(400);
    const fieldError = (await badField.json()) as { type: string; error: { type: string; message: string } };
    expect(fieldError).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(fieldError.error.message).toContain('messages');
    const notObject = await post('/v1/responses', '[]');
    expect(notObject.status).toBe(400);
    const badHeader = await post('/v1/chat/completions', chat, { 'x-mock-chunks': 'many' });
    expect(badHeader.status).toBe(400);
    expect(((await badHeader.json()) as { error: { message: string } }).error.message).toContain('x-mock-chunks');
  });

  it('answers unknown routes with 404, wrong methods with 405 and huge bodies with 413', async () => {
    // Proves routing errors are provider-shaped and the body size is bounded.
    const missing = await post('/v1/completions', chat);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'unknown_url' } });
    expect((await fetch(`${upstream.url}/v1/messages`)).status).toBe(405);
    const huge = await post('/v1/chat/completions', `{"model":"x","pad":"${'x'.repeat(limits.bodyBytesMax)}"}`).catch(() => undefined);
    if (huge) expect(huge.status).toBe(413); // the server may also cut the upload short
    expect(upstream.requests.some((r) => r.status === 413)).toBe(true);
  });
});

describe('stream faults', () => {
  it('truncate cuts a stream halfway, before its usage and [DONE]', async () => {
    // Proves a dying upstream is reproducible: some deltas, then the connection drops.
    const res = await post('/v1/chat/completions', { ...chat, stream: true, stream_options: { include_usage: true } }, { 'x-mock-fault': 'truncate', 'x-mock-chunks': '4' });
    const { text, cut } = await readAll(res);
    expect(cut).toBe(true);
    expect(text).toContain('"content":"hi');
    expect(text).not.toContain('[DONE]');
    expect(text).not.toContain('"prompt_tokens"');
    expect(upstream.requests.at(-1)).toMatchObject({ outcome: 'truncated', chunksSent: 2, clientClosed: false });
    await expect(anthropic.messages.stream(message, fault('truncate')).finalMessage()).rejects.toThrow();
    // A non-streaming answer is cut inside its JSON body: the SDK fails reading it.
    await expect(openai.chat.completions.create(chat, fault('truncate'))).rejects.toThrow(/terminated|aborted|closed/i);
  });

  it('cut-mid-chunk cuts the connection inside an event, stall holds it open after half the answer', async () => {
    // Proves the two other ways a stream dies can be played: a torn event, and silence until the client gives up.
    const torn = await readAll(await post('/v1/chat/completions', { ...chat, stream: true }, { 'x-mock-fault': 'cut-mid-chunk', 'x-mock-chunks': '4' }));
    expect(torn.cut).toBe(true);
    expect(torn.text.endsWith('\n\n')).toBe(false);
    expect(upstream.requests.at(-1)).toMatchObject({ outcome: 'truncated', chunksSent: 2 });
    const controller = new AbortController();
    const res = await fetch(`${upstream.url}/v1/messages`, { method: 'POST', signal: controller.signal, headers: { 'content-type': 'application/json', 'x-mock-fault': 'stall', 'x-mock-chunks': '4' }, body: JSON.stringify({ ...message, stream: true }) });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('content_block_delta')) text += new TextDecoder().decode((await reader.read()).value);
    await vi.waitFor(() => expect(upstream.requests.at(-1)?.chunksSent).toBe(2));
    expect(upstream.requests.at(-1)?.outcome).toBe('pending');
    controller.abort();
    await vi.waitFor(() => expect(upstream.requests.at(-1)?.outcome).toBe('client_closed'));
  });

  it('garbage answers 200 with a stream or a body that is not the provider format', async () => {
    // Proves a provider speaking nonsense can be played, streamed and not.
    const stream = await readAll(await post('/v1/chat/completions', { ...chat, stream: true }, { 'x-mock-fault': 'garbage' }));
    expect(stream.cut).toBe(false);
    expect(stream.text).toContain('502 Bad Gateway');
    expect(stream.text).not.toContain('[DONE]');
    const body = await post('/v1/responses', { model: 'gpt-4o-mini', input: 'hi' }, { 'x-mock-fault': 'garbage' });
    expect(body.status).toBe(200);
    await expect(body.json()).rejects.toThrow();
  });

  it('huge-chunk sends the whole answer as one content chunk of 20 MB', async () => {
    // Proves the gateway's bound on one stream event can be tested against a real oversized chunk.
    const stream = await readAll(await post('/v1/chat/completions', { ...chat, stream: true }, { 'x-mock-fault': 'huge-chunk' }));
    const deltas = stream.text.split('\n\n').filter((e) => e.includes('"content":" hi'));
    expect(deltas).toHaveLength(1);
    expect(deltas[0]?.length).toBeGreaterThan(limits.hugeChunkBytes);
  });

  it('the usage faults report more than the cap, a negative count or a fraction', async () => {
    // Proves each kind of unbelievable usage reaches the client as the provider would send it.
    const capped = { ...chat, max_tokens: 10 };
    const over = await openai.chat.completions.create(capped, fault('over-usage'));
    expect(over.usage?.completion_tokens).toBe(2 * 10 + limits.overUsageExtraTokens);
    const negative = await anthropic.messages.create(message, fault('negative-usage', { 'x-mock-output-tokens': '5' }));
    expect(negative.usage.output_tokens).toBe(-5);
    const fractional = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi' }, fault('fractional-usage', { 'x-mock-output-tokens': '5' }));
    expect(fractional.usage?.output_tokens).toBe(5.5);
  });

  it('no-usage ends a stream normally but without any usage', async () => {
    // Proves the gateway can be tested against a provider that reports no usage.
    const chatStream = await readAll(await post('/v1/chat/completions', { ...chat, stream: true, stream_options: { include_usage: true } }, { 'x-mock-fault': 'no-usage' }));
    expect(chatStream.text).toContain('data: [DONE]');
    expect(chatStream.text).not.toContain('"prompt_tokens"');
    const messages = await readAll(await post('/v1/messages', { ...message, stream: true }, { 'x-mock-fault': 'no-usage' }));
    expect(messages.text).toContain('event: message_stop');
    expect(messages.text).not.toContain('"usage"');
    const plain = await openai.chat.completions.create(chat, fault('no-usage'));
    expect(plain.usage).toBeUndefined();
  });

  it('slow-stream and latency delay the answer', async () => {
    // Proves the pacing controls wait at least as long as asked (lower bounds only).
    let started = performance.now();
    await readAll(await post('/v1/chat/completions', { ...chat, stream: true }, { 'x-mock-fault': 'slow-stream', 'x-mock-chunks': '4' }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(4 * 50 - 10);
    started = performance.now();
    await openai.chat.completions.create(chat, { headers: { 'x-mock-latency-ms': '100' } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });
});

describe('client behaviour', () => {
  it('notices a client that leaves mid-stream and stops streaming', async () => {
    // Proves a disconnect is detected, logged, and no further chunks are generated.
    const stream = await openai.chat.completions.create({ ...chat, stream: true }, { headers: { 'x-mock-chunks': '20', 'x-mock-chunk-delay-ms': '30' } });
    let seen = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) seen += 1;
      if (seen === 2) break; // breaking aborts the HTTP request
    }
    const entry = upstream.requests.at(-1);
    await vi.waitFor(() => expect(entry?.outcome).toBe('client_closed'));
    expect(entry?.clientClosed).toBe(true);
    expect(entry?.chunksSent).toBeLessThan(20);
    await vi.waitFor(() => expect(upstream.inflight()).toBe(0));
  });

  it('timeout never answers; the client gives up and the mock logs it', async () => {
    // Proves the hang fault works with client timeouts and leaves nothing running.
    const impatient = new OpenAI({ apiKey: 'sk-upstream', baseURL: `${upstream.url}/v1`, maxRetries: 0, timeout: 200 });
    await expect(impatient.chat.completions.create(chat, fault('timeout'))).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    const entry = upstream.requests.at(-1);
    await vi.waitFor(() => expect(entry).toMatchObject({ outcome: 'client_closed', fault: 'timeout', status: undefined }));
  });

  it('serves many concurrent streams and returns to idle', async () => {
    // Proves concurrent streams do not interfere (a small cousin of the 1,000-stream benchmark).
    const results = await Promise.all(
      Array.from({ length: 200 }, () => post('/v1/chat/completions', { ...chat, stream: true }, { 'x-mock-chunk-delay-ms': '5' }).then(readAll)),
    );
    expect(results.every((r) => !r.cut && r.text.endsWith('data: [DONE]\n\n'))).toBe(true);
    await vi.waitFor(() => expect(upstream.inflight()).toBe(0));
  });

  it('keeps no request log when requestLogMax is 0, and still answers and counts in-flight calls', async () => {
    // Proves the standalone mock (which nobody can read the log of) keeps nothing per request.
    const own = await startMockUpstream({ port: 0, requestLogMax: 0 });
    const res = await fetch(`${own.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chat) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBeGreaterThan(0);
    expect(own.requests).toHaveLength(0);
    await vi.waitFor(() => expect(own.inflight()).toBe(0));
    await own.close();
  });

  it('close() ends hung requests and stops listening', async () => {
    // Proves a test can always shut the mock down, even with a timeout fault in flight.
    const own = await startMockUpstream({ port: 0, fault: 'timeout', requestLogMax: 2 });
    const hung = fetch(`${own.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chat) }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(own.inflight()).toBe(1));
    await own.close();
    expect(await hung).toBeInstanceOf(Error);
    expect(own.requests).toHaveLength(1);
    await expect(fetch(`${own.url}/v1/models`)).rejects.toThrow();
  });
});
