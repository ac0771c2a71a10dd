import { afterAll, describe, expect, inject, it } from 'vitest';
import { burstAgent, burstFromProcesses, dropSchemas, expectTrippedOnce } from './support.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

const amountMicros = 1_000;
/** 100 calls of 1,000 micros fit in the minute; the 101st trips the breaker. */
const burnLimit = { amountMicros: 100_000, windowMs: 60_000 };

describe('burn limits across OS processes', () => {
  it('trips the breaker once when four processes burst at one agent, and it holds for all of them', { timeout: 120_000 }, async () => {
    // Proves the burn window and the breaker are shared ledger state: one trip, no admission after it in any process, exact count admitted.
    const burst = { url, schemas, schemaPrefix: 'burn', processes: 4, workerTimeoutMs: 60_000 };
    const worker = { callers: 20, amountMicros, refusalsToStop: 5 };
    await burstFromProcesses({ ...burst, policy: { inflightMax: 1_000, burnLimits: [burnLimit] }, worker }, async (store, reports) => {
      const admitted = reports.flatMap((r) => r.admitted);
      expect(admitted).toHaveLength(burnLimit.amountMicros / amountMicros);
      await expectTrippedOnce(store, reports, 'burn_limit', 20 * 5);
      const view = await store.getBudget(burstAgent);
      expect([view?.breaker, view?.spentMicros, view?.burn[0]?.burnMicros]).toEqual(['open', burnLimit.amountMicros, burnLimit.amountMicros]);
    });
  });
});
