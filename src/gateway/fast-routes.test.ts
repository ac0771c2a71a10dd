import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFastRoutes, type RawRoute } from './fast-routes.js';

const seen: string[] = [];
const route: RawRoute = async (headers, body, res) => {
  seen.push(`route ${body.toString()}`);
  res.end(`route:${String(headers['x-n'] ?? '')}`);
};
const server = serveFastRoutes(
  new Map([['/v1/chat/completions', route]]),
  (req, res) => {
    seen.push(`framework ${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    req.on('end', () => res.end('framework'));
  },
  { bodyBytesMax: 64, timeouts: { keepAliveTimeout: 5_000, requestTimeout: 0, connectionTimeout: 0 } },
);
let port = 0;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function send(o: { method?: string; path?: string; headers?: Record<string, string>; body?: string; chunked?: boolean }): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', ...o.headers };
    const req = request({ port, host: '127.0.0.1', method: o.method ?? 'POST', path: o.path ?? '/v1/chat/completions', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    if (o.body !== undefined && o.chunked) req.write(o.body);
    req.end(o.chunked ? undefined : o.body);
  });
}

describe('the provider routes in front of the framework', () => {
  it('hands a plain JSON call of declared length to its route, with its headers and whole body', async () => {
    // Proves the direct path: the route gets the exact bytes sent; the framework never sees the call.
    seen.length = 0;
    expect(await send({ body: '{"a":1}', headers: { 'x-n': '7', 'content-type': 'application/json; charset=utf-8' } })).toBe('route:7');
    expect(seen).toEqual(['route {"a":1}']);
  });

  it('leaves every other request to the framework: other paths and methods, query strings, other types, chunked, empty or oversized bodies', async () => {
    // Proves the direct path takes only what the framework would answer the same way; the rest keeps the framework's answers (404, 413, 415, …).
    seen.length = 0;
    await send({ path: '/v1/chat/completions?x=1', body: '{}' });
    await send({ path: '/api/budgets', body: '{}' });
    await send({ method: 'GET', path: '/v1/chat/completions' });
    await send({ body: '{}', headers: { 'content-type': 'text/plain' } });
    await send({ body: '{"chunked":true}', chunked: true });
    await send({ body: '', headers: { 'content-length': '0' } });
    await send({ body: `{"big":"${'x'.repeat(100)}"}` });
    expect(seen).toEqual([
      'framework POST /v1/chat/completions?x=1',
      'framework POST /api/budgets',
      'framework GET /v1/chat/completions',
      'framework POST /v1/chat/completions',
      'framework POST /v1/chat/completions',
      'framework POST /v1/chat/completions',
      'framework POST /v1/chat/completions',
    ]);
  });
});
