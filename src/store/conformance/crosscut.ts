import { describe, expect, it } from 'vitest';
import type { LedgerEntry, Policy, Reserve } from '../../core/index.js';
import type { Store } from '../store.js';
import { acmeTree, allEntries, budget, expectAuditOk, ok, refused, storePerTest, usd } from './helpers.js';
import type { SimClock } from './sim-clock.js';
import type { ConformanceTarget } from './target.js';

const hourMs = 3_600_000;

function data(e: LedgerEntry | undefined): Record<string, unknown> {
  return JSON.parse(e?.data ?? '{}') as Record<string, unknown>;
}

/** Spent, reserved and in flight of each budget, in the order asked. */
async function balances(store: Store, ...paths: string[]): Promise<[number, number, number][]> {
  return Promise.all(paths.map(async (p) => {
    const b = await budget(store, p);
    return [b.spentMicros, b.reservedMicros, b.inflight] as [number, number, number];
  }));
}

/**
 * Model, tag and provider budgets, brownout tiers and fallbacks, on every store: held in the
 * reservation's own transaction besides the chain, refused with the budget that refused, and
 * replayed by the audit.
 */
export function runCrossConformance(target: ConformanceTarget): void {
  describe(`store cross-cutting budgets: ${target.name}`, () => {
    let clock: SimClock;
    let store: Store;
    storePerTest(target, (opened) => ({ clock, store } = opened), () => store);

    /** acme (100 USD) > research (50 USD) > bot, and the bot's reservation for a model. */
    async function tree(): Promise<void> {
      await acmeTree(store, { limitMicros: usd(50) }, { policy: { inflightMax: 1_000, burnLimits: [] } });
    }

    const call = (model: string, amountMicros: number, extra: Partial<Reserve> = {}) => store.reserve({ path: 'acme/research/bot', amountMicros, labels: { model }, ...extra });

    describe('model budgets', () => {
      it('admits exactly what a model sub-budget holds under a race of 200 calls, and leaves the budget\'s other models alone', async () => {
        // Proves the sub-limit is checked and held in the chain's transaction: 37 of 200 concurrent calls fit, other models still pass.
        await tree();
        ok(await store.createBudget({ path: 'acme/research/model:gpt-4o*', kind: 'model', limitMicros: 37 * 10_000, period: 'day' }));
        const race = await Promise.all(Array.from({ length: 200 }, () => call('gpt-4o', 10_000)));
        const refusals = race.filter((r) => !r.ok);
        expect(race.filter((r) => r.ok)).toHaveLength(37);
        expect(refusals).toHaveLength(163);
        for (const r of refusals) expect([r.ok ? '' : r.code, r.ok ? '' : r.budget]).toEqual(['budget_exceeded', 'acme/research/model:gpt-4o*']);
        ok(await call('claude-sonnet-4-5', 10_000));
        ok(await call('gpt-4.1-mini', 10_000));
        expect(await balances(store, 'acme/research/model:gpt-4o*', 'acme/research', 'acme')).toEqual([
          [0, 370_000, 37],
          [0, 390_000, 39],
          [0, 390_000, 39],
        ]);
        await expectAuditOk(store);
      });

      it('settles, voids and expires on the model budget with the chain, across a restart, and the audit replays it', async () => {
        // Proves every resolution finds the extra budget from the reserve entry alone, after a reopen too.
        await tree();
        ok(await store.createBudget({ path: 'acme/research/model:gpt-4o', kind: 'model', limitMicros: usd(1), period: 'day' }));
        const settled = ok(await call('gpt-4o', 300_000));
        const voided = ok(await call('gpt-4o', 200_000));
        const expiring = ok(await call('gpt-4o', 100_000, { ttlMs: 1_000, onExpiry: 'release' }));
        const charged = ok(await call('gpt-4o', 100_000, { ttlMs: 1_000, onExpiry: 'charge' }));
        expect(data((await store.ledger({ kinds: ['reserve'] })).entries[0])).toMatchObject({ also: [expect.any(Number)] });
        store = await target.reopen(store, clock);
        ok(await store.settle({ reservationId: settled.reservation.id, actualMicros: 250_000 }));
        ok(await store.void({ reservationId: voided.reservation.id }));
        clock.advance(2_000);
        await store.sweep();
        expect(await balances(store, 'acme/research/model:gpt-4o', 'acme')).toEqual([
          [350_000, 0, 0],
          [350_000, 0, 0],
        ]);
        ok(await store.settle({ reservationId: expiring.reservation.id, actualMicros: 40_000 }));
        ok(await store.settle({ reservationId: charged.reservation.id, actualMicros: 30_000 }));
        expect(await balances(store, 'acme/research/model:gpt-4o', 'acme/research', 'acme')).toEqual([
          [320_000, 0, 0],
          [320_000, 0, 0],
          [320_000, 0, 0],
        ]);
        clock.set(Date.UTC(2026, 1, 1, 0, 30));
        ok(await call('gpt-4o', usd(1)));
        expect((await budget(store, 'acme/research/model:gpt-4o')).spentMicros).toBe(0);
        await expectAuditOk(store);
      });

      it('names the model budget that refuses, paused or closed, and only for its own models', async () => {
        // Proves a model budget's status and limit refuse with the same shape as any budget, and nothing is written.
        await tree();
        ok(await store.createBudget({ path: 'acme/research/model:claude-*', kind: 'model', limitMicros: usd(1) }));
        ok(await store.setStatus({ path: 'acme/research/model:claude-*', status: 'paused' }));
        const before = (await allEntries(store)).length;
        const paused = refused(await call('claude-sonnet-4-5', 1_000), 'budget_paused');
        expect(paused.budget).toBe('acme/research/model:claude-*');
        expect((await allEntries(store)).length).toBe(before);
        ok(await call('gpt-4o', 1_000));
        ok(await store.setStatus({ path: 'acme/research/model:claude-*', status: 'active' }));
        const over = refused(await call('claude-haiku-4-5', usd(2)), 'budget_exceeded');
        expect([over.budget, over.remainingMicros]).toEqual(['acme/research/model:claude-*', usd(1)]);
        ok(await call('claude-haiku-4-5', usd(1)));
        await expectAuditOk(store);
      });

      it('refuses misplaced model budgets, tokens and moves with a clear code', async () => {
        // Proves naming and placement rules: model:<glob> under an ordinary budget, nothing under it, no tokens, no moves.
        await tree();
        refused(await store.createBudget({ path: 'acme/research/gpt-4o', kind: 'model' }), 'invalid_name');
        refused(await store.createBudget({ path: 'model:gpt-4o', kind: 'model' }), 'invalid_name');
        refused(await store.createBudget({ path: 'acme/research/model:gpt 4o', kind: 'model' }), 'invalid_path');
        refused(await store.createBudget({ path: 'acme/research/model:gpt-4o' }), 'invalid_name');
        ok(await store.createBudget({ path: 'acme/research/model:gpt-4o', kind: 'model', limitMicros: usd(1) }));
        refused(await store.createBudget({ path: 'acme/research/model:gpt-4o/x', kind: 'agent' }), 'invalid_name');
        refused(await store.mintToken({ path: 'acme/research/model:gpt-4o', tokenId: 'tok_crosscut01', hash: 'a'.repeat(64) }), 'invalid_path');
        refused(await store.moveBudget({ path: 'acme/research/model:gpt-4o', parent: 'acme' }), 'invalid_path');
        refused(await store.updateBudget({ path: 'acme/research/model:gpt-4o', policyPatch: { fallbacks: [{ from: 'gpt-4o', to: ['gpt-4o-mini'] }] } }), 'invalid_policy');
        await expectAuditOk(store);
      });
    });

    describe('tag and provider budgets', () => {
      it('holds a tag budget shared by two orgs, ignores tags without a budget, and counts a call once on the tags root', async () => {
        // Proves tags reach their budgets from anywhere in the tree, in the same transaction, and the root sums calls once.
        await tree();
        ok(await store.createBudget({ path: 'beta/ops/bot', kind: 'agent', createParents: true, policy: { inflightMax: 1_000, burnLimits: [] } }));
        ok(await store.createBudget({ path: 'tags/product:chat-bot', kind: 'tag', limitMicros: 10_000, period: 'day' }));
        ok(await store.createBudget({ path: 'tags/customer:42', kind: 'tag' }));
        expect((await budget(store, 'tags')).kind).toBe('tag');
        const tags = ['product:chat-bot', 'customer:42', 'unbudgeted'];
        const race = await Promise.all(Array.from({ length: 30 }, (_, i) => store.reserve({ path: i % 2 ? 'acme/research/bot' : 'beta/ops/bot', amountMicros: 1_000, tags })));
        expect(race.filter((r) => r.ok)).toHaveLength(10);
        const refusal = race.find((r) => !r.ok);
        expect(refusal && !refusal.ok ? [refusal.code, refusal.budget] : []).toEqual(['budget_exceeded', 'tags/product:chat-bot']);
        ok(await store.reserve({ path: 'beta/ops/bot', amountMicros: 1_000, tags: ['customer:42'] }));
        expect(await balances(store, 'tags/product:chat-bot', 'tags/customer:42', 'tags')).toEqual([
          [0, 10_000, 10],
          [0, 11_000, 11],
          [0, 11_000, 11],
        ]);
        const entry = (await store.ledger({ kinds: ['reserve'], limit: 1 })).entries[0];
        expect(data(entry).tags).toEqual(tags);
        await expectAuditOk(store);
      });

      it('holds a provider budget for the whole installation when the call names its provider', async () => {
        // Proves provider budgets cap every call the provider serves, whichever budget it comes from.
        await tree();
        ok(await store.createBudget({ path: 'providers/openai', kind: 'provider', limitMicros: 5_000, period: 'day' }));
        ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 4_000, provider: 'openai' }));
        const over = refused(await store.reserve({ path: 'acme', amountMicros: 2_000, provider: 'openai' }), 'budget_exceeded');
        expect([over.budget, over.remainingMicros]).toEqual(['providers/openai', 1_000]);
        ok(await store.reserve({ path: 'acme', amountMicros: 2_000, provider: 'anthropic' }));
        clock.advance(hourMs);
        await expectAuditOk(store);
      });

      it('lists the model, tag and provider budgets, and only those, sorted by path', async () => {
        // Proves crossBudgets reads what a balance shows beside a chain without the rest of the tree.
        await tree();
        ok(await store.createBudget({ path: 'providers/openai', kind: 'provider', limitMicros: 5_000, period: 'day' }));
        ok(await store.createBudget({ path: 'tags/product:chat', kind: 'tag', limitMicros: 5_000, period: 'day' }));
        ok(await store.createBudget({ path: 'acme/research/model:gpt-4o*', kind: 'model', limitMicros: 5_000, period: 'day' }));
        const cross = await store.crossBudgets();
        expect(cross.map((b) => [b.path, b.kind])).toEqual([
          ['acme/research/model:gpt-4o*', 'model'],
          ['providers', 'provider'],
          ['providers/openai', 'provider'],
          ['tags', 'tag'],
          ['tags/product:chat', 'tag'],
        ]);
        const all = await store.listBudgets();
        expect(cross).toEqual(all.filter((b) => ['model', 'tag', 'provider'].includes(b.kind)));
      });

      it('refuses a call without a tag its chain requires, naming the budget', async () => {
        // Proves required tags: a key is met by key:value, a whole tag only by itself, each level by its own.
        await tree();
        ok(await store.updateBudget({ path: 'acme', policyPatch: { requiredTags: ['product'] } }));
        ok(await store.updateBudget({ path: 'acme/research', policyPatch: { requiredTags: ['env:prod'] } }));
        const none = refused(await call('gpt-4o', 1_000), 'tag_required');
        expect([none.budget, none.field]).toEqual(['acme', 'tags']);
        expect(refused(await call('gpt-4o', 1_000, { tags: ['product:chat', 'env:dev'] }), 'tag_required').budget).toBe('acme/research');
        refused(await call('gpt-4o', 1_000, { tags: ['products:x', 'env:prod'] }), 'tag_required');
        ok(await call('gpt-4o', 1_000, { tags: ['product:chat', 'env:prod'] }));
        await expectAuditOk(store);
      });

      it('refuses misplaced tag and provider budgets and bad tags', async () => {
        // Proves the roots are reserved, names are checked, and a call's tags are validated before anything is read.
        await tree();
        refused(await store.createBudget({ path: 'tags/a/b', kind: 'tag' }), 'invalid_path');
        refused(await store.createBudget({ path: 'acme/x', kind: 'tag' }), 'invalid_path');
        refused(await store.createBudget({ path: 'providers/Open AI', kind: 'provider' }), 'invalid_path');
        refused(await store.createBudget({ path: 'tags', kind: 'org' }), 'invalid_name');
        refused(await store.createBudget({ path: 'tags/x', kind: 'tag', policy: { requiredTags: ['x'] } }), 'invalid_policy');
        refused(await call('gpt-4o', 1, { tags: ['bad tag'] }), 'invalid_label');
        refused(await call('gpt-4o', 1, { tags: ['a', 'a'] }), 'invalid_label');
        refused(await call('gpt-4o', 1, { provider: 'Open AI' }), 'invalid_label');
        expect(await allEntries(store)).toHaveLength(3);
      });
    });

    describe('brownout and fallbacks', () => {
      const amounts = { 'gpt-4o': 10_000, 'gpt-4o-mini': 1_000, 'gpt-4.1-nano': 500 };

      it('sends calls to the cheaper model once the budget is past its tier, judged on the reservation\'s own state', async () => {
        // Proves brownout: below the tier the model asked for is reserved, past it the cheaper one, recorded with both models.
        await tree();
        ok(await store.updateBudget({ path: 'acme/research', limitMicros: 100_000, policyPatch: { brownout: [{ atPct: 50, from: 'gpt-4o', to: 'gpt-4o-mini' }] } }));
        const below = ok(await call('gpt-4o', 10_000, { modelAmounts: amounts }));
        expect([below.reservation.labels.model, below.reservation.amountMicros, below.downgradedFrom]).toEqual(['gpt-4o', 10_000, undefined]);
        ok(await call('gpt-4o', 40_000));
        const past = ok(await call('gpt-4o', 10_000, { modelAmounts: amounts }));
        expect([past.reservation.labels.model, past.reservation.amountMicros, past.downgradedFrom, past.route]).toEqual(['gpt-4o-mini', 1_000, 'gpt-4o', 'brownout']);
        const entry = (await store.ledger({ kinds: ['reserve'], order: 'desc', limit: 1 })).entries[0];
        expect([entry?.model, entry?.amountMicros, data(entry).requestedModel, data(entry).route]).toEqual(['gpt-4o-mini', 1_000, 'gpt-4o', 'brownout']);
        const unpriced = ok(await call('gpt-4o', 10_000, { modelAmounts: { 'gpt-4o': 10_000 } }));
        expect(unpriced.reservation.labels.model).toBe('gpt-4o');
        const shadow = ok(await call('gpt-4o', 10_000, { modelAmounts: amounts, enforce: false }));
        expect(shadow.reservation.labels.model).toBe('gpt-4o');
        await expectAuditOk(store);
      });

      it('tries the fallbacks in order when a model\'s budget is spent, and lists every model tried when none fits', async () => {
        // Proves fallbacks: A exhausted → B used; all exhausted → the first refusal, naming each model and budget tried.
        await tree();
        ok(await store.updateBudget({ path: 'acme/research', policyPatch: { fallbacks: [{ from: 'gpt-4o*', to: ['gpt-4o-mini', 'gpt-4.1-nano', 'o3'] }] } }));
        ok(await store.createBudget({ path: 'acme/research/model:gpt-4o', kind: 'model', limitMicros: 10_000 }));
        ok(await store.createBudget({ path: 'acme/research/model:gpt-4o-mini', kind: 'model', limitMicros: 1_000 }));
        ok(await call('gpt-4o', 10_000, { modelAmounts: amounts }));
        const fell = ok(await call('gpt-4o', 10_000, { modelAmounts: amounts }));
        expect([fell.reservation.labels.model, fell.reservation.amountMicros, fell.downgradedFrom, fell.route]).toEqual(['gpt-4o-mini', 1_000, 'gpt-4o', 'fallback']);
        ok(await store.updateBudget({ path: 'acme/research', limitMicros: 11_400 }));
        const none = refused(await call('gpt-4o', 10_000, { modelAmounts: amounts }), 'budget_exceeded');
        expect(none.budget).toBe('acme/research/model:gpt-4o');
        expect(none.tried).toEqual([
          { model: 'gpt-4o', code: 'budget_exceeded', budget: 'acme/research/model:gpt-4o' },
          { model: 'gpt-4o-mini', code: 'budget_exceeded', budget: 'acme/research/model:gpt-4o-mini' },
          { model: 'gpt-4.1-nano', code: 'budget_exceeded', budget: 'acme/research' },
          { model: 'o3', code: 'model_unpriced' },
        ]);
        expect(none.message).toContain('fallbacks tried: gpt-4o-mini (budget_exceeded on acme/research/model:gpt-4o-mini), gpt-4.1-nano (budget_exceeded on acme/research), o3 (not priced for this call)');
        await expectAuditOk(store);
      });

      it('refuses a tier over 100%, a cycle and a tier to a glob as invalid policy, and writes nothing', async () => {
        // Proves the routing policy is checked at the edge with the field that is wrong.
        await tree();
        const before = (await allEntries(store)).length;
        const cases: [Policy, string][] = [
          [{ brownout: [{ atPct: 120, from: 'gpt-4o', to: 'gpt-4o-mini' }] }, 'policy.brownout.0.atPct'],
          [{ brownout: [{ atPct: 80, from: 'gpt-4o', to: 'gpt-4o*' }] }, 'policy.brownout.0.to'],
          [{ brownout: [{ atPct: 80, from: 'a', to: 'b' }, { atPct: 90, from: 'b', to: 'a' }] }, 'policy.brownout'],
          [{ fallbacks: [{ from: 'gpt-4o', to: ['gpt-4o-mini'] }, { from: 'gpt-4o-mini', to: ['gpt-4o'] }] }, 'policy.fallbacks'],
          [{ fallbacks: [{ from: 'gpt-4o', to: [] }] }, 'policy.fallbacks.0.to'],
          [{ requiredTags: ['no spaces'] }, 'policy.requiredTags.0'],
        ];
        for (const [policy, field] of cases) {
          const r = refused(await store.updateBudget({ path: 'acme/research', policy }), 'invalid_policy');
          expect(r.field, JSON.stringify(policy)).toBe(field);
        }
        expect(refused(await store.updateBudget({ path: 'acme', policy: { fallbacks: [{ from: 'a', to: ['b'] }, { from: 'b', to: ['c'] }, { from: 'c', to: ['a'] }] } }), 'invalid_policy').message).toContain('a → b → c → a');
        expect((await allEntries(store)).length).toBe(before);
      });
    });
  });
}
