import { connect } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, usd, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ agentPolicy: { inflightMax: 1_000, models: ['gpt-4o*', 'gpt-5.6-luna', 'claude-haiku-4-5', 'text-embedding-3-small', 'o3'] } });
});

afterAll(async () => {
  expect((await h.server.store.audit()).problems).toEqual([]);
  await h.close();
});

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 10 };

async function reserves(): Promise<number> {
  return (await h.entries(['reserve'])).length;
}

/** Calls `fn`, expecting the SDK to throw an APIError; returns it. */
async function apiError<T>(fn: () => Promise<T>): Promise<InstanceType<typeof OpenAI.APIError> & { error?: Record<string, unknown> }> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof OpenAI.APIError || error instanceof Anthropic.APIError) return error as never;
    throw error;
  }
  throw new Error('expected an API error');
}

describe('refusals arrive as the SDKs’ typed errors', () => {
  it('budget_exceeded is a 402 naming the budget and what remains', async () => {
    // Proves the headline refusal: before forwarding, in the OpenAI error shape with the stable code.
    const poor = await h.mint({ limitMicros: 3 });
    const client = new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: poor.secret, maxRetries: 0 });
    const before = h.server.mock?.requests.length;
    const e = await apiError(() => client.chat.completions.create(chat));
    expect(e.status).toBe(402);
    expect(e.code).toBe('budget_exceeded');
    expect(e.error).toMatchObject({ budget: poor.envelope, remaining_micros: 3 });
    expect(e.headers?.get('x-bursar-remaining-micros')).toBe('3');
    expect(h.server.mock?.requests.length).toBe(before);
  });

  it('the same refusal reaches the Anthropic SDK in its own shape', async () => {
    // Proves Anthropic-shaped errors carry the same code.
    const poor = await h.mint({ limitMicros: 10 });
    const client = new Anthropic({ baseURL: h.server.url, apiKey: poor.secret, maxRetries: 0 });
    const e = await apiError(() => client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(e.status).toBe(402);
    expect((e.error as { type: string; error: { type: string; code: string } }).error).toMatchObject({ type: 'billing_error', code: 'budget_exceeded' });
  });

  it('token problems are 401s: garbage, unknown, revoked, expired', async () => {
    // Proves every bad credential is refused before anything is reserved.
    const before = await reserves();
    for (const apiKey of ['garbage', 'bsr_' + 'x'.repeat(30), 'sk-openai-key']) {
      const client = new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey, maxRetries: 0 });
      const e = await apiError(() => client.chat.completions.create(chat));
      expect([e.status, e.code]).toEqual([401, 'token_invalid']);
      expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    }
    const revoked = await h.mint();
    await h.server.store.revokeToken({ tokenId: revoked.id });
    const r = await apiError(() => new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: revoked.secret, maxRetries: 0 }).chat.completions.create(chat));
    expect(r.code).toBe('token_revoked');
    const expired = await h.mint({ expiresMs: h.server.store.now() + 50 });
    h.clock.advance(80);
    const x = await apiError(() => new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: expired.secret, maxRetries: 0 }).chat.completions.create(chat));
    expect(x.code).toBe('token_expired');
    expect(await reserves()).toBe(before);
  });

  it('model_not_allowed (403), model_unpriced (403), request_cost_cap (402), too_many_inflight (429)', async () => {
    // Proves policy refusals map to their statuses and SDK error classes.
    const notAllowed = await apiError(() => h.openai.chat.completions.create({ ...chat, model: 'gpt-5.6-sol' }));
    expect([notAllowed.status, notAllowed.code]).toEqual([403, 'model_not_allowed']);
    expect(notAllowed).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const unpriced = await apiError(() => h.openai.chat.completions.create({ ...chat, model: 'my-own-model' }));
    expect([unpriced.status, unpriced.code]).toEqual([403, 'model_unpriced']);
    const capped = await h.mint({ limitMicros: usd(1) });
    await h.server.store.updateBudget({ path: capped.envelope, policy: { requestCapMicros: 5 } });
    const cap = await apiError(() => new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: capped.secret, maxRetries: 0 }).chat.completions.create(chat));
    expect([cap.status, cap.code]).toEqual([402, 'request_cost_cap']);
    const single = await h.mint({ inflightMax: 1 });
    const client = new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: single.secret, maxRetries: 0 });
    const slow = client.chat.completions.create(chat, { headers: { 'x-mock-latency-ms': '1000' } });
    // Wait until the slow call holds its reservation, however busy the machine is.
    for (let i = 0; i < 200 && !((await h.server.store.getBudget(single.envelope))?.reservedMicros ?? 0); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    const busy = await apiError(() => client.chat.completions.create(chat));
    expect([busy.status, busy.code]).toEqual([429, 'too_many_inflight']);
    expect(busy).toBeInstanceOf(OpenAI.RateLimitError);
    await slow;
  });

  it('a paused budget refuses with budget_paused naming it', async () => {
    // Proves pausing the agent stops its tokens at once.
    await h.server.store.setStatus({ path: 'acme/research/bot', status: 'paused' });
    const e = await apiError(() => h.openai.chat.completions.create(chat));
    expect([e.status, e.code]).toEqual([403, 'budget_paused']);
    expect(e.error?.budget).toBe('acme/research/bot');
    await h.server.store.setStatus({ path: 'acme/research/bot', status: 'active' });
  });
});

describe('bad input is a clear 4xx and reserves nothing', () => {
  async function post(path: string, body: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${h.server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${h.secret}`, 'content-type': 'application/json', ...headers }, body });
    return { status: response.status, body: (await response.json()) as { error?: { code?: string; message?: string; type?: string; param?: string | null } } };
  }

  it.each([
    ['malformed JSON', '/v1/chat/completions', '{"model": "gpt-4o-mini",', {}, 400, 'bad_request'],
    ['not an object', '/v1/chat/completions', '[1,2,3]', {}, 400, 'bad_request'],
    ['missing model', '/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), {}, 400, 'bad_request'],
    ['missing messages', '/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini' }), {}, 400, 'bad_request'],
    ['absurd max_tokens', '/v1/chat/completions', JSON.stringify({ ...chat, max_tokens: 1e12 }), {}, 400, 'bad_request'],
    ['negative max_tokens', '/v1/chat/completions', JSON.stringify({ ...chat, max_tokens: -5 }), {}, 400, 'bad_request'],
    ['max_tokens over the model maximum', '/v1/chat/completions', JSON.stringify({ ...chat, max_tokens: 900_000 }), {}, 400, 'bad_request'],
    ['stream not a boolean', '/v1/chat/completions', JSON.stringify({ ...chat, stream: 'yes' }), {}, 400, 'bad_request'],
    ['wrong content type', '/v1/chat/completions', JSON.stringify(chat), { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    ['embedding model on chat', '/v1/chat/completions', JSON.stringify({ ...chat, model: 'text-embedding-3-small' }), {}, 400, 'bad_request'],
    ['claude on the OpenAI route', '/v1/chat/completions', JSON.stringify({ ...chat, model: 'claude-haiku-4-5' }), {}, 400, 'bad_request'],
    ['bad session header', '/v1/chat/completions', JSON.stringify(chat), { 'x-bursar-session': 'é'.repeat(5) }, 400, 'bad_request'],
    ['unknown route', '/v1/nothing', '{}', {}, 404, 'not_found'],
  ])('%s', async (_name, path, body, headers, status, code) => {
    // Proves each malformed request is refused with its status and code and no reservation.
    const before = await reserves();
    const r = await post(path, body, headers);
    expect(r.status).toBe(status);
    expect(r.body.error?.code).toBe(code);
    expect(r.body.error?.message?.length).toBeGreaterThan(5);
    expect(await reserves()).toBe(before);
  });

  it('a body over the size limit is a 413', async () => {
    // Proves the body bound: refused before parsing, nothing reserved.
    const before = await reserves();
    const r = await post('/v1/chat/completions', JSON.stringify({ ...chat, messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] }));
    expect([r.status, r.body.error?.code]).toEqual([413, 'payload_too_large']);
    expect(await reserves()).toBe(before);
  });

  it('Anthropic-route errors come in the Anthropic shape', async () => {
    // Proves the error shape follows the route.
    const r = await post('/v1/messages', '{nope');
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', code: 'bad_request' } });
  });

  it('CR/LF smuggled into a header gets a JSON 400, and the server keeps serving', async () => {
    // Proves malformed HTTP never crashes the server or reaches the ledger.
    const before = await reserves();
    const url = new URL(h.server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-bursar-session: a\rinjected: 1\r\nContent-Length: 2\r\n\r\n{}`);
      });
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(answer).toContain('"code":"bad_request"');
    expect(await reserves()).toBe(before);
    expect((await fetch(`${h.server.url}/v1/bursar/balance`, { headers: { authorization: `Bearer ${h.secret}` } })).status).toBe(200);
  });
});
