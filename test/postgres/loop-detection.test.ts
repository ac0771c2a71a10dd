import { afterAll, describe, expect, inject, it } from 'vitest';
import { burstAgent, burstFromProcesses, dropSchemas, expectTrippedOnce } from './support.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

/** 30 repeats of one request fit in the window; the 31st is a loop. */
const loopLimit = { repeats: 30, windowMs: 10 * 60_000 };

describe('loop detection across OS processes', () => {
  it('trips the breaker once when three processes send the same request, and it holds for all of them', { timeout: 120_000 }, async () => {
    // Proves the fingerprint counts are shared ledger state on PostgreSQL: exactly the limit admitted, one trip, nothing after it in any process.
    const burst = { url, schemas, schemaPrefix: 'loop', processes: 3, workerTimeoutMs: 60_000 };
    const worker = { callers: 10, amountMicros: 1_000, refusalsToStop: 3, fingerprint: 'fpStuckAgent' };
    await burstFromProcesses({ ...burst, policy: { inflightMax: 1_000, burnLimits: [], loopLimit }, worker }, async (store, reports) => {
      const admitted = reports.flatMap((r) => r.admitted).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
      expect(admitted).toHaveLength(loopLimit.repeats);
      const trip = await expectTrippedOnce(store, reports, 'loop_detected', 10 * 3);
      expect(JSON.parse(trip?.data ?? '{}')).toMatchObject({ code: 'loop_detected', count: loopLimit.repeats, firstRequest: admitted[0], lastRequest: admitted.at(-1) });
      const view = await store.getBudget(burstAgent);
      expect([view?.breaker, view?.breakerCode, view?.loop?.mostRepeated?.count]).toEqual(['open', 'loop_detected', loopLimit.repeats]);
    });
  });
});
