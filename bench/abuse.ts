/**
 * Abuse at full size, and the latency of a normal call through it. First a baseline: normal
 * chat calls one after another. Then, for `--seconds`, all at once: `--idle` connections
 * trickling request heads byte by byte (each one the server closes at its header timeout is
 * replaced), `--subscribers` event-stream subscribers (more than the server takes), and
 * `--workers` loops each sending a body nested 100,000 levels deep, a 40 MB body (declared and
 * chunked, to the gateway and the admin API) and a 10,000-message call, over and over; normal
 * calls keep going one after another. Prints JSON lines: the normal call's latency before and
 * during the abuse, what each abuse was answered, the trickling connections the server closed,
 * the server's peak RSS (the kernel's high-water mark) and descriptors, and whether it audits.
 * Asserts nothing; exits 1 if the server died or a normal call failed.
 *
 *   npm run bench:abuse
 *   npm run bench:abuse -- --seconds 60 --idle 5000 --subscribers 1000
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { deepJson, flood, longConversation, subscribe, trickle, type Subscriber } from '../test/support/abusers.js';
import { startBenchServer, type BenchServer } from './child-server.js';
import { percentile, positive } from './common.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, idle: { type: 'string', default: '2000' }, subscribers: { type: 'string', default: '500' }, workers: { type: 'string', default: '2' } } });
const seconds = positive('seconds', values.seconds);
const idle = Math.ceil(positive('idle', values.idle));
const subscribers = Math.ceil(positive('subscribers', values.subscribers));
const workers = Math.ceil(positive('workers', values.workers));
const hugeBytes = 40 * 1024 * 1024;

const normalBody = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello in five words.' }] });

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const ms = (x: number) => Math.round(x * 100) / 100;

/** Normal calls one after another until `untilMs`: their latencies, and how many failed. */
async function normalCalls(pool: Pool, server: BenchServer, untilMs: number, count = Infinity): Promise<{ latenciesMs: number[]; errors: number }> {
  const latenciesMs: number[] = [];
  let errors = 0;
  while (performance.now() < untilMs && latenciesMs.length + errors < count) {
    const t0 = performance.now();
    try {
      const res = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` }, body: normalBody });
      await res.body.text();
      if (res.statusCode === 200) latenciesMs.push(performance.now() - t0);
      else errors += 1;
    } catch {
      errors += 1;
    }
  }
  return { latenciesMs: latenciesMs.sort((a, b) => a - b), errors };
}

function summary(latenciesMs: number[]): Record<string, number> {
  return { calls: latenciesMs.length, p50_ms: ms(percentile(latenciesMs, 50)), p99_ms: ms(percentile(latenciesMs, 99)), max_ms: ms(latenciesMs.at(-1) ?? 0) };
}

async function post(server: BenchServer, path: string, headers: Record<string, string>, body: string): Promise<string> {
  try {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    await res.arrayBuffer();
    return `${res.status} ${res.headers.get('x-bursar-code') ?? 'ok'}`;
  } catch {
    return 'connection failed';
  }
}

/** One abuser loop: every kind of abusive body in turn until `untilMs`, tallying the answers. */
async function abuseBodies(server: BenchServer, untilMs: number, tally: Map<string, number>): Promise<void> {
  const token = { authorization: `Bearer ${server.token}` };
  const admin = { authorization: `Bearer ${server.adminKey}` };
  const deep = deepJson(100_000);
  const conversation = longConversation(10_000);
  const count = (kind: string, answer: string) => tally.set(`${kind}: ${answer}`, (tally.get(`${kind}: ${answer}`) ?? 0) + 1);
  while (performance.now() < untilMs) {
    count('100k-deep chat', await post(server, '/v1/chat/completions', token, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":${deep}}]}`));
    count('100k-deep plan', await post(server, '/api/preflight', admin, `{"items":${deep}}`));
    const declared = await flood(`${server.url}/v1/chat/completions`, token, hugeBytes, true);
    count('40 MB declared, gateway', `${declared.status} ${declared.code ?? ''}`);
    const chunked = await flood(`${server.url}/api/budgets`, admin, hugeBytes, false);
    count('40 MB chunked, admin', `${chunked.status} ${chunked.code ?? ''}`);
    count('10k messages', await post(server, '/v1/chat/completions', token, conversation));
  }
}

const server = await startBenchServer();
const pool = new Pool(server.url, { connections: 1 });
await normalCalls(pool, server, performance.now() + 2_000); // warm-up
print({ bench: 'abuse', phase: 'baseline', ...summary((await normalCalls(pool, server, Infinity, 200)).latenciesMs), rss_mb: server.rssMb(), fds: server.fds() });

const untilMs = performance.now() + seconds * 1_000;
const slow = await trickle(Number(new URL(server.url).port), idle, { byteEveryMs: 1_000, reopen: true });
const subs: Subscriber[] = await Promise.all(Array.from({ length: subscribers }, () => subscribe(server.url, server.adminKey).catch(() => ({ status: 0, code: 'connection failed' }) as Subscriber)));
const tally = new Map<string, number>();
let fdsPeak = 0;
const sampler = setInterval(() => (fdsPeak = Math.max(fdsPeak, server.fds())), 250);
const [during] = await Promise.all([normalCalls(pool, server, untilMs), ...Array.from({ length: workers }, () => abuseBodies(server, untilMs, tally))]);
clearInterval(sampler);
slow.stop();
for (const s of subs) s.res?.destroy();
await pool.close();

print({ bench: 'abuse', phase: 'under abuse', seconds, ...summary(during.latenciesMs), errors: during.errors });
print({ bench: 'abuse', trickling_connections: idle, closed_by_server: slow.closed(), first_answer: slow.answer().split('\r\n')[0] ?? '' });
print({ bench: 'abuse', subscribers, accepted: subs.filter((s) => s.status === 200).length, refused: Object.fromEntries([...new Set(subs.filter((s) => s.status !== 200).map((s) => `${s.status} ${s.code ?? ''}`))].map((k) => [k, subs.filter((s) => `${s.status} ${s.code ?? ''}` === k).length])) });
print({ bench: 'abuse', bodies: Object.fromEntries([...tally].sort()) });
const alive = server.child.exitCode === null && server.child.signalCode === null;
print({ bench: 'abuse', server_alive: alive, peak_rss_mb: server.peakRssMb(), rss_mb: alive ? server.rssMb() : null, fds_peak: fdsPeak });
const stopped = await server.stop();
print({ bench: 'abuse', audit_problems: stopped.auditProblems ?? 'unknown', server_exit: stopped.code });
process.exit(alive && during.errors === 0 ? 0 : 1);
