/**
 * Reference target for bench/gateway.ts: the least a Node gateway can do, on the same machine and
 * the same upstream: node:http receives the request, undici forwards it over a keep-alive pool,
 * the answer is written back. No auth, no counting, no ledger. What it adds over `direct` is
 * the cost of one more process and two more hops on this machine, which every proxy pays.
 * Usage: node bench/forwarder.mjs <upstream base URL>; prints `{"url"}` once listening.
 */
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const upstream = process.argv[2];
const agent = new Agent({ connections: 1024, keepAliveTimeout: 30_000 });
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    request(`${upstream}${req.url.replace(/^\/v1/, '')}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' }, body: Buffer.concat(chunks), dispatcher: agent })
      .then(async (answer) => {
        const text = await answer.body.text();
        res.writeHead(answer.statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      })
      .catch(() => res.writeHead(502).end());
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`));
