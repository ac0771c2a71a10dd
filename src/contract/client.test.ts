import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RouteClient, TransportError } from './client.js';
import { routeSpec, urlOf } from './route.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A real server answering every request with `status` and `body`; returns its URL and what it was asked. */
async function answering(status: number, body: string): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${String(req.headers['idempotency-key'] ?? '')}`);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`, seen };
}

const spec = routeSpec({ method: 'POST', path: '/x/{id}/settle', operationId: 'x', summary: 'x', tag: 'x', access: 'token', response: { status: 200, description: 'x', schema: z.object({ n: z.int() }) } });
const client = (url: string) => new RouteClient({ url, headers: { authorization: 'Bearer t' }, requestMsMax: 5_000, responseBytesMax: 1_000, attemptsMax: 2 });

describe('RouteClient', () => {
  it('calls a route by its declaration and returns its declared value', async () => {
    // Proves the remote doors build the URL (encoded parameters, query) and check the answer with the server's own schema.
    const s = await answering(200, '{"n":3}');
    const answer = await client(s.url).call(spec, { params: { id: 'a/b' }, query: { q: 1, skip: undefined }, body: {}, headers: { 'idempotency-key': 'k1' } });
    expect(answer).toEqual({ ok: true, status: 200, value: { n: 3 } });
    expect(s.seen).toEqual(['POST /x/a%2Fb/settle?q=1 k1']);
    expect(urlOf(spec, { id: 'rsv_1' })).toBe('/x/rsv_1/settle');
  });

  it('reads a refusal in any error shape', async () => {
    // Proves a refusal is an answer with its code, whether the server spoke Bursar's shape or OpenAI's.
    const bursar = await answering(404, '{"error":{"code":"unknown_budget","message":"no budget at x","field":"path"}}');
    expect(await client(bursar.url).call(spec, { params: { id: '1' } })).toEqual({ ok: false, status: 404, failure: { status: 404, code: 'unknown_budget', message: 'no budget at x', field: 'path' } });
    server?.close();
    const openai = await answering(403, '{"error":{"message":"m","type":"permission_error","param":"max_spend_micros","code":"policy_widens","budget":"acme","remaining_micros":5}}');
    expect(await client(openai.url).call(spec, { params: { id: '1' } })).toMatchObject({ ok: false, failure: { code: 'policy_widens', field: 'max_spend_micros', budget: 'acme', remainingMicros: 5 } });
  });

  it('throws TransportError for what is no Bursar answer, and for a server it cannot reach after its tries', async () => {
    // Proves the two failures that are not results: a foreign answer (bad_response) and silence (server_unreachable).
    const html = await answering(200, '<html>');
    await expect(client(html.url).call(spec, { params: { id: '1' } })).rejects.toMatchObject({ name: 'TransportError', code: 'bad_response' });
    server?.close();
    const wrong = await answering(200, '{"n":"three"}');
    await expect(client(wrong.url).call(spec, { params: { id: '1' } })).rejects.toMatchObject({ code: 'bad_response' });
    server?.close();
    const foreign = await answering(502, '{"oops":true}');
    await expect(client(foreign.url).call(spec, { params: { id: '1' } })).rejects.toMatchObject({ code: 'bad_response' });
    const down = client('http://127.0.0.1:1').call(spec, { params: { id: '1' } });
    await expect(down).rejects.toBeInstanceOf(TransportError);
    await expect(down).rejects.toMatchObject({ code: 'server_unreachable', message: expect.stringContaining('after 2 tries') as unknown });
  });
});
