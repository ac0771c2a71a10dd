import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../store/index.js';
import { answering } from './respond.js';
import type { Provider } from './errors.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A real HTTP server whose one handler runs `work` through `answering`; returns its URL and the log. */
async function serve(provider: Provider, work: (res: import('node:http').ServerResponse) => Promise<void>): Promise<{ url: string; logged: unknown[] }> {
  const logged: unknown[] = [];
  server = createServer((_req, res) => {
    answering(res, provider, () => work(res), { log: (e) => logged.push(e) }).catch((error: unknown) => logged.push(error));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, logged };
}

describe('answering', () => {
  it('turns an unreachable store into 503 store_unavailable in the provider\'s shape, without logging it', async () => {
    // Proves the store-down path of every hijacked gateway route: a refusal the SDKs understand, not a hang.
    const { url, logged } = await serve('anthropic', async () => {
      throw new StoreUnavailableError('the store is closed');
    });
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    expect([res.status, res.headers.get('x-bursar-code')]).toEqual([503, 'store_unavailable']);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error', code: 'store_unavailable' } });
    expect(logged).toEqual([]);
  });

  it('turns any other error into a logged 500 internal', async () => {
    // Proves a bug answers the client (OpenAI shape) and leaves its cause in the log, never in the answer.
    const boom = new Error('secret detail');
    const { url, logged } = await serve('openai', async () => {
      throw boom;
    });
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('internal');
    expect(body.error.message).not.toContain('secret detail');
    expect(logged).toEqual([boom]);
  });

  it('closes a response that had already begun when the error came', async () => {
    // Proves a stream that breaks on the server side ends for the client instead of hanging open.
    const { url, logged } = await serve('openai', async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {}\n\n');
      throw new Error('broke mid-stream');
    });
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(logged).toHaveLength(1);
  });
});
