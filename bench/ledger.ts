/**
 * Ledger throughput and latency: concurrent async callers each looping reserve → settle on one
 * budget chain, for each store, chain depth, synchronous mode and caller count. Prints one JSON
 * line per run. Not a test: figures are printed, never asserted.
 *
 * Each run is measured against the naive floor on the same machine: one plain better-sqlite3
 * transaction per operation (update the chain's budget rows, append one entry), no Bursar code,
 * synchronous NORMAL (the cheapest plain transaction; with FULL it is bound by one fsync per
 * operation). The two alternate in slices of a quarter second, so both see the same load, and
 * `ratio_to_naive` is Bursar's pairs per second over the floor's: machines of different speeds
 * compare.
 *
 *   npm run bench:ledger                 # SQLite, all combinations
 *   npm run bench:ledger -- --seconds 5  # longer runs
 *   npm run bench:ledger -- --checkpoints inline   # WAL checkpoints inside commits (CLI-style)
 *   npm run bench:ledger -- --writer inline        # ledger writes on the event loop's thread (CLI-style)
 *   npm run bench:ledger -- --extras 2   # each reservation also holds on 2 model budgets
 *   npm run bench:ledger -- --fingerprints 1       # loop detection on the leaf, one request repeated
 *   npm run bench:ledger -- --fingerprints 1000    # loop detection, distinct requests: the leaf's fingerprints churn
 *
 * After the chain runs, one more line: depth 3, normal, 256 callers, with each reservation also
 * holding on 2 model budgets beside its chain (what budgets across the tree cost). With extra
 * budgets the naive floor updates as many more rows, and the same chain without them takes its
 * turn in the same slices: `ratio_to_no_extras` is what the extra budgets cost.
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
    extras: { type: 'string' },
    fingerprints: { type: 'string', default: '0' },
  },
});
const checkpoints = values.checkpoints === 'inline' ? 'inline' : 'background';
const writer = values.writer === 'inline' ? 'inline' : 'thread';
const seconds = Number(values.seconds);
const depths = values.depth ? [Number(values.depth)] : [1, 3];
const syncs = (values.sync ? [values.sync] : ['normal', 'full']) as ('normal' | 'full')[];
const callerCounts = values.callers ? [Number(values.callers)] : [16, 256];
const extrasAsked = values.extras === undefined ? undefined : Number(values.extras);
/** With n > 0, the leaf has a loop limit and each reservation carries one of n fingerprints in turn. */
const fingerprints = Number(values.fingerprints);
/** A loop limit no run can reach (100,000 repeats in any second), so every reservation is counted and none refused. */
const unreachableLoop = { repeats: 100_000, windowMs: 1_000 };

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A slice of a measurement: what it did and how long it took. */
interface Tally {
  pairs: number;
  ms: number;
}

/**
 * The simplest durable ledger: each reserve and each settle its own transaction, updating
 * `rows` budget rows and appending one entry. `runFor` loops for a while and counts pairs.
 */
function naiveLedger(rows: number): { runFor(ms: number): Tally; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-naive-'));
  const db = new Database(join(dir, 'naive.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE budgets (id INTEGER PRIMARY KEY, spent_micros INTEGER NOT NULL, reserved_micros INTEGER NOT NULL, inflight INTEGER NOT NULL);
    CREATE TABLE ledger (seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, budget_id INTEGER NOT NULL, amount_micros INTEGER NOT NULL, reservation_seq INTEGER)`);
  const ids = Array.from({ length: rows }, (_, i) => i + 1);
  for (const id of ids) db.prepare('INSERT INTO budgets VALUES (?, 0, 0, 0)').run(id);
  const update = db.prepare('UPDATE budgets SET reserved_micros = reserved_micros + ?, spent_micros = spent_micros + ?, inflight = inflight + ? WHERE id = ?');
  const append = db.prepare('INSERT INTO ledger (ts_ms, kind, budget_id, amount_micros, reservation_seq) VALUES (?, ?, ?, ?, ?)');
  const reserve = db.transaction((amount: number): number | bigint => {
    for (const id of ids) update.run(amount, 0, 1, id);
    return append.run(Date.now(), 'reserve', rows, amount, null).lastInsertRowid;
  });
  const settle = db.transaction((amount: number, seq: number | bigint, actual: number): void => {
    for (const id of ids) update.run(-amount, actual, -1, id);
    append.run(Date.now(), 'settle', rows, actual, seq);
  });
  return {
    runFor(ms: number): Tally {
      const start = performance.now();
      let pairs = 0;
      while (performance.now() - start < ms) {
        settle(1_000, reserve(1_000), 900);
        pairs += 1;
      }
      return { pairs, ms: performance.now() - start };
    },
    close(): void {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Model budget globs that a gpt-4o call matches. */
const matchingGlobs = ['gpt-4o*', 'gpt-4o', 'gpt-4*', 'gpt-*', 'gpt*', 'g*', '*'];
const roomy = { limitMicros: 1_000_000_000_000_000, policy: { inflightMax: 100_000 } };

/**
 * The chain, and `extras` model budgets a gpt-4o call under it reaches (alternately on the root
 * and the leaf): each is one more budget a reservation holds on.
 */
async function makeChain(store: Store, depth: number, extras: number): Promise<string> {
  const names = ['org', 'team', 'agent', 'envelope'].slice(0, depth);
  let path = '';
  for (const [i, name] of names.entries()) {
    path = path ? `${path}/${name}` : name;
    const loopLimit = fingerprints > 0 && i === names.length - 1 ? unreachableLoop : undefined;
    const made = await store.createBudget({ path, ...roomy, policy: { ...roomy.policy, loopLimit } });
    if (!made.ok) throw new Error(made.message);
  }
  if (extras > matchingGlobs.length) throw new Error(`--extras: at most ${matchingGlobs.length}`);
  for (let i = 0; i < extras; i += 1) {
    const made = await store.createBudget({ path: `${i % 2 === 0 ? 'org' : path}/model:${matchingGlobs[i] ?? ''}`, kind: 'model', ...roomy });
    if (!made.ok) throw new Error(made.message);
  }
  return path;
}

/** Measured slices of each side, alternating, so both see the same machine (it is shared and busy). */
const sliceMs = 250;

/** A Bursar store on a fresh file with the chain (and `extras` model budgets), and callers to drive it. */
async function bursarLedger(depth: number, sync: 'normal' | 'full', callers: number, extras: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-bench-'));
  // Servers checkpoint the WAL and write the ledger from threads of their own; `--checkpoints
  // inline` and `--writer inline` show the difference.
  const store = openSqliteStore({ path: join(dir, 'bench.db'), synchronous: sync, checkpoints, writer });
  const leaf = await makeChain(store, depth, extras);
  // Every call through the gateway names its model (and so do these), with or without model budgets to reach.
  const labels = { model: 'gpt-4o' };
  const latencies: number[] = [];
  let made = 0;
  /** Callers loop reserve → settle until the slice ends; latencies are kept when `record`. */
  async function slice(ms: number, record: boolean): Promise<Tally> {
    const start = performance.now();
    let pairs = 0;
    const caller = async (): Promise<void> => {
      while (performance.now() - start < ms) {
        const t0 = performance.now();
        const fingerprint = fingerprints > 0 ? `fp${(made += 1) % fingerprints}` : undefined;
        const r = await store.reserve({ path: leaf, amountMicros: 1_000, labels, fingerprint });
        const t1 = performance.now();
        if (!r.ok) throw new Error(r.message);
        const s = await store.settle({ reservationId: r.reservation.id, actualMicros: 900 });
        if (!s.ok) throw new Error(s.message);
        pairs += 1;
        if (record) latencies.push((t1 - t0) * 1000);
      }
    };
    await Promise.all(Array.from({ length: callers }, caller));
    return { pairs, ms: performance.now() - start };
  }
  /** Audits the ledger, closes the store and removes its file. */
  async function close(): Promise<boolean> {
    const audit = await store.audit();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    return audit.ok;
  }
  return { slice, latencies, close };
}

const perSecond = (t: Tally) => t.pairs / (t.ms / 1000);

/**
 * One line: Bursar against the naive floor, in alternating slices. With extra budgets, the same
 * chain without them takes its turn too (`ratio_to_no_extras`: what the extra budgets cost).
 */
async function run(depth: number, sync: 'normal' | 'full', callers: number, extras = 0): Promise<void> {
  const naive = naiveLedger(depth + extras);
  const bursar = await bursarLedger(depth, sync, callers, extras);
  const plain = extras > 0 ? await bursarLedger(depth, sync, callers, 0) : undefined;
  naive.runFor(300);
  await bursar.slice(300, false);
  await plain?.slice(300, false);
  const measured: Tally = { pairs: 0, ms: 0 };
  const floor: Tally = { pairs: 0, ms: 0 };
  const without: Tally = { pairs: 0, ms: 0 };
  const add = (to: Tally, t: Tally) => {
    to.pairs += t.pairs;
    to.ms += t.ms;
  };
  for (let i = 0; i < Math.max(2, Math.round((seconds * 1000) / sliceMs)); i += 1) {
    add(floor, naive.runFor(sliceMs));
    // The two stores swap turns, so neither always follows the other's writes.
    if (plain && i % 2 === 1) add(without, await plain.slice(sliceMs, false));
    add(measured, await bursar.slice(sliceMs, true));
    if (plain && i % 2 === 0) add(without, await plain.slice(sliceMs, false));
  }
  naive.close();
  const pairsPerS = perSecond(measured);
  const naivePerS = perSecond(floor);
  const sorted = Float64Array.from(bursar.latencies).sort();
  const auditOk = (await bursar.close()) && (plain ? await plain.close() : true);
  const extraFigures = plain ? { pairs_per_s_no_extras: Math.round(perSecond(without)), ratio_to_no_extras: Math.round((pairsPerS / perSecond(without)) * 100) / 100 } : {};
  console.log(
    JSON.stringify({
      bench: 'ledger',
      store: 'sqlite',
      depth,
      sync,
      callers,
      extras,
      checkpoints,
      writer,
      fingerprints,
      pairs_per_s: Math.round(pairsPerS),
      naive_pairs_per_s: Math.round(naivePerS),
      ratio_to_naive: Math.round((pairsPerS / naivePerS) * 100) / 100,
      ...extraFigures,
      reserve_p50_us: Math.round(percentile(sorted, 50)),
      reserve_p99_us: Math.round(percentile(sorted, 99)),
      pairs_total: measured.pairs,
      audit_ok: auditOk,
    }),
  );
}

if (extrasAsked === undefined) {
  for (const depth of depths) for (const sync of syncs) for (const callers of callerCounts) await run(depth, sync, callers);
  await run(3, 'normal', 256, 2);
} else {
  for (const depth of depths) for (const sync of syncs) for (const callers of callerCounts) await run(depth, sync, callers, extrasAsked);
}
