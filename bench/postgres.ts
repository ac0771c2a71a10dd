/**
 * PostgreSQL throughput on one hot budget: N OS processes, each with many concurrent callers
 * looping reserve → settle on the same org → team → agent chain, so every call touches the
 * org row. Then every caller races to reserve what is left until refused, and overspend is
 * counted on every level. Prints one JSON line per process count. Not a test: figures are
 * printed, never asserted.
 *
 *   npm run bench:postgres                                # throwaway server (fsync on), 1 and 4 processes, 32 and 128 callers each
 *   DATABASE_URL=postgres://… npm run bench:postgres -- --processes 4 --callers 128 --seconds 10
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import type { Store } from '../src/store/store.js';
import { startThrowawayServer, type ThrowawayServer } from '../test/postgres/pg-server.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    processes: { type: 'string', default: '1,4' },
    callers: { type: 'string', default: '32,128' },
  },
});
const seconds = Number(values.seconds);
const processCounts = String(values.processes).split(',').map(Number);
const callerCounts = String(values.callers).split(',').map(Number);
const drainHeadroomReservations = 2_000;
const workerTimeoutMs = (seconds + 60) * 1000;

type Message = Record<string, unknown> & { type: string };

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function next(child: ChildProcess, type: string): Promise<Message> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${child.pid} sent no ${type}`)), workerTimeoutMs);
    const onMessage = (m: Message) => {
      if (m.type !== type && m.type !== 'error') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (m.type === 'error') reject(new Error(String(m.message)));
      else resolve(m);
    };
    child.on('message', onMessage);
  });
}

async function makeChain(store: Store): Promise<string> {
  for (const path of ['org', 'org/team', 'org/team/agent']) {
    const made = await store.createBudget({ path, limitMicros: 1_000_000_000_000, policy: { inflightMax: 100_000 } });
    if (!made.ok) throw new Error(made.message);
  }
  return 'org/team/agent';
}

/** How far `spent + reserved` exceeds what each level allows (overruns count as allowed). */
async function overspend(store: Store): Promise<number> {
  let worst = 0;
  for (const b of await store.chain('org/team/agent')) {
    if (b.limitMicros === null) continue;
    worst = Math.max(worst, b.spentMicros + b.reservedMicros - (b.limitMicros + b.grantedMicros + b.overrunMicros));
  }
  return worst;
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA ${client.escapeIdentifier(schema)} CASCADE`);
  await client.end();
}

async function runOnce(url: string, processes: number, callers: number): Promise<void> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const store = await openPostgresStore({ url, schema });
  const path = await makeChain(store);
  const env = { ...process.env, BURSAR_BENCH: JSON.stringify({ url, schema, path }) };
  const root = fileURLToPath(new URL('..', import.meta.url));
  const script = fileURLToPath(new URL('./postgres-worker.ts', import.meta.url));
  const workers = Array.from({ length: processes }, () => fork(script, [], { cwd: root, execArgv: ['--import', 'tsx'], env }));
  try {
    await Promise.all(workers.map((w) => next(w, 'ready')));
    const ran = workers.map((w) => next(w, 'ran'));
    for (const w of workers) w.send({ type: 'run', callers, seconds, warmupMs: 1_000 });
    const reports = await Promise.all(ran);
    const latencies = Float64Array.from(reports.flatMap((r) => r.latenciesMs as number[])).sort();
    const measured = reports.reduce((n, r) => n + Number(r.measured), 0);
    // The race for the last dollar: leave room for a known number of reservations.
    const org = (await store.chain(path)).find((b) => b.path === 'org');
    if (!org) throw new Error('no org budget');
    const limit = org.spentMicros + org.reservedMicros + drainHeadroomReservations * 1_000;
    const lowered = await store.updateBudget({ path: 'org', limitMicros: limit });
    if (!lowered.ok) throw new Error(lowered.message);
    const drained = workers.map((w) => next(w, 'drained'));
    for (const w of workers) w.send({ type: 'drain', callers, amountMicros: 1_000 });
    const admitted = (await Promise.all(drained)).reduce((n, r) => n + Number(r.admitted), 0);
    const audit = await store.audit();
    console.log(
      JSON.stringify({
        bench: 'postgres',
        processes,
        callers_per_process: callers,
        chain_depth: 3,
        seconds,
        reservations_per_s: Math.round(measured / seconds),
        p50_ms: Number(percentile(latencies, 50).toFixed(2)),
        p99_ms: Number(percentile(latencies, 99).toFixed(2)),
        overspend_micros: Math.max(0, await overspend(store)),
        last_dollar_admitted: admitted,
        last_dollar_expected: drainHeadroomReservations,
        audit_ok: audit.ok,
        ledger_entries: audit.entries,
      }),
    );
  } finally {
    for (const w of workers) w.send({ type: 'close' });
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.exitCode === null ? w.once('exit', resolve) : resolve(null)))));
    await store.close();
    await dropSchema(url, schema);
  }
}

const server: ThrowawayServer | undefined = process.env.DATABASE_URL ? undefined : await startThrowawayServer({ durable: true });
try {
  for (const callers of callerCounts) for (const processes of processCounts) await runOnce(process.env.DATABASE_URL ?? server?.url ?? '', processes, callers);
} finally {
  await server?.stop();
}
