import { expect } from 'vitest';

/**
 * Every route a spend token calls, for the tests that take the store away under a running
 * server: each must answer 503 `store_unavailable` in its provider's error shape, and answer
 * at all (a request that hangs fails on the client's own deadline, never on a measured time).
 */

export interface TokenRoute {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  shape: 'openai' | 'anthropic';
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 };

/** The proxied provider routes, streamed and not, `/v1/models` in both shapes, and the agent routes. */
export const tokenRoutes: readonly TokenRoute[] = [
  { method: 'POST', path: '/v1/chat/completions', body: chat, shape: 'openai' },
  { method: 'POST', path: '/v1/chat/completions', body: { ...chat, stream: true }, shape: 'openai' },
  { method: 'POST', path: '/v1/responses', body: { model: 'gpt-4o-mini', input: 'hi', max_output_tokens: 16 }, shape: 'openai' },
  { method: 'POST', path: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: 'hi' }, shape: 'openai' },
  { method: 'POST', path: '/v1/messages', body: { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, headers: { 'anthropic-version': '2023-06-01' }, shape: 'anthropic' },
  { method: 'POST', path: '/v1/messages', body: { model: 'claude-haiku-4-5', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] }, shape: 'anthropic' },
  { method: 'GET', path: '/v1/models', shape: 'openai' },
  { method: 'GET', path: '/v1/models', headers: { 'anthropic-version': '2023-06-01' }, shape: 'anthropic' },
  { method: 'GET', path: '/v1/bursar/balance', shape: 'openai' },
  { method: 'POST', path: '/v1/bursar/reservations', body: { tool: 'Bash' }, shape: 'openai' },
  { method: 'POST', path: '/v1/bursar/reservations/rsv_1/settle', body: { actual_micros: 1 }, shape: 'openai' },
  { method: 'POST', path: '/v1/bursar/reservations/rsv_1/void', shape: 'openai' },
  { method: 'POST', path: '/v1/bursar/tokens', body: { max_spend_micros: 1_000 }, shape: 'openai' },
  { method: 'POST', path: '/v1/bursar/tokens/tok_ABCDEFGHIJ/revoke', shape: 'openai' },
];

/** How long a client waits before it calls an answer missing: far above any prompt refusal. */
const clientDeadlineMs = 15_000;

/** Calls one route with the token; a request that is never answered rejects at the client's deadline. */
async function callRoute(url: string, secret: string, r: TokenRoute): Promise<{ status: number; code: string | null; body: unknown }> {
  const headers: Record<string, string> = { authorization: `Bearer ${secret}`, ...r.headers };
  if (r.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url + r.path, { method: r.method, headers, body: r.body === undefined ? undefined : JSON.stringify(r.body), signal: AbortSignal.timeout(clientDeadlineMs) });
  const text = await res.text();
  return { status: res.status, code: res.headers.get('x-bursar-code'), body: JSON.parse(text) as unknown };
}

/**
 * Asserts that every token route answers 503 store_unavailable in its provider's shape.
 *
 * @example
 * await server.store.close();
 * await expectStoreUnavailableEverywhere(server.url, secret);
 */
export async function expectStoreUnavailableEverywhere(url: string, secret: string): Promise<void> {
  for (const r of tokenRoutes) {
    const where = `${r.method} ${r.path}${JSON.stringify(r.body ?? {}).includes('"stream":true') ? ' (stream)' : ''}`;
    const answer = await callRoute(url, secret, r);
    expect({ where, status: answer.status, code: answer.code }).toEqual({ where, status: 503, code: 'store_unavailable' });
    if (r.shape === 'anthropic') {
      expect(answer.body, where).toMatchObject({ type: 'error', error: { type: 'overloaded_error', code: 'store_unavailable' } });
    } else {
      expect(answer.body, where).toMatchObject({ error: { type: 'api_error', code: 'store_unavailable' } });
    }
    expect(typeof (answer.body as { error: { message: unknown } }).error.message, where).toBe('string');
  }
}
