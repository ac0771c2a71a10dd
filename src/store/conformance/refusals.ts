import { describe, expect, it } from 'vitest';
import type { RefusalWrite } from '../refusals.js';
import type { Store } from '../store.js';
import { allEntries, allPages, budget, conformanceStartMs, expectAuditOk, ok, storePerTest, usd } from './helpers.js';
import type { ConformanceTarget } from './target.js';

/** A refusal row to write, `over` changing what a test needs. */
function row(over: Partial<RefusalWrite> = {}): RefusalWrite {
  return {
    id: null,
    firstMs: conformanceStartMs,
    lastMs: conformanceStartMs,
    count: 1,
    code: 'budget_exceeded',
    status: 402,
    budget: 'acme/research/bot',
    agent: 'acme/research/bot',
    tokenIdPrefix: 'tok_AbCdEfGh',
    model: 'gpt-4o-mini',
    tool: null,
    amountMicros: 41_005,
    message: 'budget acme/research/bot has 1000 micros left',
    requestId: 'req_1',
    route: '/v1/chat/completions',
    ...over,
  };
}

const keepAll = { rowsMax: 1_000, keepSinceMs: 0 };

/**
 * The refusals table every store keeps beside its ledger: rows written and rewritten by id,
 * read in pages with filters, bounded by count and age, and never part of the ledger.
 */
export function runRefusalConformance(target: ConformanceTarget): void {
  describe(`store refusals: ${target.name}`, () => {
    let store: Store;
    storePerTest(target, (opened) => ({ store } = opened), () => store);

    it('writes rows outside the ledger and rewrites a row by its id', async () => {
      // Proves refusals move no money and write no entry, and that a coalesced row is updated in place.
      ok(await store.createBudget({ path: 'acme/research/bot', kind: 'agent', limitMicros: usd(1), createParents: true }));
      const before = await allEntries(store);
      const [id, other] = await store.writeRefusals([row(), row({ code: 'burn_limit', status: 429 })], keepAll);
      expect(other).toBeGreaterThan(id ?? 0);
      const [same] = await store.writeRefusals([row({ id: id ?? null, count: 5, lastMs: conformanceStartMs + 900, message: 'latest', requestId: 'req_5' })], keepAll);
      expect(same).toBe(id);
      const page = await store.refusals({});
      expect(page.refusals).toHaveLength(2);
      expect(page.refusals[0]).toMatchObject({ id, count: 5, firstMs: conformanceStartMs, lastMs: conformanceStartMs + 900, message: 'latest', requestId: 'req_5', amountMicros: 41_005, tokenIdPrefix: 'tok_AbCdEfGh' });
      expect(await allEntries(store)).toEqual(before);
      expect((await budget(store, 'acme/research/bot')).spentMicros).toBe(0);
      await expectAuditOk(store);
    });

    it('filters by agent, budget subtree, code and time, and pages by cursor both ways', async () => {
      // Proves every filter of the refusal list and complete paging.
      const rows = [
        row({ agent: 'acme/a', budget: 'acme/a/tok_1', firstMs: 1_000, lastMs: 1_500 }),
        row({ agent: 'acme/b', budget: 'acme/b', code: 'too_many_inflight', status: 429, firstMs: 2_000, lastMs: 2_000 }),
        row({ agent: 'acme/a', budget: 'acme', firstMs: 3_000, lastMs: 9_000 }),
        row({ agent: 'acme/a_b', budget: 'acme/a_b', firstMs: 4_000, lastMs: 4_000 }),
        row({ agent: null, budget: null, code: 'store_unavailable', status: 503, firstMs: 5_000, lastMs: 5_000 }),
      ];
      const ids = await store.writeRefusals(rows, keepAll);
      const idsOf = async (q: Parameters<Store['refusals']>[0]) => (await store.refusals(q)).refusals.map((r) => r.id);
      expect(await idsOf({ agent: 'acme/a' })).toEqual([ids[0], ids[2]]);
      expect(await idsOf({ budget: 'acme/a' })).toEqual([ids[0]]);
      expect(await idsOf({ budget: 'acme' })).toEqual([ids[0], ids[1], ids[2], ids[3]]);
      expect(await idsOf({ code: 'too_many_inflight' })).toEqual([ids[1]]);
      expect(await idsOf({ sinceMs: 4_000 })).toEqual([ids[2], ids[3], ids[4]]);
      expect(await idsOf({ untilMs: 3_000 })).toEqual([ids[0], ids[1]]);
      expect(await idsOf({ order: 'desc', limit: 2 })).toEqual([ids[4], ids[3]]);
      const paged = await allPages(async (cursor) => {
        const page = await store.refusals({ cursor, limit: 2 });
        return { items: page.refusals.map((r) => r.id), nextCursor: page.nextCursor };
      });
      expect(paged).toEqual(ids);
    });

    it('keeps at most the newest rows retention allows, and none older than it keeps', async () => {
      // Proves the table is bounded: by count (oldest rows go first) and by age of the last refusal.
      const ids = await store.writeRefusals(Array.from({ length: 8 }, (_, i) => row({ requestId: `req_${i}`, firstMs: i * 1_000, lastMs: i * 1_000 })), { rowsMax: 5, keepSinceMs: 0 });
      expect((await store.refusals({})).refusals.map((r) => r.id)).toEqual(ids.slice(3));
      await store.writeRefusals([row({ firstMs: 8_000, lastMs: 8_000 })], { rowsMax: 5, keepSinceMs: 6_000 });
      expect((await store.refusals({})).refusals.map((r) => r.lastMs)).toEqual([6_000, 7_000, 8_000]);
    });

    it('inserts again a row that retention deleted while it was still counting', async () => {
      // Proves a rewrite of a deleted row is not lost: it comes back with a new id.
      const [id] = await store.writeRefusals([row({ firstMs: 1_000, lastMs: 1_000 })], keepAll);
      await store.writeRefusals([], { rowsMax: 1_000, keepSinceMs: 2_000 });
      const [again] = await store.writeRefusals([row({ id: id ?? null, count: 3, firstMs: 1_000, lastMs: 3_000 })], keepAll);
      expect(again).not.toBe(id);
      expect((await store.refusals({})).refusals).toMatchObject([{ id: again, count: 3 }]);
    });
  });
}
