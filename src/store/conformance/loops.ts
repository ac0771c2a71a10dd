import { describe, expect, it } from 'vitest';
import type { LedgerEntry, LoopLimit, Reserve } from '../../core/index.js';
import type { Store } from '../store.js';
import { allEntries, budget, conformanceStartMs, expectAuditOk, expectPolicyRefused, ok, refused, storePerTest } from './helpers.js';
import { SimClock } from './sim-clock.js';
import type { ConformanceTarget } from './target.js';

const minuteMs = 60_000;

function data(e: LedgerEntry | undefined): Record<string, unknown> {
  return JSON.parse(e?.data ?? '{}') as Record<string, unknown>;
}

async function trips(store: Store): Promise<LedgerEntry[]> {
  return (await store.ledger({ kinds: ['breaker_tripped'], limit: 1000 })).entries;
}

/**
 * Loop detection, on every store: the same request fingerprint more often than a budget's loop
 * limit allows trips its breaker in the reservation's own transaction, with a ledger entry the
 * audit replays.
 */
export function runLoopConformance(target: ConformanceTarget): void {
  describe(`store loop detection: ${target.name}`, () => {
    let clock: SimClock;
    let store: Store;
    storePerTest(target, (opened) => ({ clock, store } = opened), () => store);

    /** An org and an agent whose guard is a loop limit (no burn limit, room in flight). */
    async function looper(loopLimit: LoopLimit | 'off' = { repeats: 3, windowMs: 10 * minuteMs }): Promise<void> {
      ok(await store.createBudget({ path: 'o', kind: 'org' }));
      ok(await store.createBudget({ path: 'o/a', kind: 'agent', policy: { inflightMax: 100, burnLimits: [], loopLimit } }));
    }

    /** A reservation of 100 micros on the agent carrying `fingerprint`, settled at once when admitted. */
    async function call(fingerprint: string | undefined, extra: Partial<Reserve> = {}) {
      const r = await store.reserve({ path: 'o/a', amountMicros: 100, fingerprint, ...extra });
      if (r.ok) ok(await store.settle({ reservationId: r.reservation.id, actualMicros: 100 }));
      return r;
    }

    it('trips on the first repeat past the limit, naming the first and last reservations, and holds the whole budget', async () => {
      // Proves the trip (an entry with the fingerprint's first and last request ids), the 429-class refusal, and that the breaker is per budget.
      await looper();
      const admitted = [ok(await call('fpLoop')), ok(await call('fpOther')), ok(await call('fpLoop')), ok(await call('fpLoop'))].map((r) => r.reservation.id);
      const [first, , , last] = admitted;
      const loop = refused(await call('fpLoop', { labels: { requestId: 'req_loop' } }), 'loop_detected');
      expect([loop.budget, loop.retryAfterMs]).toEqual(['o/a', minuteMs]);
      expect(loop.message).toContain(`first ${first}`);
      expect(loop.message).toContain(`last ${last}`);
      const tripped = await trips(store);
      expect(tripped).toHaveLength(1);
      expect([tripped[0]?.requestId, tripped[0]?.amountMicros]).toEqual(['req_loop', 100]);
      expect(data(tripped[0])).toMatchObject({ code: 'loop_detected', fingerprint: 'fpLoop', repeats: 3, windowMs: 10 * minuteMs, count: 3, firstRequest: first, lastRequest: last, trips: 1, cooldownMs: minuteMs, untilMs: conformanceStartMs + minuteMs });
      const view = await budget(store, 'o/a');
      expect([view.status, view.breaker, view.breakerCode, view.loop?.tracked, view.loop?.mostRepeated?.count]).toEqual(['active', 'open', 'loop_detected', 2, 3]);
      // The breaker is the budget's: a different request is refused too while it is open, and writes nothing.
      const count = (await allEntries(store)).length;
      const other = refused(await call('fpNew'), 'loop_detected');
      expect(other.retryAfterMs).toBe(minuteMs);
      expect(refused(await call(undefined), 'loop_detected').message).toContain('cooling down');
      expect((await allEntries(store)).length).toBe(count);
      await expectAuditOk(store);
    });

    it('after the cool-down lets a different request probe and close the breaker, while the looping one trips it again for longer', async () => {
      // Proves half-open on a loop trip: the same request re-trips with a doubled cool-down; another request probes and closes it.
      await looper();
      for (let i = 0; i < 3; i += 1) ok(await call('fpLoop'));
      refused(await call('fpLoop'), 'loop_detected');
      clock.advance(minuteMs);
      const again = refused(await call('fpLoop'), 'loop_detected');
      expect(again.retryAfterMs).toBe(2 * minuteMs);
      expect(data((await trips(store))[1])).toMatchObject({ trips: 2, cooldownMs: 2 * minuteMs, count: 3 });
      clock.advance(2 * minuteMs);
      const probe = ok(await store.reserve({ path: 'o/a', amountMicros: 100, fingerprint: 'fpFresh' }));
      refused(await store.reserve({ path: 'o/a', amountMicros: 100, fingerprint: 'fpOther' }), 'loop_detected');
      ok(await store.settle({ reservationId: probe.reservation.id, actualMicros: 100 }));
      const view = await budget(store, 'o/a');
      expect([view.breaker, view.breakerCode]).toEqual(['closed', null]);
      ok(await call('fpOther'));
      // Still in its window, the looping request is caught again at once.
      refused(await call('fpLoop'), 'loop_detected');
      await expectAuditOk(store);
    });

    it('counts a fingerprint again once its window has passed, and detects nothing with the limit off', async () => {
      // Proves window expiry on the simulated clock and `off`.
      await looper({ repeats: 2, windowMs: 5 * minuteMs });
      ok(await call('fpSlow'));
      clock.advance(4 * minuteMs);
      ok(await call('fpSlow'));
      clock.advance(minuteMs);
      // The window opened at the first call: it has passed, so this starts a new one.
      ok(await call('fpSlow'));
      ok(await call('fpSlow'));
      refused(await call('fpSlow'), 'loop_detected');
      ok(await store.createBudget({ path: 'o/quiet', kind: 'agent', policy: { burnLimits: [], inflightMax: 100, loopLimit: 'off' } }));
      for (let i = 0; i < 25; i += 1) ok(await store.reserve({ path: 'o/quiet', amountMicros: 1, fingerprint: 'fpSame' }));
      expect((await budget(store, 'o/quiet')).loop).toBeNull();
      await expectAuditOk(store);
    });

    it('gives agents 20 repeats in 10 minutes by default, never wider than a parent\'s, and refuses a wider child', async () => {
      // Proves the safe default, inheritance by narrowing, the widening refusal, and that off on a child leaves the parent's in force.
      ok(await store.createBudget({ path: 'o', kind: 'org' }));
      expect(ok(await store.createBudget({ path: 'o/a', kind: 'agent' })).budget.policy.loopLimit).toEqual({ repeats: 20, windowMs: 10 * minuteMs });
      ok(await store.createBudget({ path: 'o/t', kind: 'team', policy: { loopLimit: { repeats: 4, windowMs: 30 * minuteMs } } }));
      expect(ok(await store.createBudget({ path: 'o/t/a', kind: 'agent' })).budget.policy.loopLimit).toEqual({ repeats: 4, windowMs: 30 * minuteMs });
      const more = refused(await store.createBudget({ path: 'o/t/b', kind: 'agent', policy: { loopLimit: { repeats: 5, windowMs: 30 * minuteMs } } }), 'policy_widens');
      expect(more.field).toBe('policy.loopLimit.repeats');
      const shorter = refused(await store.updateBudget({ path: 'o/t/a', policyPatch: { loopLimit: { repeats: 2, windowMs: minuteMs } } }), 'policy_widens');
      expect(shorter.field).toBe('policy.loopLimit.windowMs');
      ok(await store.updateBudget({ path: 'o/t/a', policyPatch: { loopLimit: 'off', inflightMax: 100, burnLimits: [] } }));
      for (let i = 0; i < 4; i += 1) ok(await store.reserve({ path: 'o/t/a', amountMicros: 1, fingerprint: 'fpTeam' }));
      expect(refused(await store.reserve({ path: 'o/t/a', amountMicros: 1, fingerprint: 'fpTeam' }), 'loop_detected').budget).toBe('o/t');
      await expectAuditOk(store);
    });

    it('counts a team\'s fingerprints across its agents and trips once for a second handle too', async () => {
      // Proves the state is in the store, shared by every handle (another process's view), and one trip holds for all.
      ok(await store.createBudget({ path: 'o', kind: 'org' }));
      ok(await store.createBudget({ path: 'o/t', kind: 'team', policy: { loopLimit: { repeats: 4, windowMs: 10 * minuteMs } } }));
      ok(await store.createBudget({ path: 'o/t/a1', kind: 'agent', policy: { loopLimit: 'off', burnLimits: [], inflightMax: 100 } }));
      ok(await store.createBudget({ path: 'o/t/a2', kind: 'agent', policy: { loopLimit: 'off', burnLimits: [], inflightMax: 100 } }));
      const other = await target.openSecond(store, clock);
      try {
        ok(await store.reserve({ path: 'o/t/a1', amountMicros: 1, fingerprint: 'fpFleet' }));
        ok(await other.reserve({ path: 'o/t/a2', amountMicros: 1, fingerprint: 'fpFleet' }));
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).reserve({ path: `o/t/a${1 + (i % 2)}`, amountMicros: 1, fingerprint: 'fpFleet' })));
        expect(results.filter((r) => r.ok)).toHaveLength(2);
        expect(results.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.code))).toEqual(Array(18).fill('loop_detected'));
        expect(await trips(other)).toHaveLength(1);
        expect((await other.getBudget('o/t'))?.breakerCode).toBe('loop_detected');
        await expectAuditOk(other);
      } finally {
        await other.close();
      }
    });

    it('records a shadow repeat without tripping, and a reset forgets what was counted', async () => {
      // Proves shadow mode only reports a loop, and reset-breaker empties the fingerprints with the windows.
      await looper({ repeats: 1, windowMs: 10 * minuteMs });
      ok(await call('fpShadow'));
      const shadow = ok(await call('fpShadow', { enforce: false }));
      expect(shadow.wouldRefuse?.code).toBe('loop_detected');
      expect(await trips(store)).toEqual([]);
      refused(await call('fpShadow'), 'loop_detected');
      const reset = ok(await store.resetBreaker({ path: 'o/a', reason: 'fixed the agent' }));
      expect([reset.budget.breaker, reset.budget.loop?.tracked]).toEqual(['closed', 0]);
      ok(await call('fpShadow'));
      const reopened = await target.reopen(store, clock);
      store = reopened;
      expect((await budget(store, 'o/a')).loop?.mostRepeated?.count).toBe(1);
      refused(await call('fpShadow'), 'loop_detected');
      await expectAuditOk(store);
    });

    it('refuses loop limits with zero or negative repeats, a zero window or garbage, and a bad fingerprint, naming the field', async () => {
      // Proves edge validation of the policy field (create and patch) and of the reservation's fingerprint, with nothing written.
      const cases: [unknown, string][] = [
        [{ repeats: 0, windowMs: minuteMs }, 'policy.loopLimit.repeats'],
        [{ repeats: -3, windowMs: minuteMs }, 'policy.loopLimit.repeats'],
        [{ repeats: 2.5, windowMs: minuteMs }, 'policy.loopLimit.repeats'],
        [{ repeats: 20, windowMs: 0 }, 'policy.loopLimit.windowMs'],
        [{ repeats: 20 }, 'policy.loopLimit.windowMs'],
        [{ repeats: 20, windowMs: minuteMs, per: 'minute' }, 'policy.loopLimit.per'],
        ['20/10m', 'policy.loopLimit'],
        [[20, minuteMs], 'policy.loopLimit'],
      ];
      await expectPolicyRefused(store, 'loopLimit', cases);
      const count = (await allEntries(store)).length;
      for (const fingerprint of ['', 'has space', 'x'.repeat(65), 42]) {
        expect(refused(await store.execute({ type: 'reserve', path: 'x', amountMicros: 1, fingerprint } as never), 'invalid_label').field).toBe('fingerprint');
      }
      expect((await allEntries(store)).length).toBe(count);
    });
  });
}
