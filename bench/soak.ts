/**
 * Soak: a server under steady load for many minutes, watched for anything that grows. It first
 * measures the most calls per second the server answers (closed loop, `--connections` at once,
 * `--measure-seconds`), then sends half that rate, open loop, for `--minutes`: a mix of chat
 * calls, chat streams and Anthropic messages through the gateway. Every `--sample-seconds` it
 * reads the server's resident memory and its open file descriptors (/proc/<pid>/fd) and takes
 * the p99 latency of that window; each minute it prints one JSON line (calls, errors by status, p50, p99,
 * RSS, descriptors). At the end a verdict. For memory and p99, the mean of the last third of the
 * samples against the first third (the first minute left out as warm-up when the run has three
 * or more); a rise of more than 10% and more than a floor (16 MB, 5 ms) counts as trending
 * upward. Descriptors under load are mostly sockets that come and go with the calls in flight
 * (they swing by a hundred from one sample to the next), so they are judged at rest instead: the
 * count once the load's connections are closed and the server's idle ones have timed out, after
 * the warm-up and again after the soak; more than 16 left over counts as descriptors left open.
 * Exits 1 when anything trends upward or is left open, or when the ledger does not audit.
 *
 *   npm run bench:soak -- --minutes 10
 *   npm run bench:soak -- --minutes 1 --measure-seconds 5
 *
 * The server runs from the sources under tsx (bench/serve-child.ts) with the executable's V8
 * flags, and the mock provider in a process of its own; this one only makes the load.
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startBenchServer, type BenchServer } from './child-server.js';
import { percentile, positive } from './common.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, 'measure-seconds': { type: 'string', default: '10' }, connections: { type: 'string', default: '64' }, 'sample-seconds': { type: 'string', default: '10' } } });
const minutes = positive('minutes', values.minutes);
const measureS = positive('measure-seconds', values['measure-seconds']);
const connections = Math.ceil(positive('connections', values.connections));
const sampleS = positive('sample-seconds', values['sample-seconds']);
/** Calls in flight past which the open loop skips a call (and counts it) rather than pile up. */
const inflightMax = 4_096;

const chat = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello in five words.' }] });
const chatStream = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'Stream hello in five words.' }] });
const message = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Say hello in five words.' }] });

/** One call of the mix (7 in 10 chat, 1.5 a chat stream, 1.5 a message); resolves with its latency in ms, or minus its status (-1: no answer). */
async function oneCall(pool: Pool, server: BenchServer, n: number): Promise<number> {
  const kind = n % 20;
  const [path, body, auth] = kind < 14 ? ['/v1/chat/completions', chat, { authorization: `Bearer ${server.token}` }] : kind < 17 ? ['/v1/chat/completions', chatStream, { authorization: `Bearer ${server.token}` }] : ['/v1/messages', message, { 'x-api-key': server.token }];
  const t0 = performance.now();
  try {
    const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json', ...auth }, body });
    await res.body.text();
    return res.statusCode === 200 ? performance.now() - t0 : -res.statusCode;
  } catch {
    return -1;
  }
}

/** The most calls per second the server answers with `connections` in flight. */
async function measureMax(pool: Pool, server: BenchServer): Promise<number> {
  const until = performance.now() + measureS * 1_000;
  let done = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) if ((await oneCall(pool, server, n++)) >= 0) done += 1;
    }),
  );
  return done / measureS;
}

interface Window {
  latenciesMs: number[];
  errors: number;
  /** Non-200 answers by status (`none`: the call got no answer). */
  statuses: Record<string, number>;
  skipped: number;
}

interface Sample {
  minute: number;
  rssMb: number;
  fds: number;
  p99Ms: number;
}

const emptyWindow = (): Window => ({ latenciesMs: [], errors: 0, statuses: {}, skipped: 0 });

/** Descriptors left open after a run that counts as a leak. */
const fdsLeftMax = 16;

/**
 * The server's descriptors at rest: polled until the count has held for 2 s, no sooner than 6 s
 * (the mock provider closes idle connections after 5 s) and no later than 30 s.
 */
async function restingFds(server: BenchServer): Promise<number> {
  const startedMs = performance.now();
  let count = server.fds();
  let sinceMs = startedMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = performance.now();
    const next = server.fds();
    if (next !== count) [count, sinceMs] = [next, now];
    if ((now - startedMs >= 6_000 && now - sinceMs >= 2_000) || now - startedMs >= 30_000) return count;
  }
}

/** A rise from the first third of the samples to the last: true when above 10% and above `floorAbs`. */
function rising(series: number[], floorAbs: number): { first: number; last: number; rising: boolean } {
  const third = Math.max(1, Math.floor(series.length / 3));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const first = mean(series.slice(0, third));
  const last = mean(series.slice(-third));
  return { first: Math.round(first * 10) / 10, last: Math.round(last * 10) / 10, rising: last - first > Math.max(floorAbs, 0.1 * first) };
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Sends `rate` calls per second, open loop, for the run; samples and prints as it goes. */
async function soak(pool: Pool, server: BenchServer, rate: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  let minute = emptyWindow();
  let window = emptyWindow();
  let inflight = 0;
  let n = 0;
  const startedMs = performance.now();
  const endMs = startedMs + minutes * 60_000;
  let nextMs = startedMs;
  const launch = () => {
    if (inflight >= inflightMax) {
      minute.skipped += 1;
      return;
    }
    inflight += 1;
    void oneCall(pool, server, n++).then((ms) => {
      inflight -= 1;
      for (const w of [minute, window]) {
        if (ms >= 0) {
          w.latenciesMs.push(ms);
          continue;
        }
        w.errors += 1;
        const status = ms === -1 ? 'none' : String(-ms);
        w.statuses[status] = (w.statuses[status] ?? 0) + 1;
      }
    });
  };
  const ticker = setInterval(() => {
    const now = performance.now();
    for (; nextMs <= now && nextMs < endMs; nextMs += 1_000 / rate) launch();
  }, 5);
  for (let t = sampleS; t <= minutes * 60 + 1e-9; t += sampleS) {
    await new Promise((resolve) => setTimeout(resolve, startedMs + t * 1_000 - performance.now()));
    const sorted = window.latenciesMs.sort((a, b) => a - b);
    samples.push({ minute: Math.ceil(t / 60), rssMb: server.rssMb(), fds: server.fds(), p99Ms: percentile(sorted, 99) });
    window = emptyWindow();
    if (t % 60 < sampleS - 1e-9 || t >= minutes * 60 - 1e-9) {
      const m = minute.latenciesMs.sort((a, b) => a - b);
      const last = samples.at(-1) as Sample;
      print({ bench: 'soak', minute: Math.ceil(t / 60), calls: m.length, errors: minute.errors, error_statuses: minute.statuses, skipped: minute.skipped, calls_per_s: Math.round(m.length / 60), p50_ms: round(percentile(m, 50)), p99_ms: round(percentile(m, 99)), rss_mb: last.rssMb, fds: last.fds });
      minute = emptyWindow();
    }
  }
  clearInterval(ticker);
  while (inflight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  return samples;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

const server = await startBenchServer();
const newPool = () => new Pool(server.url, { connections: 256, pipelining: 1 });
const measuring = newPool();
await measureMax(measuring, server).catch(() => 0); // warm-up
const maxRate = await measureMax(measuring, server);
await measuring.close();
if (maxRate < 1) {
  await server.stop();
  throw new Error(`the server answered no call with 200 in ${measureS} s: nothing to soak`);
}
const rate = maxRate / 2;
const fdsBefore = await restingFds(server);
print({ bench: 'soak', max_calls_per_s: Math.round(maxRate), rate_calls_per_s: Math.round(rate), minutes, sample_s: sampleS, rss_mb: server.rssMb(), fds_at_rest: fdsBefore });
const pool = newPool();
const samples = await soak(pool, server, rate);
await pool.close();
const fdsAfter = await restingFds(server);
const judged = minutes >= 3 ? samples.filter((s) => s.minute > 1) : samples;
const trends = {
  rss_mb: rising(judged.map((s) => s.rssMb), 16),
  p99_ms: rising(judged.map((s) => s.p99Ms), 5),
};
const fdsAtRest = { before: fdsBefore, after: fdsAfter, left_open: fdsAfter - fdsBefore > fdsLeftMax };
const stopped = await server.stop();
const faults = [...Object.entries(trends).filter(([, t]) => t.rising).map(([name]) => `${name} trends upward`), ...(fdsAtRest.left_open ? [`${fdsAfter - fdsBefore} descriptors left open`] : [])];
print({ bench: 'soak', verdict: faults.length === 0 ? 'nothing trends upward or is left open' : faults.join(', '), ...trends, fds_at_rest: fdsAtRest, peak_rss_mb: Math.max(...samples.map((s) => s.rssMb)), audit_problems: stopped.auditProblems ?? 'unknown', server_exit: stopped.code });
process.exit(faults.length === 0 && stopped.auditProblems === 0 ? 0 : 1);
