/**
 * Reference target for bench/gateway.ts: the least a Node gateway can do, on the same machine and
 * the same upstream: node:http receives the request, undici forwards it over a keep-alive pool,
 * the answer is relayed back as it arrives (so a streamed answer streams). No auth, no counting,
 * no ledger. What it adds over `direct` is the cost of one more process and two more hops on this
 * machine, which every proxy pays.
 * Usage: node bench/forwarder.mjs <upstream base URL>; prints `{"url"}` once listening.
 */
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const upstream = process.argv[2];
const agent = new Agent({ connections: 1024, keepAliveTimeout: 30_000 });
const passed = ['x-mock-chunks', 'x-mock-output-tokens', 'x-mock-chunk-delay-ms'];
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const headers = { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' };
    for (const name of passed) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
    request(`${upstream}${req.url.replace(/^\/v1/, '')}`, { method: 'POST', headers, body: Buffer.concat(chunks), dispatcher: agent })
      .then(async (answer) => {
        const out = { 'content-type': answer.headers['content-type'] ?? 'application/json' };
        if (answer.headers['content-length'] !== undefined) out['content-length'] = answer.headers['content-length'];
        res.writeHead(answer.statusCode, out);
        for await (const chunk of answer.body) res.write(chunk);
        res.end();
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`));
