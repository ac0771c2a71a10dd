/**
 * Gateway overhead: requests per second and the latency Bursar adds over calling the mock
 * provider directly, at 1 and 64 connections, next to Portkey's open-source gateway in the same
 * run, and a bare Node forwarder (bench/forwarder.mjs) as the floor any Node proxy pays here; the
 * targets are measured in interleaved rounds after a warm-up. Then Bursar's peak RSS while it
 * holds 1,000 concurrent streams (the kernel's high-water mark on Linux), and the forwarder's
 * holding the same streams. Bursar runs from dist/ with the V8 flags of the `bursar` executable.
 * Every process runs on 127.0.0.1 and everything stops by itself. Prints one JSON line per figure; asserts nothing.
 * On Linux each line also carries the answering process's CPU per call (`server_cpu_us_per_call`,
 * all its threads) and its ratio to the forwarder's (`cpu_ratio_to_forwarder`): the steadiest
 * figure on a shared machine, as it leaves out the time other processes take.
 *
 *   npm run bench:gateway                                  (builds dist/ first; measures the build)
 *   npm run bench:gateway -- --seconds 10 --rounds 20 --targets direct,bursar
 *   npm run bench:gateway -- --warmup 1        (less warm-up: a server in its first seconds)
 *   npm run bench:gateway -- --node-flags="--max-semi-space-size=16"   (the server with other V8 flags)
 *   npm run bench:gateway -- --memory-only      (only the 1,000 streams, on a fresh server;
 *                                               with the forwarder in --targets, it too)
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { nodeFlags } from '../src/cli/node-flags.js';
import { percentile, positive } from './common.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, warmup: { type: 'string', default: '5' }, rounds: { type: 'string', default: '10' }, targets: { type: 'string', default: 'direct,forwarder,bursar,portkey' }, streams: { type: 'string', default: '1000' }, 'node-flags': { type: 'string', default: nodeFlags.join(' ') }, 'memory-only': { type: 'boolean', default: false } } });
/** V8 flags for the Bursar server (and the forwarder): the executable's unless `--node-flags` says otherwise. */
const serverFlags = values['node-flags'].split(' ').filter(Boolean);
const seconds = positive('seconds', values.seconds);
const warmupS = positive('warmup', values.warmup);
const rounds = Math.ceil(positive('rounds', values.rounds));
const streams = Math.ceil(positive('streams', values.streams));
const wanted = new Set(values.targets.split(','));

interface Target {
  name: string;
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** The process that answers (for its CPU per call; the mock's for `direct`). */
  pid?: number;
}

/** CPU time a process has used so far, in µs (all its threads; Linux only, else undefined). */
function cpuUs(pid: number | undefined): number | undefined {
  const stat = pid === undefined ? undefined : `/proc/${pid}/stat`;
  if (stat === undefined || !existsSync(stat)) return undefined;
  const fields = readFileSync(stat, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime, in clock ticks of 10 ms (USER_HZ 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 16 });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Tally {
  latenciesUs: number[];
  /** Time to the first byte of the answer's body (streamed rounds). */
  firstByteUs: number[];
  elapsedS: number;
  /** CPU the target's process used during the measured rounds, in µs (undefined where it cannot be read). */
  cpuUs: number | undefined;
  errors: number;
  ok: number;
  /** Server-sent events received (streamed rounds): checks every target streamed the same answer. */
  events: number;
}

/** What one round sends: a plain chat completion, or a streamed one of `streamChunks` chunks. */
type Kind = 'json' | 'stream';

/** Chunks of a streamed answer; the mock sends them back to back, so a round measures relaying, not waiting. */
const streamChunks = 30;
const streamBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 64, stream: true, stream_options: { include_usage: true } });

/** One call; resolves with its latency and time to first body byte (µs), or undefined when it failed. */
async function call(pool: Pool, target: Target, kind: Kind): Promise<{ totalUs: number; firstUs: number; events: number } | undefined> {
  const t0 = performance.now();
  const headers = kind === 'stream' ? { 'content-type': 'application/json', 'x-mock-chunks': String(streamChunks), 'x-mock-output-tokens': '60', ...target.headers } : { 'content-type': 'application/json', ...target.headers };
  try {
    const res = await pool.request({ method: 'POST', path: target.path, headers, body: kind === 'stream' ? streamBody : body });
    let firstUs = 0;
    let text = '';
    for await (const chunk of res.body) {
      if (firstUs === 0) firstUs = (performance.now() - t0) * 1000;
      text += (chunk as Buffer).toString();
    }
    if (res.statusCode !== 200 || (kind === 'stream' && !text.includes('[DONE]'))) return undefined;
    return { totalUs: (performance.now() - t0) * 1000, firstUs, events: kind === 'stream' ? text.split('data: ').length - 1 : 0 };
  } catch {
    return undefined;
  }
}

/** Keeps `connections` requests in flight against one target until `until`, recording each latency. */
async function drive(pool: Pool, target: Target, kind: Kind, connections: number, until: number, tally: Tally | undefined): Promise<void> {
  const started = performance.now();
  const cpuBefore = cpuUs(target.pid);
  const one = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const done = await call(pool, target, kind);
      if (!tally) continue;
      if (done === undefined) {
        tally.errors += 1;
        tally.latenciesUs.push((performance.now() - t0) * 1000);
        continue;
      }
      tally.ok += 1;
      tally.events += done.events;
      tally.latenciesUs.push(done.totalUs);
      tally.firstByteUs.push(done.firstUs);
    }
  };
  await Promise.all(Array.from({ length: connections }, one));
  if (tally) tally.elapsedS += (performance.now() - started) / 1000;
  const cpuAfter = cpuUs(target.pid);
  if (tally && tally.cpuUs !== undefined) tally.cpuUs = cpuBefore === undefined || cpuAfter === undefined ? undefined : tally.cpuUs + cpuAfter - cpuBefore;
}

interface Measured {
  rps: number;
  p50Us: number;
  p99Us: number;
  firstP50Us: number;
  firstP99Us: number;
  /** The target process's CPU per answered call, in µs. */
  cpuPerCallUs: number | undefined;
  errors: number;
  ok: number;
  eventsPerCall: number;
}

/**
 * Measures every target at one connection count in interleaved rounds (direct, bursar, portkey,
 * direct, …), so each is measured under the same conditions on a shared machine and "added" is a
 * fair difference. Each target gets `durationS` in all, after `warmS` of calls on its own: V8
 * keeps optimising a server's code through its first few thousand calls, and the figures are
 * for a server that has been running, not one that has just started.
 */
async function measure(list: Target[], kind: Kind, connections: number, durationS: number, rounds: number, warmS: number): Promise<Map<string, Measured>> {
  const pools = new Map(list.map((t) => [t.name, new Pool(t.origin, { connections, pipelining: 1 })]));
  const tallies = new Map<string, Tally>(list.map((t) => [t.name, { latenciesUs: [], firstByteUs: [], elapsedS: 0, cpuUs: 0, errors: 0, ok: 0, events: 0 }]));
  for (const t of list) await drive(pools.get(t.name) as Pool, t, kind, connections, performance.now() + warmS * 1000, undefined);
  for (let round = 0; round < rounds; round += 1) {
    for (const t of list) await drive(pools.get(t.name) as Pool, t, kind, connections, performance.now() + (durationS * 1000) / rounds, tallies.get(t.name));
  }
  await Promise.all([...pools.values()].map((p) => p.close()));
  const out = new Map<string, Measured>();
  for (const [name, tally] of tallies) {
    const sorted = tally.latenciesUs.sort((a, b) => a - b);
    const first = tally.firstByteUs.sort((a, b) => a - b);
    out.set(name, { rps: sorted.length / tally.elapsedS, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99), firstP50Us: percentile(first, 50), firstP99Us: percentile(first, 99), cpuPerCallUs: tally.cpuUs === undefined || tally.ok === 0 ? undefined : tally.cpuUs / tally.ok, errors: tally.errors, ok: tally.ok, eventsPerCall: tally.ok ? tally.events / tally.ok : 0 });
  }
  return out;
}

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`child did not print ${pattern}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const line = buffer.split('\n').find((l) => pattern.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('exit', () => reject(new Error('child exited early')));
  });
}

/**
 * The server's peak RSS while it holds `count` streams. On Linux the kernel's own high-water mark
 * (VmHWM in /proc/<pid>/status, reset first through clear_refs) catches a peak of any length;
 * elsewhere RSS is sampled every 100 ms, which can miss a short one.
 */
async function holdStreams(target: Target, count: number, pid: number | undefined, rss: () => Promise<number>): Promise<{ peakRss: number; completed: number; method: string }> {
  const status = pid === undefined ? undefined : `/proc/${pid}/status`;
  const kernel = status !== undefined && existsSync(status);
  if (kernel) writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const pool = new Pool(target.origin, { connections: count, pipelining: 1 });
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, await rss());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const slowStreamBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Stream slowly.' }], max_tokens: 64, stream: true });
  const results = await Promise.allSettled(
    Array.from({ length: count }, async () => {
      const res = await pool.request({ method: 'POST', path: target.path, headers: { 'content-type': 'application/json', 'x-mock-chunks': '30', 'x-mock-chunk-delay-ms': '100', 'x-mock-output-tokens': '60', ...target.headers }, body: slowStreamBody });
      const text = await res.body.text();
      if (res.statusCode !== 200 || !text.includes('[DONE]')) throw new Error(`status ${res.statusCode}`);
    }),
  );
  done = true;
  await sampler;
  await pool.close();
  if (kernel) {
    const hwmKb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(status, 'utf8'))?.[1] ?? 0);
    peak = Math.max(peak, hwmKb * 1024);
  }
  return { peakRss: peak, completed: results.filter((r) => r.status === 'fulfilled').length, method: kernel ? 'kernel_high_water_mark' : 'sampled_100ms' };
}

const mockPort = await freePort();
const mockChild = spawn(process.execPath, ['bench/mock-server.mjs', String(mockPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
const children: ChildProcess[] = [mockChild];
const stopAll = () => children.forEach((c) => c.kill('SIGKILL'));
process.on('exit', stopAll);
const mockUrl = `http://127.0.0.1:${mockPort}`;
await waitForLine(mockChild, /listening/);

interface BursarServer {
  pid: number | undefined;
  url: string;
  token: string;
  rss: () => Promise<number>;
  ledger: () => Promise<Record<string, unknown>>;
  stop: () => void;
}

/** A Bursar server child (dist/, fresh SQLite file) forwarding to the mock. */
async function startBursar(): Promise<BursarServer> {
  const child = fork('bench/gateway-server.mjs', [], { execArgv: serverFlags, env: { ...process.env, BURSAR_OPENAI_BASE_URL: `${mockUrl}/v1`, OPENAI_API_KEY: 'bench-key' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  children.push(child);
  const { url, token } = JSON.parse(await waitForLine(child, /"url"/)) as { url: string; token: string };
  const rss = () =>
    new Promise<number>((resolve) => {
      child.once('message', (m: { rss: number }) => resolve(m.rss));
      child.send('rss');
    });
  const ledger = () =>
    new Promise<Record<string, unknown>>((resolve) => {
      child.once('message', (m: { ledger: Record<string, unknown> }) => resolve(m.ledger));
      child.send('ledger');
    });
  return { pid: child.pid, url, token, rss, ledger, stop: () => child.send('stop') };
}

const bursar = await startBursar();

const targets: Target[] = [
  { name: 'direct', origin: mockUrl, path: '/v1/chat/completions', headers: { authorization: 'Bearer bench-key' }, pid: mockChild.pid },
  { name: 'bursar', origin: bursar.url, path: '/v1/chat/completions', headers: { authorization: `Bearer ${bursar.token}` }, pid: bursar.pid },
];
let forwarderPid: number | undefined;
if (wanted.has('forwarder')) {
  const forwarder = spawn(process.execPath, [...serverFlags, 'bench/forwarder.mjs', `${mockUrl}/v1`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(forwarder);
  forwarderPid = forwarder.pid;
  const { url } = JSON.parse(await waitForLine(forwarder, /"url"/)) as { url: string };
  targets.push({ name: 'forwarder', origin: url, path: '/v1/chat/completions', headers: { authorization: 'Bearer bench-key' }, pid: forwarder.pid });
}
if (wanted.has('portkey')) {
  const portkeyPort = await freePort();
  const portkey = spawn(process.execPath, ['node_modules/@portkey-ai/gateway/build/start-server.js', `--port=${portkeyPort}`, '--headless'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(portkey);
  await waitForLine(portkey, /Ready|running/);
  targets.push({ name: 'portkey', origin: `http://127.0.0.1:${portkeyPort}`, path: '/v1/chat/completions', headers: { authorization: 'Bearer bench-key', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${mockUrl}/v1` }, pid: portkey.pid });
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const memory = async (server: BursarServer, label: string) => {
  const idle = await server.rss();
  const held = await holdStreams({ ...(targets[1] as Target), origin: server.url, headers: { authorization: `Bearer ${server.token}` } }, streams, server.pid, server.rss);
  console.log(JSON.stringify({ bench: 'gateway_memory', target: 'bursar', server: label, concurrent_streams: streams, completed: held.completed, rss_before_mb: mb(idle), rss_peak_mb: mb(held.peakRss), peak_by: held.method }));
};
/** The bare forwarder holding the same streams: the floor a Node proxy's peak is judged against. */
const forwarderMemory = async (label: string) => {
  const target = targets.find((t) => t.name === 'forwarder');
  if (!target || forwarderPid === undefined) return;
  const status = `/proc/${forwarderPid}/status`;
  const rss = () => Promise.resolve(existsSync(status) ? Number(/VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(status, 'utf8'))?.[1] ?? 0) * 1024 : 0);
  const idle = await rss();
  const held = await holdStreams(target, streams, forwarderPid, rss);
  console.log(JSON.stringify({ bench: 'gateway_memory', target: 'forwarder', server: label, concurrent_streams: streams, completed: held.completed, rss_before_mb: mb(idle), rss_peak_mb: mb(held.peakRss), peak_by: held.method }));
};
if (values['memory-only']) {
  bursar.stop();
  await forwarderMemory('fresh');
  const fresh = await startBursar();
  await memory(fresh, 'fresh');
  fresh.stop();
  stopAll();
  process.exit(0);
}

const ratio = (a: number, b: number | undefined): number | undefined => (b ? Math.round((a / b) * 100) / 100 : undefined);
/**
 * The answering process's CPU per call (µs; all its threads, from /proc) and its ratio to the
 * forwarder's: steadier than requests/s on a shared machine, since it does not count the time
 * other processes take. For `direct` it is the mock's own.
 */
const cpuFields = (r: Measured, forwarder: Measured | undefined) =>
  r.cpuPerCallUs === undefined ? {} : { server_cpu_us_per_call: Math.round(r.cpuPerCallUs), cpu_ratio_to_forwarder: forwarder?.cpuPerCallUs ? Math.round((r.cpuPerCallUs / forwarder.cpuPerCallUs) * 100) / 100 : undefined };
const chosen = targets.filter((t) => t.name === 'direct' || wanted.has(t.name));
let bursarOk = 0;
for (const connections of [1, 64]) {
  const measured = await measure(chosen, 'json', connections, seconds, rounds, warmupS);
  const direct = measured.get('direct');
  const forwarder = measured.get('forwarder');
  bursarOk += measured.get('bursar')?.ok ?? 0;
  for (const name of ['direct', 'forwarder', 'bursar', 'portkey']) {
    const r = measured.get(name);
    if (!r || !wanted.has(name) || !direct) continue;
    console.log(JSON.stringify({ bench: 'gateway', target: name, connections, requests_per_s: Math.round(r.rps), ratio_to_forwarder: ratio(r.rps, forwarder?.rps), p50_us: Math.round(r.p50Us), p99_us: Math.round(r.p99Us), added_p50_us: Math.round(r.p50Us - direct.p50Us), added_p99_us: Math.round(r.p99Us - direct.p99Us), ...cpuFields(r, forwarder), errors: r.errors }));
  }
}

// Streamed calls at 64 connections: what relaying 30 chunks costs, and the time to the first one.
{
  const connections = 64;
  const measured = await measure(chosen, 'stream', connections, seconds, rounds, warmupS);
  const direct = measured.get('direct');
  const forwarder = measured.get('forwarder');
  const portkey = measured.get('portkey');
  bursarOk += measured.get('bursar')?.ok ?? 0;
  for (const name of ['direct', 'forwarder', 'bursar', 'portkey']) {
    const r = measured.get(name);
    if (!r || !wanted.has(name) || !direct) continue;
    const line = { bench: 'gateway_stream', target: name, connections, chunks: streamChunks, requests_per_s: Math.round(r.rps), ratio_to_forwarder: ratio(r.rps, forwarder?.rps), ratio_to_portkey: ratio(r.rps, portkey?.rps) };
    console.log(JSON.stringify({ ...line, ttfb_p50_us: Math.round(r.firstP50Us), ttfb_p99_us: Math.round(r.firstP99Us), added_ttfb_p50_us: Math.round(r.firstP50Us - direct.firstP50Us), added_ttfb_p99_us: Math.round(r.firstP99Us - direct.firstP99Us), events_per_call: Math.round(r.eventsPerCall * 10) / 10, ...cpuFields(r, forwarder), errors: r.errors }));
  }
}

// Every call Bursar answered was reserved, settled and is in the ledger, which replays.
if (wanted.has('bursar')) console.log(JSON.stringify({ bench: 'gateway_ledger', target: 'bursar', ...(await bursar.ledger()), measured_calls_ok: bursarOk }));

// A server that has done nothing else, then the one that just ran the load above.
const fresh = await startBursar();
await memory(fresh, 'fresh');
fresh.stop();
await memory(bursar, 'after_load');
await forwarderMemory('after_load');
bursar.stop();
stopAll();
process.exit(0);
