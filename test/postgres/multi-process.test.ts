import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { BudgetView, LedgerEntry } from '../../src/core/index.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { OffsetClock } from '../support/offset-clock.js';
import { allEntries, dropSchemas, forkScript, freshSchema, nextMessage, sleep, stopChild, withinLimit } from './support.js';
import type { Made, WorkerConfig, WorkerReport } from './worker.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

const processes = 4;
const callersPerProcess = 150;
const expireTtlMs = 1_000;
const workerTimeoutMs = 60_000;
const agent = 'org/team/agent';


async function setUp(store: Store): Promise<void> {
  const made = [
    await store.createBudget({ path: 'org', kind: 'org', limitMicros: 3_000_000 }),
    await store.createBudget({ path: 'org/other', kind: 'team' }),
    await store.createBudget({ path: 'org/team', kind: 'team', limitMicros: 2_500_000 }),
    await store.createBudget({ path: 'org/team/sibling', kind: 'agent', policy: { inflightMax: 10 } }),
    await store.createBudget({ path: agent, kind: 'agent', limitMicros: 2_000_000, policy: { inflightMax: 10_000, burnLimits: [] } }),
  ];
  expect(made.every((m) => m.ok)).toBe(true);
  // Spend elsewhere so that the team and the org are nearly as tight as the agent.
  for (const [path, micros] of [['org/other', 600_000], ['org/team/sibling', 400_000]] as const) {
    const r = await store.reserve({ path, amountMicros: micros });
    if (!r.ok) throw new Error(r.message);
    expect((await store.settle({ reservationId: r.reservation.id, actualMicros: micros })).ok).toBe(true);
  }
}

/** Starts the workers, lets them race, and samples the invariant on every level while they do. */
async function race(workers: ChildProcess[], store: Store): Promise<{ reports: WorkerReport[]; samples: number; breaches: BudgetView[] }> {
  await Promise.all(workers.map((w) => nextMessage(w, 'ready', workerTimeoutMs)));
  const done = Promise.all(workers.map((w) => nextMessage<WorkerReport>(w, 'report', workerTimeoutMs)));
  for (const w of workers) w.send({ type: 'go' });
  let finished = false;
  void done.then(() => (finished = true), () => (finished = true));
  let samples = 0;
  const breaches: BudgetView[] = [];
  while (!finished) {
    for (const b of await store.chain(agent)) if (!withinLimit(b)) breaches.push(b);
    samples += 1;
    await sleep(20);
  }
  return { reports: await done, samples, breaches };
}

describe('postgres store across OS processes', () => {
  it('keeps spent + reserved within every limit while 4 processes race for one agent budget, and every reservation resolves exactly once', { timeout: 120_000 }, async () => {
    // Proves the invariant across processes: no overspend on any level, nothing lost or double-resolved, audit passes, events reach other processes.
    const schema = freshSchema('mp');
    schemas.add(schema);
    const clock = new OffsetClock();
    const store: PostgresStore = await openPostgresStore({ url, schema, clock });
    const seen: number[] = [];
    store.subscribe((entries) => seen.push(...entries.map((e) => e.seq)));
    await setUp(store);
    const workers = Array.from({ length: processes }, (_, i) => {
      const config: WorkerConfig = { url, schema, path: agent, callers: callersPerProcess, expireTtlMs, seed: 1 + i };
      return forkScript(new URL('./worker.ts', import.meta.url), { BURSAR_WORKER: JSON.stringify(config) });
    });
    try {
      const { reports, samples, breaches } = await race(workers, store);
      expect(samples).toBeGreaterThan(0);
      expect(breaches).toEqual([]);
      clock.advance(expireTtlMs + 100);
      for (let i = 0; i < 100 && (await store.sweep()) > 0; i += 1);
      await checkBalances(store, reports);
      await checkLedger(store, reports);
      const report = await store.audit();
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      await checkEvents(store, seen, reports);
    } finally {
      await Promise.all(workers.map((w) => stopChild(w, 10_000)));
      await store.close();
    }
  });
});

async function checkBalances(store: Store, reports: WorkerReport[]): Promise<void> {
  const made = reports.flatMap((r) => r.made);
  // Each process raced until refused for lack of budget, with hundreds of reservations in all.
  for (const r of reports) expect(r.refusals.budget_exceeded).toBeGreaterThan(0);
  expect(made.length).toBeGreaterThan(processes * 100);
  for (const action of ['settle_below', 'settle_equal', 'settle_above', 'void', 'expire']) expect(made.some((m) => m.action === action)).toBe(true);
  const settledMicros = made.filter((m) => m.outcome === 'ok' && m.actualMicros !== undefined).reduce((n, m) => n + (m.actualMicros ?? 0), 0);
  const overrunMicros = made.filter((m) => m.outcome === 'ok' && m.action === 'settle_above').reduce((n, m) => n + (m.actualMicros ?? 0) - m.amountMicros, 0);
  const [leaf, team, org] = await store.chain(agent);
  expect(leaf?.spentMicros).toBe(settledMicros);
  expect(leaf?.overrunMicros).toBe(overrunMicros);
  expect(team?.spentMicros).toBe(settledMicros + 400_000);
  expect(org?.spentMicros).toBe(settledMicros + 1_000_000);
  for (const b of [leaf, team, org]) {
    expect(b).toBeDefined();
    if (!b) return;
    expect([b.path, b.reservedMicros, b.inflight]).toEqual([b.path, 0, 0]);
    expect(withinLimit(b), `${b.path} over its limit`).toBe(true);
  }
}

async function checkLedger(store: Store, reports: WorkerReport[]): Promise<void> {
  const made = new Map<number, Made>(reports.flatMap((r) => r.made.map((m) => [Number(m.id.slice(4)), m] as const)));
  const entries = await allEntries(store);
  const leafId = (await store.getBudget(agent))?.id;
  const reserves = entries.filter((e) => e.kind === 'reserve' && e.budgetId === leafId);
  // None lost, none unknown: the ledger's reservations are exactly those the processes were given.
  expect(reserves.map((e) => e.seq).sort((a, b) => a - b)).toEqual([...made.keys()].sort((a, b) => a - b));
  const resolutions = new Map<number, LedgerEntry[]>();
  for (const e of entries) {
    if (e.reservationSeq === null || e.kind === 'reserve' || e.kind === 'overrun') continue;
    resolutions.set(e.reservationSeq, [...(resolutions.get(e.reservationSeq) ?? []), e]);
  }
  // Overruns are recorded, never hidden: one overrun entry per settlement above its reservation.
  const overruns = entries.filter((e) => e.kind === 'overrun');
  const above = [...made.values()].filter((m) => m.action === 'settle_above');
  expect(overruns).toHaveLength(above.length);
  expect(overruns.reduce((n, e) => n + e.amountMicros, 0)).toBe(above.reduce((n, m) => n + (m.actualMicros ?? 0) - m.amountMicros, 0));
  for (const [seq, m] of made) {
    const found = resolutions.get(seq) ?? [];
    expect(found.length, `rsv_${seq} resolved ${found.length} times`).toBe(1);
    const expected = m.action === 'expire' ? 'expire' : m.action === 'void' ? 'void' : 'settle';
    expect([found[0]?.kind, m.outcome ?? 'ok']).toEqual([expected, 'ok']);
    if (expected === 'settle') expect(found[0]?.amountMicros).toBe(m.actualMicros);
  }
}

async function checkEvents(store: Store, seen: number[], reports: WorkerReport[]): Promise<void> {
  const head = (await store.ledger({ order: 'desc', limit: 1 })).entries[0]?.seq ?? 0;
  for (let i = 0; i < 100 && (seen[seen.length - 1] ?? 0) < head; i += 1) await sleep(50);
  // Every entry, from every process, reached this process's subscriber once and in order.
  expect(seen).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  reports.forEach((r, i) => {
    for (let k = 1; k < r.seen.length; k += 1) expect(r.seen[k], `worker ${i} events out of order`).toBe((r.seen[k - 1] ?? 0) + 1);
    const others = new Set(reports.filter((_, j) => j !== i).flatMap((o) => o.made.map((m) => Number(m.id.slice(4)))));
    expect(r.seen.some((seq) => others.has(seq)), `worker ${i} saw no other process's entries`).toBe(true);
  });
}
