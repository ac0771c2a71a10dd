import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../core/index.js';
import type { Store } from '../store.js';
import { runCheckpointConformance } from './checkpoints.js';
import { runCrossConformance } from './crosscut.js';
import { runGuardConformance } from './guards.js';
import { runLoopConformance } from './loops.js';
import { runRefusalConformance } from './refusals.js';
import { runWebhookConformance } from './webhooks.js';
import { acmeTree, allEntries, allPages, budget, conformanceStartMs, expectAuditOk, ok, refused, storePerTest, usd } from './helpers.js';
import { runModelProperty } from './model.js';
import { SimClock } from './sim-clock.js';
import type { ConformanceTarget } from './target.js';

/**
 * The behaviour every store must show, run unchanged against each backend.
 *
 * @example
 * runStoreConformance({ name: 'sqlite', open: …, reopen: …, openSecond: …, tamperLedgerAmount: … });
 */
export function runStoreConformance(target: ConformanceTarget): void {
  describe(`store conformance: ${target.name}`, () => {
    let clock: SimClock;
    let store: Store;
    storePerTest(target, (opened) => ({ clock, store } = opened), () => store);

    /** A tree for the ledger's own rules: its agent opts out of the default burn limit (tested on its own). */
    async function org(): Promise<void> {
      await acmeTree(store, { limitMicros: usd(10) }, { limitMicros: usd(5), policy: { inflightMax: 50, burnLimits: [] } });
    }

    describe('budgets', () => {
      it('creates a tree addressed by path and refuses duplicates and orphans without writing', async () => {
        // Proves creation rules: unique paths, parents must exist unless asked, nothing written on refusal.
        await org();
        const before = (await allEntries(store)).length;
        refused(await store.createBudget({ path: 'acme/research' }), 'budget_exists');
        refused(await store.createBudget({ path: 'acme/nowhere/bot' }), 'parent_missing');
        expect((await allEntries(store)).length).toBe(before);
        const made = ok(await store.createBudget({ path: 'beta/ops/bot', createParents: true, kind: 'agent' }));
        expect(made.budget.path).toBe('beta/ops/bot');
        expect((await budget(store, 'beta/ops')).limitMicros).toBeNull();
        expect([(await budget(store, 'beta')).kind, (await budget(store, 'beta/ops')).kind]).toEqual(['org', 'team']);
        ok(await store.createBudget({ path: 'beta/ops/deep/er/bot', createParents: true, kind: 'agent' }));
        expect([(await budget(store, 'beta/ops/deep')).kind, (await budget(store, 'beta/ops/deep/er')).kind]).toEqual(['budget', 'budget']);
        expect((await store.chain('acme/research/bot')).map((b) => b.path)).toEqual(['acme/research/bot', 'acme/research', 'acme']);
      });

      it('reads a chain\'s policies leaf first, as the chain has them, and sees a policy change at once', async () => {
        // Proves chainPolicies, what the gateway reads on every call, agrees with chain and follows updates.
        await org();
        ok(await store.updateBudget({ path: 'acme/research', policyPatch: { maxOutputTokens: 300 } }));
        const policies = await store.chainPolicies('acme/research/bot');
        expect(policies).toEqual((await store.chain('acme/research/bot')).map((b) => b.policy));
        expect(policies[1]).toMatchObject({ maxOutputTokens: 300 });
        ok(await store.updateBudget({ path: 'acme/research', policyPatch: { maxOutputTokens: 200 } }));
        expect((await store.chainPolicies('acme/research/bot'))[1]).toMatchObject({ maxOutputTokens: 200 });
        expect(await store.chainPolicies('acme/nowhere')).toEqual([]);
      });

      it('refuses bad names and paths with a clear code and writes nothing', async () => {
        // Proves edge validation of budget names: empty, slashes, spaces, too long, too deep.
        for (const path of ['', 'acme//bot', '/acme', 'acme/', 'has space', 'émoji', 'a'.repeat(65), Array(17).fill('x').join('/')]) {
          const result = await store.createBudget({ path });
          expect(result.ok, path).toBe(false);
          if (!result.ok) expect(['invalid_name', 'invalid_path']).toContain(result.code);
        }
        expect(await allEntries(store)).toEqual([]);
      });

      it('refuses bad limits, periods, time zones and policies', async () => {
        // Proves each budget field is validated at the edge with its own code and field name.
        const cases: [Record<string, unknown>, string][] = [
          [{ limitMicros: -1 }, 'invalid_amount'],
          [{ limitMicros: 1.5 }, 'invalid_amount'],
          [{ limitMicros: Number.MAX_SAFE_INTEGER + 2 }, 'invalid_amount'],
          [{ limitMicros: '5' }, 'invalid_amount'],
          [{ period: 'fortnight' }, 'invalid_period'],
          [{ timezone: 'Mars/Olympus' }, 'invalid_timezone'],
          [{ policy: { inflightMax: 0 } }, 'invalid_policy'],
          [{ policy: { models: ['bad model'] } }, 'invalid_policy'],
          [{ policy: { requestCapMicros: -5 } }, 'invalid_policy'],
        ];
        for (const [fields, code] of cases) {
          const result = await store.execute({ type: 'createBudget', path: 'x', ...fields } as never);
          expect(result.ok ? 'ok' : result.code, JSON.stringify(fields)).toBe(code);
        }
        expect(await allEntries(store)).toEqual([]);
      });

      it('gives agents a default in-flight cap that never exceeds the parent', async () => {
        // Proves the safe default (4 in flight for agents) and that it narrows under a stricter parent.
        ok(await store.createBudget({ path: 'o', policy: { inflightMax: 2 } }));
        ok(await store.createBudget({ path: 'p' }));
        expect((await budget(store, 'p')).policy).toEqual({});
        expect(ok(await store.createBudget({ path: 'p/a', kind: 'agent' })).budget.policy.inflightMax).toBe(4);
        expect(ok(await store.createBudget({ path: 'o/a', kind: 'agent' })).budget.policy.inflightMax).toBe(2);
      });

      it('lets a child policy only narrow its parent', async () => {
        // Proves policy inheritance: a wider model list or higher cap than the parent is refused.
        ok(await store.createBudget({ path: 'o', policy: { models: ['gpt-4o*'], requestCapMicros: usd(1) } }));
        refused(await store.createBudget({ path: 'o/a', policy: { models: ['claude-sonnet-4-5'] } }), 'policy_widens');
        refused(await store.createBudget({ path: 'o/a', policy: { requestCapMicros: usd(2) } }), 'policy_widens');
        ok(await store.createBudget({ path: 'o/a', policy: { models: ['gpt-4o-mini'], requestCapMicros: usd(0.5) } }));
        refused(await store.updateBudget({ path: 'o/a', policy: { models: ['*'] } }), 'policy_widens');
        const patched = ok(await store.updateBudget({ path: 'o/a', policyPatch: { inflightMax: 3, requestCapMicros: null } }));
        expect(patched.budget.policy).toEqual({ models: ['gpt-4o-mini'], inflightMax: 3 });
        refused(await store.updateBudget({ path: 'o/a', policyPatch: { colour: 'red' } as never }), 'invalid_policy');
      });

      it('pauses, resumes and closes, and refuses reservations below a paused or closed budget', async () => {
        // Proves status rules on the whole chain, idempotent repeats and that closed is final.
        await org();
        ok(await store.setStatus({ path: 'acme/research', status: 'paused', reason: 'runaway' }));
        const r = refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 10 }), 'budget_paused');
        expect(r.budget).toBe('acme/research');
        const before = (await allEntries(store)).length;
        ok(await store.setStatus({ path: 'acme/research', status: 'paused' }));
        expect((await allEntries(store)).length).toBe(before);
        ok(await store.setStatus({ path: 'acme/research', status: 'active' }));
        ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 10 }));
        ok(await store.setStatus({ path: 'acme/research/bot', status: 'closed' }));
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 10 }), 'budget_closed');
        refused(await store.setStatus({ path: 'acme/research/bot', status: 'active' }), 'invalid_status');
        refused(await store.setStatus({ path: 'acme/nobody', status: 'paused' }), 'unknown_budget');
        await expectAuditOk(store);
      });

      it('moves a budget, refusing cycles, busy subtrees and name clashes', async () => {
        // Proves tree moves: subtree paths follow, a cycle is refused with tree_cycle, open reservations block.
        await org();
        ok(await store.createBudget({ path: 'acme/ops', kind: 'team' }));
        refused(await store.moveBudget({ path: 'acme/research', parent: 'acme/research/bot' }), 'tree_cycle');
        refused(await store.moveBudget({ path: 'acme', parent: 'acme/research' }), 'tree_cycle');
        refused(await store.moveBudget({ path: 'acme', parent: 'acme' }), 'tree_cycle');
        const held = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 100 }));
        refused(await store.moveBudget({ path: 'acme/research/bot', parent: 'acme/ops' }), 'budget_busy');
        ok(await store.settle({ reservationId: held.reservation.id, actualMicros: 80 }));
        const moved = ok(await store.moveBudget({ path: 'acme/research', parent: 'acme/ops' }));
        expect(moved.budget.path).toBe('acme/ops/research');
        expect(await store.getBudget('acme/research/bot')).toBeUndefined();
        expect((await budget(store, 'acme/ops/research/bot')).spentMicros).toBe(80);
        ok(await store.reserve({ path: 'acme/ops/research/bot', amountMicros: 10 }));
        expect((await budget(store, 'acme/ops')).reservedMicros).toBe(10);
        await expectAuditOk(store);
      });
    });

    describe('reservations', () => {
      it('reserves on every level of the chain and refuses, naming the tightest budget, when any level is short', async () => {
        // Proves the chain check is all-or-nothing and the refusal names who refused and what remains.
        await org();
        const r = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(4), labels: { model: 'gpt-4o', session: 's1', task: 'T-1' } }));
        expect(r.reservation.id).toMatch(/^rsv_\d+$/);
        expect(r.remainingMicros).toBe(usd(1));
        expect(r.tightest).toBe('acme/research/bot');
        for (const path of ['acme', 'acme/research', 'acme/research/bot']) {
          const b = await budget(store, path);
          expect([b.reservedMicros, b.inflight]).toEqual([usd(4), 1]);
        }
        const no = refused(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(1) + 1 }), 'budget_exceeded');
        expect(no.budget).toBe('acme/research/bot');
        expect(no.remainingMicros).toBe(usd(1));
        expect((await budget(store, 'acme')).reservedMicros).toBe(usd(4));
        ok(await store.createBudget({ path: 'acme/research/other', kind: 'agent', limitMicros: usd(50), policy: { burnLimits: [] } }));
        const team = refused(await store.reserve({ path: 'acme/research/other', amountMicros: usd(7) }), 'budget_exceeded');
        expect(team.budget).toBe('acme/research');
        expect(team.remainingMicros).toBe(usd(6));
      });

      it('settles below, at and above the reservation, recording any excess as an overrun', async () => {
        // Proves settlement accounting on every level and that the one way past a limit is recorded.
        await org();
        const a = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 1_000 }));
        const b = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 1_000 }));
        const c = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(3) }));
        ok(await store.settle({ reservationId: a.reservation.id, actualMicros: 400, usage: { model: 'gpt-4o', tokensIn: 10, tokensOut: 5 } }));
        ok(await store.settle({ reservationId: b.reservation.id, actualMicros: 1_000 }));
        const over = ok(await store.settle({ reservationId: c.reservation.id, actualMicros: usd(6) }));
        expect(over.overrunMicros).toBe(usd(3));
        for (const path of ['acme', 'acme/research', 'acme/research/bot']) {
          const v = await budget(store, path);
          expect([v.spentMicros, v.reservedMicros, v.inflight, v.overrunMicros]).toEqual([usd(6) + 1_400, 0, 0, usd(3)]);
        }
        const kinds = (await allEntries(store)).map((e) => e.kind);
        expect(kinds.filter((k) => k === 'overrun')).toHaveLength(1);
        const settle = (await store.ledger({ kinds: ['settle'], limit: 1 })).entries[0];
        expect(settle).toMatchObject({ amountMicros: 400, model: 'gpt-4o', tokensIn: 10, tokensOut: 5 });
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 1 }), 'budget_exceeded');
        await expectAuditOk(store);
      });

      it('resolves a reservation once: settle twice, void after settle, settle after void', async () => {
        // Proves one resolution at most, each repeat answered with its own stable code.
        await org();
        const a = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 500 }));
        const b = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 500 }));
        ok(await store.settle({ reservationId: a.reservation.id, actualMicros: 100 }));
        const count = (await allEntries(store)).length;
        refused(await store.settle({ reservationId: a.reservation.id, actualMicros: 100 }), 'already_settled');
        refused(await store.void({ reservationId: a.reservation.id }), 'already_settled');
        ok(await store.void({ reservationId: b.reservation.id, reason: 'upstream 500' }));
        refused(await store.settle({ reservationId: b.reservation.id, actualMicros: 100 }), 'already_voided');
        refused(await store.void({ reservationId: b.reservation.id }), 'already_voided');
        expect((await allEntries(store)).length).toBe(count + 1);
        expect((await store.getReservation(b.reservation.id))?.status).toBe('voided');
        expect((await store.getReservation(a.reservation.id))?.actualMicros).toBe(100);
        refused(await store.settle({ reservationId: 'rsv_999999', actualMicros: 1 }), 'unknown_reservation');
        refused(await store.settle({ reservationId: 'nope', actualMicros: 1 }), 'invalid_reservation');
        refused(await store.settle({ reservationId: 'rsv_1; DROP TABLE ledger', actualMicros: 1 }), 'invalid_reservation');
        refused(await store.settle({ reservationId: 'rsv_1', actualMicros: 1 }), 'unknown_reservation');
      });

      it('refuses bad amounts, TTLs, labels and keys without writing anything', async () => {
        // Proves the edge: zero, negative, fractional, unsafe, NaN and non-numeric amounts all get invalid_amount.
        await org();
        const before = (await allEntries(store)).length;
        for (const amountMicros of [0, -1, 1.5, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, '100', null]) {
          refused(await store.execute({ type: 'reserve', path: 'acme/research/bot', amountMicros } as never), 'invalid_amount');
        }
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 5, ttlMs: 10 }), 'invalid_ttl');
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 5, ttlMs: 1e12 }), 'invalid_ttl');
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 5, labels: { session: 'a\nb' } }), 'invalid_label');
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 5, labels: { colour: 'red' } as never }), 'invalid_label');
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 5, idempotencyKey: '' }), 'invalid_idempotency_key');
        refused(await store.reserve({ path: 'acme/nobody', amountMicros: 5 }), 'unknown_budget');
        const r = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 5 }));
        for (const actualMicros of [-1, 0.5, '3', Number.NaN]) {
          refused(await store.execute({ type: 'settle', reservationId: r.reservation.id, actualMicros } as never), 'invalid_amount');
        }
        refused(await store.grant({ path: 'acme', amountMicros: 0 }), 'invalid_amount');
        expect((await allEntries(store)).length).toBe(before + 1);
      });

      it('answers a retry with the same idempotency key with the first result and writes nothing', async () => {
        // Proves idempotent reserve, settle and grant, and that reusing a key for different input is refused.
        await org();
        const first = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 700, idempotencyKey: 'call-1' }));
        const count = (await allEntries(store)).length;
        const again = await store.reserve({ path: 'acme/research/bot', amountMicros: 700, idempotencyKey: 'call-1' });
        expect(again).toEqual(first);
        expect((await budget(store, 'acme')).reservedMicros).toBe(700);
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 701, idempotencyKey: 'call-1' }), 'idempotency_key_reused');
        const settled = ok(await store.settle({ reservationId: first.reservation.id, actualMicros: 600, idempotencyKey: 'settle-1' }));
        expect(await store.settle({ reservationId: first.reservation.id, actualMicros: 600, idempotencyKey: 'settle-1' })).toEqual(settled);
        const granted = ok(await store.grant({ path: 'acme/research/bot', amountMicros: 10, idempotencyKey: 'g' }));
        expect(await store.grant({ path: 'acme/research/bot', amountMicros: 10, idempotencyKey: 'g' })).toEqual(granted);
        expect((await allEntries(store)).length).toBe(count + 2);
        expect((await budget(store, 'acme/research/bot')).grantedMicros).toBe(10);
        // The same key in one batch: the second call sees the first.
        const [x, y] = await Promise.all([
          store.reserve({ path: 'acme/research/bot', amountMicros: 3, idempotencyKey: 'same-turn' }),
          store.reserve({ path: 'acme/research/bot', amountMicros: 3, idempotencyKey: 'same-turn' }),
        ]);
        expect(y).toEqual(x);
        expect((await budget(store, 'acme/research/bot')).reservedMicros).toBe(3);
      });

      it('releases a reservation whose rule is release after its TTL, then records a late settlement as a late charge', async () => {
        // Proves TTL release, the late charge path and that void after a released expiry is refused.
        await org();
        const a = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(2), ttlMs: 60_000, onExpiry: 'release' }));
        const b = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(1), ttlMs: 60_000, onExpiry: 'release' }));
        clock.advance(60_001);
        await store.sweep();
        expect((await budget(store, 'acme/research')).reservedMicros).toBe(0);
        expect((await store.getReservation(a.reservation.id))?.status).toBe('expired');
        const late = ok(await store.settle({ reservationId: a.reservation.id, actualMicros: usd(1.5) }));
        expect(late.lateCharge).toBe(true);
        const v = await budget(store, 'acme/research/bot');
        expect([v.spentMicros, v.overrunMicros, v.reservedMicros]).toEqual([usd(1.5), usd(1.5), 0]);
        refused(await store.settle({ reservationId: a.reservation.id, actualMicros: 1 }), 'already_settled');
        refused(await store.void({ reservationId: b.reservation.id }), 'reservation_expired');
        const kinds = (await allEntries(store)).map((e) => e.kind);
        expect(kinds.filter((k) => k === 'expire')).toHaveLength(2);
        expect(kinds).toContain('late_charge');
        await expectAuditOk(store);
      });

      it('expires an overdue reservation on the next write even without a sweep', async () => {
        // Proves expiry does not depend on a timer: any later transaction releases what is due.
        await org();
        ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(5), ttlMs: 1_000, onExpiry: 'release' }));
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 1 }), 'budget_exceeded');
        clock.advance(1_000);
        ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(5) }));
      });

      it('charges the whole hold when a reservation that may have been billed expires, and keeps it charged', async () => {
        // Proves the default expiry rule: the hold moves from reserved to spent, so nothing can spend it again.
        await org();
        const a = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(4), ttlMs: 1_000, labels: { model: 'gpt-4o', session: 's1' } }));
        clock.advance(1_000);
        expect(await store.sweep()).toBe(1);
        const r = await store.getReservation(a.reservation.id);
        expect([r?.status, r?.actualMicros]).toEqual(['charged', usd(4)]);
        for (const path of ['acme', 'acme/research', 'acme/research/bot']) {
          const v = await budget(store, path);
          expect([v.spentMicros, v.reservedMicros, v.inflight, v.overrunMicros], path).toEqual([usd(4), 0, 0, 0]);
        }
        refused(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(1) + 1 }), 'budget_exceeded');
        const charged = (await allEntries(store)).find((e) => e.kind === 'expire_charged');
        expect([charged?.amountMicros, charged?.model, charged?.session]).toEqual([usd(4), 'gpt-4o', 's1']);
        await expectAuditOk(store);
      });

      it('reconciles a settlement that arrives after a charged expiry: refunds the difference or charges the rest', async () => {
        // Proves the ledger ends at exactly the actual cost whenever the truth arrives, above or below the hold.
        await org();
        const low = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(2), ttlMs: 1_000 }));
        const high = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(1), ttlMs: 1_000 }));
        const none = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(1), ttlMs: 1_000 }));
        clock.advance(1_000);
        await store.sweep();
        expect((await budget(store, 'acme/research/bot')).spentMicros).toBe(usd(4));
        const a = ok(await store.settle({ reservationId: low.reservation.id, actualMicros: usd(0.5), usage: { tokensIn: 10, tokensOut: 20 } }));
        expect([a.lateCharge, a.overrunMicros, a.reservation.status, a.reservation.actualMicros]).toEqual([true, 0, 'late_settled', usd(0.5)]);
        const b = ok(await store.settle({ reservationId: high.reservation.id, actualMicros: usd(1.25) }));
        expect([b.overrunMicros, b.reservation.actualMicros]).toEqual([usd(0.25), usd(1.25)]);
        const c = ok(await store.void({ reservationId: none.reservation.id }));
        expect([c.reservation.status, c.reservation.actualMicros]).toEqual(['voided', null]);
        const v = await budget(store, 'acme/research/bot');
        expect([v.spentMicros, v.overrunMicros, v.reservedMicros]).toEqual([usd(0.5) + usd(1.25), usd(0.25), 0]);
        expect((await budget(store, 'acme')).spentMicros).toBe(usd(1.75));
        refused(await store.settle({ reservationId: low.reservation.id, actualMicros: 1 }), 'already_settled');
        refused(await store.void({ reservationId: none.reservation.id }), 'already_voided');
        const kinds = (await allEntries(store)).map((e) => e.kind);
        expect(kinds.filter((k) => k === 'expire_charged')).toHaveLength(3);
        expect(kinds.filter((k) => k === 'expiry_refund')).toHaveLength(2);
        expect(kinds.filter((k) => k === 'late_charge')).toHaveLength(1);
        expect((await store.getReservation(low.reservation.id))?.actualMicros).toBe(usd(0.5));
        await expectAuditOk(store);
      });

      it('releases tool holds on expiry where policy says release, and a child cannot widen charge to release', async () => {
        // Proves the on-expiry policy: inherited, narrowable to charge, an explicit rule on the call wins.
        ok(await store.createBudget({ path: 'o', limitMicros: usd(10), policy: { onExpiry: 'release' } }));
        ok(await store.createBudget({ path: 'o/a', kind: 'agent' }));
        ok(await store.createBudget({ path: 'o/b', kind: 'agent', policy: { onExpiry: 'charge' } }));
        const released = ok(await store.reserve({ path: 'o/a', amountMicros: usd(1), ttlMs: 1_000, labels: { tool: 'web_search' } }));
        const narrowed = ok(await store.reserve({ path: 'o/b', amountMicros: usd(1), ttlMs: 1_000, labels: { tool: 'web_search' } }));
        const forwarded = ok(await store.reserve({ path: 'o/a', amountMicros: usd(1), ttlMs: 1_000, onExpiry: 'charge' }));
        clock.advance(1_000);
        await store.sweep();
        const statuses = await Promise.all([released, narrowed, forwarded].map(async (x) => (await store.getReservation(x.reservation.id))?.status));
        expect(statuses).toEqual(['expired', 'charged', 'charged']);
        expect((await budget(store, 'o')).spentMicros).toBe(usd(2));
        ok(await store.createBudget({ path: 'o/b/x', kind: 'envelope' }));
        refused(await store.updateBudget({ path: 'o/b/x', policy: { onExpiry: 'release' } }), 'policy_widens');
        refused(await store.updateBudget({ path: 'o', policyPatch: { onExpiry: 'later' as never } }), 'invalid_policy');
        await expectAuditOk(store);
      });

      it('refunds a charged expiry in the current period without taking spend below zero', async () => {
        // Proves a refund that arrives after the period rolled over cannot create negative spend.
        ok(await store.createBudget({ path: 'h', limitMicros: usd(10), period: 'hour' }));
        const a = ok(await store.reserve({ path: 'h', amountMicros: usd(3), ttlMs: 1_000 }));
        clock.advance(1_000);
        await store.sweep();
        expect((await budget(store, 'h')).spentMicros).toBe(usd(3));
        clock.advance(3_600_000);
        ok(await store.reserve({ path: 'h', amountMicros: usd(1) }).then(async (r) => (r.ok ? store.settle({ reservationId: r.reservation.id, actualMicros: usd(1) }) : r)));
        ok(await store.settle({ reservationId: a.reservation.id, actualMicros: 0 }));
        const v = await budget(store, 'h');
        expect(v.spentMicros).toBe(0);
        const refund = (await allEntries(store)).find((e) => e.kind === 'expiry_refund');
        expect(refund?.amountMicros).toBe(usd(1));
        await expectAuditOk(store);
      });

      it('enforces allowed models, the per-request cap and in-flight limits with their own codes', async () => {
        // Proves policy checks and their fixed precedence before the limit check.
        ok(await store.createBudget({ path: 'o', limitMicros: usd(10), policy: { models: ['gpt-4o*', 'claude-*'] } }));
        ok(await store.createBudget({ path: 'o/a', kind: 'agent', policy: { requestCapMicros: usd(1), inflightMax: 2, burnLimits: [] } }));
        refused(await store.reserve({ path: 'o/a', amountMicros: 5, labels: { model: 'o3' } }), 'model_not_allowed');
        ok(await store.reserve({ path: 'o/a', amountMicros: 5, labels: { model: 'gpt-4o-mini' } }));
        const cap = refused(await store.reserve({ path: 'o/a', amountMicros: usd(1) + 1 }), 'request_cost_cap');
        expect(cap.budget).toBe('o/a');
        ok(await store.reserve({ path: 'o/a', amountMicros: 5, labels: { model: 'claude-sonnet-4-5' } }));
        refused(await store.reserve({ path: 'o/a', amountMicros: 5 }), 'too_many_inflight');
        refused(await store.reserve({ path: 'o/a', amountMicros: usd(20), labels: { model: 'o3' } }), 'model_not_allowed');
      });

      it('in shadow mode admits what enforcement would refuse and records the refusal', async () => {
        // Proves shadow reservations: forwarded and recorded, the would-be refusal kept on the entry.
        await org();
        ok(await store.setStatus({ path: 'acme/research', status: 'paused' }));
        const shadow = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(6), enforce: false }));
        expect(shadow.wouldRefuse?.code).toBe('budget_paused');
        const entry = (await store.ledger({ kinds: ['reserve'] })).entries[0];
        expect(JSON.parse(entry?.data ?? '{}')).toMatchObject({ wouldRefuse: 'budget_paused', wouldRefuseBudget: 'acme/research' });
        ok(await store.settle({ reservationId: shadow.reservation.id, actualMicros: usd(6), reason: 'shadow' }));
        expect((await budget(store, 'acme/research/bot')).spentMicros).toBe(usd(6));
        refused(await store.reserve({ path: 'acme/none', amountMicros: 1, enforce: false }), 'unknown_budget');
        await expectAuditOk(store);
      });

      it('admits exactly as many concurrent reservations as fit in the last dollar', async () => {
        // Proves the invariant under a race: hundreds of callers, one budget, no overspend.
        ok(await store.createBudget({ path: 'o', limitMicros: usd(100) }));
        ok(await store.createBudget({ path: 'o/t', limitMicros: usd(50) }));
        ok(await store.createBudget({ path: 'o/t/a', limitMicros: 37_000, policy: { inflightMax: 10_000 } }));
        const results = await Promise.all(Array.from({ length: 500 }, () => store.reserve({ path: 'o/t/a', amountMicros: 1_000 })));
        expect(results.filter((r) => r.ok)).toHaveLength(37);
        expect(results.filter((r) => !r.ok && r.code === 'budget_exceeded')).toHaveLength(463);
        const v = await budget(store, 'o/t/a');
        expect([v.reservedMicros, v.inflight]).toEqual([37_000, 37]);
        await expectAuditOk(store);
      });
    });

    describe('periods, limits and grants', () => {
      it('restarts spend at a period boundary, carries open reservations over and keeps the closed period', async () => {
        // Proves calendar periods: day rollover at midnight UTC, reservations carried, totals queryable.
        ok(await store.createBudget({ path: 'd', limitMicros: usd(1), period: 'day' }));
        const r1 = ok(await store.reserve({ path: 'd', amountMicros: usd(0.4) }));
        ok(await store.settle({ reservationId: r1.reservation.id, actualMicros: usd(0.3) }));
        const open = ok(await store.reserve({ path: 'd', amountMicros: usd(0.5), ttlMs: 3 * 3600_000 }));
        refused(await store.reserve({ path: 'd', amountMicros: usd(0.3) }), 'budget_exceeded');
        clock.advance(3600_000);
        const view = await budget(store, 'd');
        expect([view.spentMicros, view.reservedMicros, view.periodStartMs]).toEqual([0, usd(0.5), Date.UTC(2026, 1, 1)]);
        ok(await store.reserve({ path: 'd', amountMicros: usd(0.5) }));
        ok(await store.settle({ reservationId: open.reservation.id, actualMicros: usd(0.2) }));
        expect((await budget(store, 'd')).spentMicros).toBe(usd(0.2));
        const closed = await store.closedPeriods('d');
        expect(closed).toEqual([{ budgetId: view.id, startMs: Date.UTC(2026, 0, 31), endMs: Date.UTC(2026, 1, 1), spentMicros: usd(0.3), grantedMicros: 0, overrunMicros: 0 }]);
        expect((await allEntries(store)).some((e) => e.kind === 'period_reset')).toBe(true);
        await expectAuditOk(store);
      });

      it('aligns periods to the budget time zone', async () => {
        // Proves a day in Asia/Tokyo starts at 15:00 UTC, and a week starts on Monday.
        const tokyo = ok(await store.createBudget({ path: 'jp', limitMicros: 10, period: 'day', timezone: 'Asia/Tokyo' }));
        expect(tokyo.budget.periodStartMs).toBe(Date.UTC(2026, 0, 31, 15));
        const week = ok(await store.createBudget({ path: 'w', limitMicros: 10, period: 'week' }));
        expect(week.budget.periodStartMs).toBe(Date.UTC(2026, 0, 26));
        const month = ok(await store.createBudget({ path: 'm', limitMicros: 10, period: 'month' }));
        expect([month.budget.periodStartMs, month.budget.periodEndMs]).toEqual([Date.UTC(2026, 0, 1), Date.UTC(2026, 1, 1)]);
      });

      it('refuses new reservations after a limit is lowered below what is used, without rewriting history', async () => {
        // Proves limit changes are forward-only and recorded.
        await org();
        const r = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(3) }));
        ok(await store.settle({ reservationId: r.reservation.id, actualMicros: usd(2) }));
        ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(1) }));
        const lowered = ok(await store.updateBudget({ path: 'acme/research/bot', limitMicros: usd(2), reason: 'cut' }));
        expect(lowered.budget.remainingMicros).toBe(-usd(1));
        expect(refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 1 }), 'budget_exceeded').remainingMicros).toBe(0);
        expect((await budget(store, 'acme/research/bot')).spentMicros).toBe(usd(2));
        ok(await store.updateBudget({ path: 'acme/research/bot', limitMicros: null }));
        ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(1) }));
        const changes = (await allEntries(store)).filter((e) => e.kind === 'limit_change');
        expect(changes).toHaveLength(2);
        expect(changes[0]?.reason).toBe('cut');
        await expectAuditOk(store);
      });

      it('tops up a budget for its current period only', async () => {
        // Proves grants add to this period's allowance and end with it.
        ok(await store.createBudget({ path: 'h', limitMicros: 1_000, period: 'hour' }));
        refused(await store.reserve({ path: 'h', amountMicros: 1_500 }), 'budget_exceeded');
        ok(await store.grant({ path: 'h', amountMicros: 500, reason: 'manager approved' }));
        const r = ok(await store.reserve({ path: 'h', amountMicros: 1_500 }));
        ok(await store.settle({ reservationId: r.reservation.id, actualMicros: 1_500 }));
        clock.advance(3600_000);
        expect((await budget(store, 'h')).grantedMicros).toBe(0);
        refused(await store.reserve({ path: 'h', amountMicros: 1_001 }), 'budget_exceeded');
        ok(await store.createBudget({ path: 'free' }));
        refused(await store.grant({ path: 'free', amountMicros: 5 }), 'budget_unlimited');
        await expectAuditOk(store);
      });
    });

    describe('tokens', () => {
      const hash = (n: number) => n.toString(16).padStart(64, '0');

      it('mints a token with its own envelope under the agent and finds it by hash', async () => {
        // Proves the token → agent → team → org chain and that only the hash is stored.
        await org();
        const minted = ok(await store.mintToken({ path: 'acme/research/bot', tokenId: 'tok_abcdefgh1', hash: hash(1), limitMicros: usd(2), models: ['gpt-4o'], scopes: ['delegate'], expiresMs: conformanceStartMs + 3600_000 }));
        expect(minted.envelope.path).toBe('acme/research/bot/tok_abcdefgh1');
        expect(minted.envelope.kind).toBe('envelope');
        expect(await store.findTokenByHash(hash(1))).toMatchObject({ token: { id: 'tok_abcdefgh1', status: 'active' }, budgetPath: 'acme/research/bot/tok_abcdefgh1' });
        expect(JSON.stringify(await store.listTokens())).not.toContain(hash(1));
        expect(await store.getToken(minted.token.id)).toEqual((await store.listTokens()).find((t) => t.id === minted.token.id));
        expect(JSON.stringify(await store.getToken(minted.token.id))).not.toContain(hash(1));
        expect(await store.getToken('tok_doesnotexist')).toBeUndefined();
        ok(await store.reserve({ path: minted.envelope.path, amountMicros: usd(1.5), labels: { model: 'gpt-4o', tokenId: 'tok_abcdefgh1' } }));
        refused(await store.reserve({ path: minted.envelope.path, amountMicros: usd(1), labels: { model: 'gpt-4o' } }), 'budget_exceeded');
        refused(await store.reserve({ path: minted.envelope.path, amountMicros: 1, labels: { model: 'o3' } }), 'model_not_allowed');
        expect((await budget(store, 'acme')).reservedMicros).toBe(usd(1.5));
      });

      it('delegates only narrower tokens and revokes a token with all its descendants', async () => {
        // Proves delegation: carved from the parent's remaining budget, never wider, revoked as a tree.
        await org();
        ok(await store.mintToken({ path: 'acme/research/bot', tokenId: 'tok_parent001', hash: hash(2), limitMicros: usd(5), scopes: ['delegate'], expiresMs: conformanceStartMs + 3600_000 }));
        ok(await store.mintToken({ path: 'acme/research/bot', tokenId: 'tok_nodelega', hash: hash(9), limitMicros: usd(1) }));
        const past = await store.mintToken({ path: 'acme/research/bot', tokenId: 'tok_pastexpi', hash: hash(11), expiresMs: conformanceStartMs - 1 });
        expect(past.ok ? 'minted' : [past.code, past.field]).toEqual(['invalid_token', 'expiresMs']);
        refused(await store.mintToken({ parentTokenId: 'tok_nodelega', tokenId: 'tok_child0001', hash: hash(10), limitMicros: 1 }), 'invalid_token');
        refused(await store.mintToken({ parentTokenId: 'tok_parent001', tokenId: 'tok_child0001', hash: hash(3), limitMicros: usd(6), expiresMs: conformanceStartMs + 60_000 }), 'policy_widens');
        refused(await store.mintToken({ parentTokenId: 'tok_parent001', tokenId: 'tok_child0001', hash: hash(3), limitMicros: usd(2) }), 'policy_widens');
        const child = ok(await store.mintToken({ parentTokenId: 'tok_parent001', tokenId: 'tok_child0001', hash: hash(3), limitMicros: usd(2), scopes: ['delegate'], expiresMs: conformanceStartMs + 60_000 }));
        expect(child.envelope.path).toBe('acme/research/bot/tok_parent001/tok_child0001');
        const grandchild = ok(await store.mintToken({ parentTokenId: 'tok_child0001', tokenId: 'tok_grand0001', hash: hash(4), limitMicros: usd(1), expiresMs: conformanceStartMs + 60_000 }));
        ok(await store.reserve({ path: grandchild.envelope.path, amountMicros: usd(1) }));
        expect((await budget(store, 'acme/research/bot/tok_parent001')).reservedMicros).toBe(usd(1));
        const revoked = ok(await store.revokeToken({ tokenId: 'tok_child0001', reason: 'done' }));
        expect(revoked.revoked.sort()).toEqual(['tok_child0001', 'tok_grand0001']);
        expect((await store.findTokenByHash(hash(4)))?.token.status).toBe('revoked');
        expect((await store.findTokenByHash(hash(2)))?.token.status).toBe('active');
        refused(await store.reserve({ path: grandchild.envelope.path, amountMicros: 1 }), 'budget_closed');
        refused(await store.revokeToken({ tokenId: 'tok_missing01' }), 'unknown_token');
        await expectAuditOk(store);
      });
    });

    describe('ledger, audit and events', () => {
      it('pages the ledger by cursor and filters by budget subtree, session, kind and time', async () => {
        // Proves ledger reads: complete, ordered paging and each filter.
        await org();
        ok(await store.createBudget({ path: 'acme/ops', kind: 'team' }));
        for (let i = 0; i < 30; i += 1) {
          const r = ok(await store.reserve({ path: i % 3 === 0 ? 'acme/ops' : 'acme/research/bot', amountMicros: 10, labels: { session: i < 10 ? 's-early' : 's-late' } }));
          ok(await store.settle({ reservationId: r.reservation.id, actualMicros: 5 }));
          clock.advance(1_000);
        }
        const all = await allEntries(store);
        expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
        const pages = await allPages(async (cursor) => {
          const page = await store.ledger({ cursor, limit: 7 });
          return { items: page.entries.map((e) => e.seq), nextCursor: page.nextCursor };
        });
        expect(pages).toEqual(all.map((e) => e.seq));
        const research = await store.ledger({ budget: 'acme/research', kinds: ['settle'], limit: 1000 });
        expect(research.entries).toHaveLength(20);
        expect((await store.ledger({ session: 's-early', limit: 1000 })).entries).toHaveLength(20);
        const since = await store.ledger({ sinceMs: conformanceStartMs + 20_000, kinds: ['reserve'], limit: 1000 });
        expect(since.entries).toHaveLength(10);
        const desc = await store.ledger({ order: 'desc', limit: 2 });
        expect(desc.entries.map((e) => e.seq)).toEqual([all.length, all.length - 1]);
        expect((await store.ledger({ budget: 'acme/none', limit: 10 })).entries).toEqual([]);
      });

      it('stores entries with and without usage, request and attribution fields exactly as recorded, and the full audit verifies them', async () => {
        // Proves both row shapes (an entry that fills every column, and one that leaves the optional ones empty) keep every field and its hash.
        const delivered: LedgerEntry[] = [];
        const stop = store.subscribe((entries) => delivered.push(...entries));
        await org();
        const bare = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 10, labels: { model: 'gpt-4o' } }));
        ok(await store.settle({ reservationId: bare.reservation.id, actualMicros: 7 }));
        const labels = { model: 'gpt-4o', session: 's "1"', task: 'triage', requestId: 'req_9', actor: 'ops' };
        const full = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 10, labels }));
        const usage = { tokensIn: 12, tokensOut: 34, tokensCached: 5, tokensCacheWrite: 6 };
        ok(await store.settle({ reservationId: full.reservation.id, actualMicros: 9, usage }));
        stop();
        const stored = await allEntries(store);
        expect(stored).toEqual(delivered);
        expect(stored.at(-1)).toMatchObject({ kind: 'settle', ...usage });
        expect(stored.at(-2)).toMatchObject({ kind: 'reserve', session: 's "1"', task: 'triage', requestId: 'req_9', actor: 'ops' });
        expect(stored.at(-3)).toMatchObject({ kind: 'settle', tokensIn: null, session: null, requestId: null, actor: null, reason: null });
        expect((await store.audit({ full: true })).ok).toBe(true);
      });

      it('delivers every committed entry to subscribers, in order', async () => {
        // Proves the event feed: each ledger entry reaches a subscriber once, after commit.
        const seen: LedgerEntry[] = [];
        const stop = store.subscribe((entries) => seen.push(...entries));
        await org();
        const r = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 10 }));
        ok(await store.settle({ reservationId: r.reservation.id, actualMicros: 10 }));
        stop();
        ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 10 }));
        expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
        expect(seen.map((e) => e.kind)).toEqual(['budget_created', 'budget_created', 'budget_created', 'reserve', 'settle']);
      });

      it('fails the full audit, naming the entry, when a stored ledger row is altered', async () => {
        // Proves tamper evidence: editing one amount breaks that entry's hash and the replayed balance.
        await org();
        const r = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 1_000 }));
        ok(await store.settle({ reservationId: r.reservation.id, actualMicros: 900 }));
        await expectAuditOk(store);
        const settle = (await store.ledger({ kinds: ['settle'] })).entries[0];
        if (!settle) throw new Error('no settle entry');
        await target.tamperLedgerAmount(store, settle.seq, 1);
        const report = await store.audit({ full: true });
        expect([report.ok, report.verifiedFromSeq]).toEqual([false, 0]);
        expect(report.problems.some((p) => p.seq === settle.seq && p.field === 'hash')).toBe(true);
        expect(report.problems.some((p) => p.budget === 'acme/research/bot' && p.field === 'spentMicros')).toBe(true);
      });

      it('replays from the first entry, and says why, when the entry the last audit verified up to was altered since', async () => {
        // Proves the checkpoint is anchored: it is used only while its entry still has the hash
        // that audit saw and that its stored fields produce.
        await org();
        const r = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 1_000 }));
        ok(await store.settle({ reservationId: r.reservation.id, actualMicros: 900 }));
        const clean = await store.audit();
        expect(clean.ok).toBe(true);
        await target.tamperLedgerAmount(store, clean.entries, 1);
        const report = await store.audit();
        expect([report.ok, report.verifiedFromSeq]).toEqual([false, 0]);
        expect(report.problems.some((p) => p.seq === clean.entries && p.field === 'hash' && p.message.includes('earlier audit'))).toBe(true);
      });

      it('replays only what came after the last successful audit, still checking every balance and every later entry', async () => {
        // Proves the audit checkpoint: the second audit starts where the first verified the ledger
        // up to, a full one from the first entry, and an entry altered after the checkpoint is found.
        await org();
        const first = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 1_000 }));
        ok(await store.settle({ reservationId: first.reservation.id, actualMicros: 900 }));
        const before = await store.audit();
        expect([before.ok, before.verifiedFromSeq]).toEqual([true, 0]);
        const second = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 2_000 }));
        ok(await store.settle({ reservationId: second.reservation.id, actualMicros: 1_200 }));
        const after = await store.audit();
        expect([after.ok, after.verifiedFromSeq, after.entries]).toEqual([true, before.entries, before.entries + 2]);
        expect((await store.audit()).verifiedFromSeq).toBe(after.entries);
        const full = await store.audit({ full: true });
        expect([full.ok, full.verifiedFromSeq, full.entries]).toEqual([true, 0, after.entries]);
        const third = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 3_000 }));
        ok(await store.settle({ reservationId: third.reservation.id, actualMicros: 2_500 }));
        const settle = (await store.ledger({ kinds: ['settle'], order: 'desc', limit: 1 })).entries[0];
        if (!settle) throw new Error('no settle entry');
        await target.tamperLedgerAmount(store, settle.seq, 1);
        const tampered = await store.audit();
        expect([tampered.ok, tampered.verifiedFromSeq]).toEqual([false, after.entries]);
        expect(tampered.problems.some((p) => p.seq === settle.seq && p.field === 'hash')).toBe(true);
      });

      it('keeps balances and open reservations across a restart', async () => {
        // Proves durability: everything acknowledged is there after reopening, and open reservations still settle.
        await org();
        const r = ok(await store.reserve({ path: 'acme/research/bot', amountMicros: 2_000 }));
        store = await target.reopen(store, clock);
        expect((await budget(store, 'acme')).reservedMicros).toBe(2_000);
        ok(await store.settle({ reservationId: r.reservation.id, actualMicros: 1_500 }));
        expect((await budget(store, 'acme/research')).spentMicros).toBe(1_500);
        await expectAuditOk(store);
      });

      it('keeps the invariant when a second handle writes to the same database', async () => {
        // Proves another process's writes are noticed: limits changed and reservations made elsewhere count here.
        await org();
        const other = await target.openSecond(store, clock);
        try {
          ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(2) }));
          ok(await other.reserve({ path: 'acme/research/bot', amountMicros: usd(2) }));
          refused(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(2) }), 'budget_exceeded');
          ok(await other.updateBudget({ path: 'acme/research/bot', limitMicros: usd(4) }));
          refused(await store.reserve({ path: 'acme/research/bot', amountMicros: 1 }), 'budget_exceeded');
          ok(await other.updateBudget({ path: 'acme/research/bot', limitMicros: usd(4.5) }));
          ok(await store.reserve({ path: 'acme/research/bot', amountMicros: usd(0.5) }));
          const views = await Promise.all([store.getBudget('acme'), other.getBudget('acme')]);
          expect(views.map((v) => v?.reservedMicros)).toEqual([usd(4.5), usd(4.5)]);
          const race = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).reserve({ path: 'acme/research', amountMicros: usd(0.5) })));
          expect(race.filter((r) => r.ok)).toHaveLength(11);
          await expectAuditOk(other);
        } finally {
          await other.close();
        }
        await expectAuditOk(store);
      });
    });

    it('matches a reference model under random operations, and the ledger replays', { timeout: 300_000 }, async () => {
      // Proves the invariant and exact accounting against a simple model over random interleavings.
      await runModelProperty({ open: (simClock) => target.open(simClock), runs: Number(process.env.BURSAR_PROPERTY_RUNS ?? target.propertyRuns ?? 200) });
    });
  });
  runGuardConformance(target);
  runCrossConformance(target);
  runLoopConformance(target);
  runRefusalConformance(target);
  runWebhookConformance(target);
  runCheckpointConformance(target);
}
