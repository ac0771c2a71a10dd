import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/**
 * Clients given the wrong base URL (the server's bare URL where `/v1` belongs, or `/v1` where
 * the SDK adds it itself) get a 404 in their provider's shape saying which URL to give.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 10 };

/** Calls `fn`, expecting the SDK to throw an APIError; returns it. */
async function apiError(fn: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError> | InstanceType<typeof Anthropic.APIError>> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof OpenAI.APIError || error instanceof Anthropic.APIError) return error;
    throw error;
  }
  throw new Error('expected an API error');
}

describe('a base URL without /v1', () => {
  it('gets the OpenAI SDK a 404 for each OpenAI route that says the route is under /v1/ and which base URL to give', async () => {
    // Proves `new OpenAI({ baseURL: 'http://host:port' })` fails with a message that fixes itself.
    const bare = new OpenAI({ baseURL: h.server.url, apiKey: h.secret, maxRetries: 0 });
    const host = new URL(h.server.url).host;
    const calls: [string, () => Promise<unknown>][] = [
      ['POST /chat/completions', () => bare.chat.completions.create(chat)],
      ['POST /responses', () => bare.responses.create({ model: 'gpt-4o-mini', input: 'hi', max_output_tokens: 16 })],
      ['POST /embeddings', () => bare.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' })],
      ['GET /models', () => bare.models.list()],
    ];
    for (const [route, call] of calls) {
      const e = await apiError(call);
      expect(e.status, route).toBe(404);
      if (!(e instanceof OpenAI.NotFoundError)) throw new Error(`${route}: expected OpenAI's NotFoundError`);
      expect(e.code, route).toBe('not_found');
      const [method, path] = route.split(' ');
      expect(e.message, route).toContain(`the gateway's routes are under /v1/, so call ${method} /v1${path}`);
      expect(e.message, route).toContain(`base URL http://${host}/v1`);
    }
    expect(await h.entries(['reserve'])).toEqual([]);
  });

  it('answers POST /messages (what @ai-sdk/anthropic sends given the bare URL) in the Anthropic error shape', async () => {
    // Proves the Anthropic-shaped clients get their own error type, naming the base URL they need.
    const res = await fetch(`${h.server.url}/messages`, {
      method: 'POST',
      headers: { 'x-api-key': h.secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-bursar-code')).toBe('not_found');
    const body = (await res.json()) as { type: string; error: { type: string; code: string; message: string } };
    expect(body).toMatchObject({ type: 'error', error: { type: 'not_found_error', code: 'not_found' } });
    expect(body.error.message).toContain('so call POST /v1/messages');
    expect(body.error.message).toContain(`(@ai-sdk/anthropic) the base URL ${h.server.url}/v1`);
    expect(body.error.message).toContain(`@anthropic-ai/sdk takes ${h.server.url} `);
  });

  it('tells the official Anthropic SDK given a base URL ending in /v1 to drop it', async () => {
    // Proves the opposite mistake (the SDK adds /v1 itself, so it calls /v1/v1/messages) is explained too.
    const doubled = new Anthropic({ baseURL: `${h.server.url}/v1`, apiKey: h.secret, maxRetries: 0 });
    const e = await apiError(() => doubled.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect(e.message).toContain(`give it the base URL ${h.server.url} (without /v1)`);
  });

  it('keeps a plain 404 for paths that are not gateway routes under another prefix', async () => {
    // Proves the hint is given only where it is true.
    const res = await fetch(`${h.server.url}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('no route POST /completions');
    const wrongMethod = await fetch(`${h.server.url}/models`, { method: 'DELETE' });
    expect(((await wrongMethod.json()) as { error: { message: string } }).error.message).toBe('no route DELETE /models');
  });
});
