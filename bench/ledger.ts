/**
 * Ledger throughput and latency: concurrent async callers each looping reserve → settle on one
 * budget chain, for each store, chain depth, synchronous mode and caller count. Prints one JSON
 * line per run. Not a test: figures are printed, never asserted.
 *
 *   npm run bench:ledger                 # SQLite, all combinations
 *   npm run bench:ledger -- --seconds 5  # longer runs
 *   npm run bench:ledger -- --checkpoints inline   # WAL checkpoints inside commits (CLI-style)
 *   npm run bench:ledger -- --extras 2   # each reservation also holds on 2 model budgets
 *   npm run bench:ledger -- --fingerprints 1       # loop detection on the leaf, one request repeated
 *   npm run bench:ledger -- --fingerprints 1000    # loop detection, distinct requests: the leaf's fingerprints churn
 *
 * After the chain runs, one more line: depth 3, normal, 256 callers, with each reservation also
 * holding on 2 model budgets beside its chain (what budgets across the tree cost).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    depth: { type: 'string' },
    sync: { type: 'string' },
    callers: { type: 'string' },
    checkpoints: { type: 'string', default: 'background' },
    extras: { type: 'string' },
    fingerprints: { type: 'string', default: '0' },
  },
});
const checkpoints = values.checkpoints === 'inline' ? 'inline' : 'background';
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

async function run(depth: number, sync: 'normal' | 'full', callers: number, extras = 0): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-bench-'));
  // Servers checkpoint the WAL from a background thread; `--checkpoints inline` shows the difference.
  const store = openSqliteStore({ path: join(dir, 'bench.db'), synchronous: sync, checkpoints });
  const leaf = await makeChain(store, depth, extras);
  const labels = extras > 0 ? { model: 'gpt-4o' } : undefined;
  const latencies: number[] = [];
  let pairs = 0;
  const deadline = performance.now() + seconds * 1000;
  const warmupEnd = performance.now() + 300;
  let measuredStart = 0;
  let measuredPairs = 0;
  let made = 0;
  async function caller(): Promise<void> {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const fingerprint = fingerprints > 0 ? `fp${(made += 1) % fingerprints}` : undefined;
      const r = await store.reserve({ path: leaf, amountMicros: 1_000, labels, fingerprint });
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
      extras,
      checkpoints,
      fingerprints,
      pairs_per_s: Math.round(measuredPairs / elapsedS),
      reserve_p50_us: Math.round(percentile(sorted, 50)),
      reserve_p99_us: Math.round(percentile(sorted, 99)),
      pairs_total: pairs,
      audit_ok: audit.ok,
    }),
  );
}

if (extrasAsked === undefined) {
  for (const depth of depths) for (const sync of syncs) for (const callers of callerCounts) await run(depth, sync, callers);
  await run(3, 'normal', 256, 2);
} else {
  for (const depth of depths) for (const sync of syncs) for (const callers of callerCounts) await run(depth, sync, callers, extrasAsked);
}
