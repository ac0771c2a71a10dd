import { afterAll, describe, expect, inject, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchemas, forkScript, freshSchema, nextMessage, stopChild } from './support.js';
import type { BurnWorkerConfig, BurnWorkerReport } from './burn-worker.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

const processes = 3;
const agent = 'org/agent';
/** 30 repeats of one request fit in the window; the 31st is a loop. */
const loopLimit = { repeats: 30, windowMs: 10 * 60_000 };
const workerTimeoutMs = 60_000;

describe('loop detection across OS processes', () => {
  it('trips the breaker once when three processes send the same request, and it holds for all of them', { timeout: 120_000 }, async () => {
    // Proves the fingerprint counts are shared ledger state on PostgreSQL: exactly the limit admitted, one trip, nothing after it in any process.
    const schema = freshSchema('loop');
    schemas.add(schema);
    const store = await openPostgresStore({ url, schema });
    expect((await store.createBudget({ path: 'org', kind: 'org' })).ok).toBe(true);
    expect((await store.createBudget({ path: agent, kind: 'agent', policy: { inflightMax: 1_000, burnLimits: [], loopLimit } })).ok).toBe(true);
    const workers = Array.from({ length: processes }, () => {
      const config: BurnWorkerConfig = { url, schema, path: agent, callers: 10, amountMicros: 1_000, refusalsToStop: 3, fingerprint: 'fpStuckAgent' };
      return forkScript(new URL('./burn-worker.ts', import.meta.url), { BURSAR_WORKER: JSON.stringify(config) });
    });
    try {
      await Promise.all(workers.map((w) => nextMessage(w, 'ready', workerTimeoutMs)));
      const done = Promise.all(workers.map((w) => nextMessage<BurnWorkerReport>(w, 'report', workerTimeoutMs)));
      for (const w of workers) w.send({ type: 'go' });
      const reports = await done;

      const admitted = reports.flatMap((r) => r.admitted).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
      expect(admitted).toHaveLength(loopLimit.repeats);
      for (const r of reports) {
        expect(Object.keys(r.refusals)).toEqual(['loop_detected']);
        expect(r.refusals.loop_detected).toBeGreaterThanOrEqual(10 * 3);
        for (const ms of r.retryAfterMs) expect(ms).toBeGreaterThan(0);
      }
      const tripped = (await store.ledger({ kinds: ['breaker_tripped'] })).entries;
      expect(tripped).toHaveLength(1);
      expect(JSON.parse(tripped[0]?.data ?? '{}')).toMatchObject({ code: 'loop_detected', count: loopLimit.repeats, firstRequest: admitted[0], lastRequest: admitted.at(-1) });
      const lastReserve = (await store.ledger({ kinds: ['reserve'], order: 'desc', limit: 1 })).entries[0];
      expect(lastReserve?.seq ?? 0).toBeLessThan(tripped[0]?.seq ?? 0);
      const view = await store.getBudget(agent);
      expect([view?.breaker, view?.breakerCode, view?.loop?.mostRepeated?.count]).toEqual(['open', 'loop_detected', loopLimit.repeats]);
      expect((await store.audit()).problems).toEqual([]);
    } finally {
      await Promise.all(workers.map((w) => stopChild(w, 10_000)));
      await store.close();
    }
  });
});
