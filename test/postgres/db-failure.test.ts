import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { OffsetClock } from '../support/offset-clock.js';
import { startCutProxy } from './cut-proxy.js';
import { startThrowawayServer, type ThrowawayServer } from './pg-server.js';
import { allEntries, sleep } from './support.js';

// This test kills its own server, so it never uses the shared one (or DATABASE_URL).
let server: ThrowawayServer;
beforeAll(async () => {
  server = await startThrowawayServer();
});
afterAll(() => server.stop());

const ttlMs = 2_000;
const callers = 32;
const path = 'org/agent';
const timeouts = { connectTimeoutMs: 1_000, statementTimeoutMs: 3_000, queryTimeoutMs: 3_000, lockTimeoutMs: 3_000 };

/** What the load saw: each answer by code, and which reservations and settlements were admitted. */
interface Seen {
  codes: Map<string, number>;
  /** Admitted reservation ids, with the time they were answered. */
  reserved: Map<string, number>;
  settled: Set<string>;
  /** Promise rejections: any is a crash the caller would see. */
  rejections: unknown[];
}

function count(seen: Seen, code: string): void {
  seen.codes.set(code, (seen.codes.get(code) ?? 0) + 1);
}

/** Callers looping reserve → settle until told to stop; store_unavailable answers back off a little. */
function load(store: PostgresStore, seen: Seen, running: { on: boolean }): Promise<void[]> {
  async function caller(): Promise<void> {
    while (running.on) {
      try {
        const r = await store.reserve({ path, amountMicros: 1_000, ttlMs, onExpiry: 'release' });
        count(seen, r.ok ? 'ok' : r.code);
        if (!r.ok) {
          await sleep(20);
          continue;
        }
        seen.reserved.set(r.reservation.id, Date.now());
        const s = await store.settle({ reservationId: r.reservation.id, actualMicros: 900 });
        if (s.ok) seen.settled.add(r.reservation.id);
      } catch (error) {
        seen.rejections.push(error);
      }
    }
  }
  return Promise.all(Array.from({ length: callers }, caller));
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!condition() && Date.now() < until) await sleep(25);
  return condition();
}

describe('postgres store when the database fails', () => {
  it('answers store_unavailable when the answer to a commit is lost, and the reservation it made expires by TTL', { timeout: 30_000 }, async () => {
    // Proves the lost-answer case exactly: committed but unheard reservations hold budget only until their TTL, then the audit passes.
    const proxy = await startCutProxy(server.port);
    const clock = new OffsetClock();
    const store = await openPostgresStore({ url: server.url.replace(`:${server.port}/`, `:${proxy.port}/`), schema: 'lost_answer', timeouts, clock });
    try {
      expect((await store.createBudget({ path: 'org', limitMicros: 10_000 })).ok).toBe(true);
      proxy.loseNextCommitAnswer();
      // A caller that never heard of its reservation never used it: released at expiry, not charged.
      const lost = await store.reserve({ path: 'org', amountMicros: 4_000, ttlMs, onExpiry: 'release' });
      await proxy.cut();
      expect(lost.ok ? 'ok' : lost.code).toBe('store_unavailable');
      // The store reconnects by itself; the unheard reservation is on the books and holds its amount.
      const view = await store.getBudget('org');
      expect([view?.reservedMicros, view?.inflight]).toEqual([4_000, 1]);
      const refused = await store.reserve({ path: 'org', amountMicros: 7_000, ttlMs });
      expect(refused.ok ? 'ok' : refused.code).toBe('budget_exceeded');
      clock.advance(ttlMs + 100);
      const admitted = await store.reserve({ path: 'org', amountMicros: 7_000, ttlMs });
      expect(admitted.ok).toBe(true);
      const expired = (await store.ledger({ kinds: ['expire'] })).entries;
      expect(expired.map((e) => e.amountMicros)).toEqual([4_000]);
      const report = await store.audit();
      expect(report.problems).toEqual([]);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('answers store_unavailable while the server is down, recovers by itself, and loses nothing it admitted', { timeout: 90_000 }, async () => {
    // Proves fail-closed under a server crash: no crash, no admission without a record, self-recovery, lost answers expire, audit passes.
    const clock = new OffsetClock();
    const store = await openPostgresStore({ url: server.url, schema: 'failure', timeouts, clock });
    const watcher = await openPostgresStore({ url: server.url, schema: 'failure', timeouts });
    const delivered: number[] = [];
    watcher.subscribe((entries) => delivered.push(...entries.map((e) => e.seq)));
    // Entries from other processes are owed from the moment the watcher's feed listens.
    expect(await waitFor(() => watcher.eventsListening(), 10_000)).toBe(true);
    expect((await store.createBudget({ path: 'org', limitMicros: 1_000_000_000 })).ok).toBe(true);
    expect((await store.createBudget({ path, kind: 'agent', policy: { inflightMax: 10_000 } })).ok).toBe(true);
    const seen: Seen = { codes: new Map(), reserved: new Map(), settled: new Set(), rejections: [] };
    const running = { on: true };
    const loaded = load(store, seen, running);
    try {
      expect(await waitFor(() => (seen.codes.get('ok') ?? 0) > 200, 10_000)).toBe(true);
      await server.kill();
      expect(await waitFor(() => (seen.codes.get('store_unavailable') ?? 0) > 50, 10_000)).toBe(true);
      const okWhileDown = seen.codes.get('ok') ?? 0;
      await sleep(300);
      // Down means down: nothing was admitted while the server was gone.
      expect(seen.codes.get('ok') ?? 0).toBe(okWhileDown);
      await server.start();
      // The same store, never reopened, admits again once the server is back.
      expect(await waitFor(() => (seen.codes.get('ok') ?? 0) > okWhileDown + 200, 30_000)).toBe(true);
    } finally {
      running.on = false;
      await loaded;
    }
    expect(seen.rejections).toEqual([]);
    expect([...seen.codes.keys()].sort()).toEqual(['ok', 'store_unavailable']);
    clock.advance(ttlMs + 200);
    for (let i = 0; i < 100 && (await store.sweep()) > 0; i += 1);
    await checkLedger(store, seen);
    const report = await store.audit();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    await checkEvents(store, delivered);
    await Promise.all([store.close(), watcher.close()]);
  });
});

/** Every admitted reservation has its record; the ones nobody heard about (lost answers) expired. */
async function checkLedger(store: PostgresStore, seen: Seen): Promise<void> {
  const entries = await allEntries(store);
  const reserves = new Set(entries.filter((e) => e.kind === 'reserve').map((e) => `rsv_${e.seq}`));
  for (const id of seen.reserved.keys()) expect(reserves.has(id), `${id} admitted without a record`).toBe(true);
  const resolution = new Map<string, string[]>();
  for (const e of entries) {
    if (e.reservationSeq === null || e.kind === 'reserve') continue;
    const id = `rsv_${e.reservationSeq}`;
    resolution.set(id, [...(resolution.get(id) ?? []), e.kind]);
  }
  for (const id of reserves) {
    const kinds = resolution.get(id) ?? [];
    expect(kinds.length, `${id} resolved ${kinds.join(', ') || 'never'}`).toBe(1);
    // A settlement whose answer was lost may have committed; nothing else resolves an unknown reservation.
    if (seen.settled.has(id)) expect(kinds).toEqual(['settle']);
    else if (!seen.reserved.has(id)) expect(kinds).toEqual(['expire']);
    else expect(['settle', 'expire']).toContain(kinds[0]);
  }
  const agent = await store.getBudget(path);
  expect([agent?.reservedMicros, agent?.inflight]).toEqual([0, 0]);
}

/** The subscriber in the other handle got every entry exactly once, in order, across the outage. */
async function checkEvents(store: PostgresStore, delivered: number[]): Promise<void> {
  const head = (await store.ledger({ order: 'desc', limit: 1 })).entries[0]?.seq ?? 0;
  await waitFor(() => (delivered[delivered.length - 1] ?? 0) >= head, 15_000);
  expect(delivered).toEqual(Array.from({ length: head }, (_, i) => i + 1));
}
