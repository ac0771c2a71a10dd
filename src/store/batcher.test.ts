import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { limits } from '../core/index.js';
import { openSqliteStore, type Store } from './index.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-batcher-'));
  store = openSqliteStore({ path: join(dir, 'q.db') });
  expect((await store.createBudget({ path: 'org', policy: { inflightMax: limits.inflightMax } })).ok).toBe(true);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the group commit queue', () => {
  it('refuses new work past its bound with store_unavailable, and still takes settlements', async () => {
    // Proves the queue is bounded: a burst beyond it is refused at once (nothing recorded), what resolves existing reservations is never turned away.
    const first = await store.reserve({ path: 'org', amountMicros: 1 });
    if (!first.ok) throw new Error(first.message);
    const extra = 50;
    const burst = Array.from({ length: limits.commitQueueOpsMax + extra }, () => store.reserve({ path: 'org', amountMicros: 1 }));
    const settled = store.settle({ reservationId: first.reservation.id, actualMicros: 1 });
    const results = await Promise.all(burst);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(extra);
    expect(new Set(refused.map((r) => (r.ok ? 'ok' : r.code)))).toEqual(new Set(['store_unavailable']));
    expect((await settled).ok).toBe(true);
    expect((await store.ledger({ kinds: ['reserve'], limit: 1, order: 'desc' })).entries[0]?.seq).toBeGreaterThan(limits.commitQueueOpsMax);
    const org = await store.getBudget('org');
    expect([org?.inflight, org?.spentMicros]).toEqual([limits.commitQueueOpsMax, 1]);
    expect((await store.reserve({ path: 'org', amountMicros: 1 })).ok).toBe(true);
  });
});
