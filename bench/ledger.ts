/**
 * Ledger throughput and latency: concurrent async callers each looping reserve → settle on one
 * budget chain, for each store, chain depth, synchronous mode and caller count. Prints one JSON
 * line per run. Not a test: figures are printed, never asserted.
 *
 * Each run is preceded by the naive floor on the same machine: one plain better-sqlite3
 * transaction per operation (update the chain's budget rows, append one entry), no Bursar code,
 * synchronous NORMAL. `ratio_to_naive` is Bursar's pairs per second over that floor's, measured
 * just before, so machines of different speeds compare.
 *
 *   npm run bench:ledger                 # SQLite, all combinations
 *   npm run bench:ledger -- --seconds 5  # longer runs
 *   npm run bench:ledger -- --checkpoints inline   # WAL checkpoints inside commits (CLI-style)
 *   npm run bench:ledger -- --writer inline        # ledger writes on the event loop's thread (CLI-style)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    depth: { type: 'string' },
    sync: { type: 'string' },
    callers: { type: 'string' },
    checkpoints: { type: 'string', default: 'background' },
    writer: { type: 'string', default: 'thread' },
  },
});
const checkpoints = values.checkpoints === 'inline' ? 'inline' : 'background';
const writer = values.writer === 'inline' ? 'inline' : 'thread';
const seconds = Number(values.seconds);
const depths = values.depth ? [Number(values.depth)] : [1, 3];
const syncs = (values.sync ? [values.sync] : ['normal', 'full']) as ('normal' | 'full')[];
const callerCounts = values.callers ? [Number(values.callers)] : [16, 256];

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * Pairs per second of the simplest durable ledger: each reserve and each settle its own
 * transaction, updating `depth` budget rows and appending one entry.
 */
function naivePairsPerS(depth: number, sync: 'normal' | 'full', durationS: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-naive-'));
  const db = new Database(join(dir, 'naive.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.exec(`CREATE TABLE budgets (id INTEGER PRIMARY KEY, spent_micros INTEGER NOT NULL, reserved_micros INTEGER NOT NULL, inflight INTEGER NOT NULL);
    CREATE TABLE ledger (seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, budget_id INTEGER NOT NULL, amount_micros INTEGER NOT NULL, reservation_seq INTEGER)`);
  const ids = Array.from({ length: depth }, (_, i) => i + 1);
  for (const id of ids) db.prepare('INSERT INTO budgets VALUES (?, 0, 0, 0)').run(id);
  const update = db.prepare('UPDATE budgets SET reserved_micros = reserved_micros + ?, spent_micros = spent_micros + ?, inflight = inflight + ? WHERE id = ?');
  const append = db.prepare('INSERT INTO ledger (ts_ms, kind, budget_id, amount_micros, reservation_seq) VALUES (?, ?, ?, ?, ?)');
  const reserve = db.transaction((amount: number): number | bigint => {
    for (const id of ids) update.run(amount, 0, 1, id);
    return append.run(Date.now(), 'reserve', depth, amount, null).lastInsertRowid;
  });
  const settle = db.transaction((amount: number, seq: number | bigint, actual: number): void => {
    for (const id of ids) update.run(-amount, actual, -1, id);
    append.run(Date.now(), 'settle', depth, actual, seq);
  });
  const start = performance.now();
  const end = start + durationS * 1000;
  let pairs = 0;
  while (performance.now() < end) {
    settle(1_000, reserve(1_000), 900);
    pairs += 1;
  }
  const rate = pairs / ((performance.now() - start) / 1000);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

async function makeChain(store: Store, depth: number): Promise<string> {
  const names = ['org', 'team', 'agent', 'envelope'].slice(0, depth);
  let path = '';
  for (const name of names) {
    path = path ? `${path}/${name}` : name;
    const made = await store.createBudget({ path, limitMicros: 1_000_000_000_000_000, policy: { inflightMax: 100_000 } });
    if (!made.ok) throw new Error(made.message);
  }
  return path;
}

async function run(depth: number, sync: 'normal' | 'full', callers: number): Promise<void> {
  const naive = naivePairsPerS(depth, 'normal', seconds);
  const dir = mkdtempSync(join(tmpdir(), 'bursar-bench-'));
  // Servers checkpoint the WAL and write the ledger from threads of their own; `--checkpoints
  // inline` and `--writer inline` show the difference.
  const store = openSqliteStore({ path: join(dir, 'bench.db'), synchronous: sync, checkpoints, writer });
  const leaf = await makeChain(store, depth);
  const latencies: number[] = [];
  let pairs = 0;
  const deadline = performance.now() + seconds * 1000;
  const warmupEnd = performance.now() + 300;
  let measuredStart = 0;
  let measuredPairs = 0;
  async function caller(): Promise<void> {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const r = await store.reserve({ path: leaf, amountMicros: 1_000 });
      const t1 = performance.now();
      if (!r.ok) throw new Error(r.message);
      const s = await store.settle({ reservationId: r.reservation.id, actualMicros: 900 });
      if (!s.ok) throw new Error(s.message);
      pairs += 1;
      if (t0 >= warmupEnd) {
        if (measuredStart === 0) measuredStart = t0;
        measuredPairs += 1;
        latencies.push((t1 - t0) * 1000);
      }
    }
  }
  await Promise.all(Array.from({ length: callers }, caller));
  const elapsedS = (performance.now() - measuredStart) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const audit = await store.audit();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'ledger',
      store: 'sqlite',
      depth,
      sync,
      callers,
      checkpoints,
      writer,
      pairs_per_s: Math.round(measuredPairs / elapsedS),
      naive_pairs_per_s: Math.round(naive),
      ratio_to_naive: Math.round((measuredPairs / elapsedS / naive) * 100) / 100,
      reserve_p50_us: Math.round(percentile(sorted, 50)),
      reserve_p99_us: Math.round(percentile(sorted, 99)),
      pairs_total: pairs,
      audit_ok: audit.ok,
    }),
  );
}

for (const depth of depths) for (const sync of syncs) for (const callers of callerCounts) await run(depth, sync, callers);
