import { afterAll, describe, expect, inject, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchemas, forkScript, freshSchema, nextMessage, stopChild } from './support.js';
import type { BurnWorkerConfig, BurnWorkerReport } from './burn-worker.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

const processes = 4;
const agent = 'org/agent';
const amountMicros = 1_000;
/** 100 calls of 1,000 micros fit in the minute; the 101st trips the breaker. */
const burnLimit = { amountMicros: 100_000, windowMs: 60_000 };
const workerTimeoutMs = 60_000;

describe('burn limits across OS processes', () => {
  it('trips the breaker once when four processes burst at one agent, and it holds for all of them', { timeout: 120_000 }, async () => {
    // Proves the burn window and the breaker are shared ledger state: one trip, no admission after it in any process, exact count admitted.
    const schema = freshSchema('burn');
    schemas.add(schema);
    const store = await openPostgresStore({ url, schema });
    expect((await store.createBudget({ path: 'org', kind: 'org' })).ok).toBe(true);
    expect((await store.createBudget({ path: agent, kind: 'agent', policy: { inflightMax: 1_000, burnLimits: [burnLimit] } })).ok).toBe(true);
    const workers = Array.from({ length: processes }, () => {
      const config: BurnWorkerConfig = { url, schema, path: agent, callers: 20, amountMicros, refusalsToStop: 5 };
      return forkScript(new URL('./burn-worker.ts', import.meta.url), { BURSAR_WORKER: JSON.stringify(config) });
    });
    try {
      await Promise.all(workers.map((w) => nextMessage(w, 'ready', workerTimeoutMs)));
      const done = Promise.all(workers.map((w) => nextMessage<BurnWorkerReport>(w, 'report', workerTimeoutMs)));
      for (const w of workers) w.send({ type: 'go' });
      const reports = await done;

      const admitted = reports.flatMap((r) => r.admitted);
      expect(admitted).toHaveLength(burnLimit.amountMicros / amountMicros);
      for (const r of reports) {
        expect(Object.keys(r.refusals)).toEqual(['burn_limit']);
        expect(r.refusals.burn_limit).toBeGreaterThanOrEqual(20 * 5);
        for (const ms of r.retryAfterMs) expect(ms).toBeGreaterThan(0);
      }
      const tripped = (await store.ledger({ kinds: ['breaker_tripped'] })).entries;
      expect(tripped).toHaveLength(1);
      const lastReserve = (await store.ledger({ kinds: ['reserve'], order: 'desc', limit: 1 })).entries[0];
      expect(lastReserve?.seq ?? 0).toBeLessThan(tripped[0]?.seq ?? 0);
      const view = await store.getBudget(agent);
      expect([view?.breaker, view?.spentMicros, view?.burn[0]?.burnMicros]).toEqual(['open', burnLimit.amountMicros, burnLimit.amountMicros]);
      const report = await store.audit();
      expect(report.problems).toEqual([]);
    } finally {
      await Promise.all(workers.map((w) => stopChild(w, 10_000)));
      await store.close();
    }
  });
});
