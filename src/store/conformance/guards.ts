import { describe, expect, it } from 'vitest';
import type { LedgerEntry, Policy } from '../../core/index.js';
import type { Store } from '../store.js';
import { allEntries, budget, conformanceStartMs, expectAuditOk, expectPolicyRefused, ok, refused, storePerTest, usd } from './helpers.js';
import { SimClock } from './sim-clock.js';
import type { ConformanceTarget } from './target.js';

const minuteMs = 60_000;
const hourMs = 3_600_000;

function data(e: LedgerEntry | undefined): Record<string, unknown> {
  return JSON.parse(e?.data ?? '{}') as Record<string, unknown>;
}

/** `basis:threshold` of every alert entry, in ledger order. */
async function alerts(store: Store, path?: string): Promise<string[]> {
  const page = await store.ledger({ kinds: ['alert'], budget: path, limit: 1000 });
  return page.entries.map((e) => `${String(data(e).basis)}:${String(data(e).thresholdPct)}`);
}

async function kinds(store: Store, ...wanted: LedgerEntry['kind'][]): Promise<LedgerEntry[]> {
  return (await allEntries(store)).filter((e) => wanted.includes(e.kind));
}

/**
 * Threshold alerts and burn limits, on every store: each a ledger entry written in the
 * reservation's own transaction, and each replayed by the audit.
 */
export function runGuardConformance(target: ConformanceTarget): void {
  describe(`store guards: ${target.name}`, () => {
    let clock: SimClock;
    let store: Store;
    storePerTest(target, (opened) => ({ clock, store } = opened), () => store);

    /** An agent whose only guard is a burn limit of `amountMicros` per `windowMs`. */
    async function burner(amountMicros = 1_000, windowMs = minuteMs, extra: Policy = {}): Promise<void> {
      ok(await store.createBudget({ path: 'o', kind: 'org' }));
      ok(await store.createBudget({ path: 'o/a', kind: 'agent', policy: { inflightMax: 100, burnLimits: [{ amountMicros, windowMs }], ...extra } }));
    }

    /** Reserves three times 400 against a 1,000 limit: the third trips the breaker. */
    async function burst(): Promise<void> {
      ok(await store.reserve({ path: 'o/a', amountMicros: 400 }));
      ok(await store.reserve({ path: 'o/a', amountMicros: 400 }));
      const tripped = refused(await store.reserve({ path: 'o/a', amountMicros: 400, labels: { requestId: 'req_burst' } }), 'burn_limit');
      expect(tripped.budget).toBe('o/a');
    }

    describe('threshold alerts', () => {
      it('raises each alert once per period on spent and on spent + reserved, and again after the rollover', async () => {
        // Proves the two bases fire independently, in ascending order, never twice in a period, and reset at the boundary.
        ok(await store.createBudget({ path: 'h', limitMicros: 1_000, period: 'hour' }));
        const r1 = ok(await store.reserve({ path: 'h', amountMicros: 600 }));
        expect(await alerts(store)).toEqual(['committed:50']);
        ok(await store.settle({ reservationId: r1.reservation.id, actualMicros: 600 }));
        expect(await alerts(store)).toEqual(['committed:50', 'spent:50']);
        const r2 = ok(await store.reserve({ path: 'h', amountMicros: 300 }));
        ok(await store.void({ reservationId: r2.reservation.id }));
        const r3 = ok(await store.reserve({ path: 'h', amountMicros: 300 }));
        expect((await alerts(store)).slice(2)).toEqual(['committed:75', 'committed:90']);
        ok(await store.settle({ reservationId: r3.reservation.id, actualMicros: 400 }));
        expect(await alerts(store)).toEqual(['committed:50', 'spent:50', 'committed:75', 'committed:90', 'spent:75', 'spent:90', 'spent:100', 'committed:100']);
        const before = await budget(store, 'h');
        expect([before.alertSpentPct, before.alertCommittedPct]).toEqual([100, 100]);
        const first = (await store.ledger({ kinds: ['alert'], limit: 1 })).entries[0];
        expect([first?.amountMicros, data(first).limitMicros, data(first).reservedMicros, data(first).periodStartMs]).toEqual([600, 1_000, 600, Date.UTC(2026, 0, 31, 23)]);

        clock.set(Date.UTC(2026, 1, 1, 0, 0));
        expect((await budget(store, 'h')).alertSpentPct).toBe(0);
        const r4 = ok(await store.reserve({ path: 'h', amountMicros: 500 }));
        ok(await store.settle({ reservationId: r4.reservation.id, actualMicros: 500 }));
        const entries = (await store.ledger({ kinds: ['alert'], limit: 1000 })).entries.slice(8);
        expect(entries.map((e) => `${String(data(e).basis)}:${String(data(e).thresholdPct)}`)).toEqual(['committed:50', 'spent:50']);
        expect(entries.map((e) => data(e).periodStartMs)).toEqual([Date.UTC(2026, 1, 1), Date.UTC(2026, 1, 1)]);
        await expectAuditOk(store);
      });

      it('uses a budget\'s own thresholds, else its nearest ancestor\'s, and raises what a lowered limit crosses', async () => {
        // Proves inheritance of alertThresholdsPct and that a limit change is one of the changes that raise alerts.
        ok(await store.createBudget({ path: 'o', limitMicros: 1_000, policy: { alertThresholdsPct: [10] } }));
        ok(await store.createBudget({ path: 'o/t', limitMicros: 10_000 }));
        ok(await store.createBudget({ path: 'o/t/a', kind: 'agent', limitMicros: 100, policy: { alertThresholdsPct: [80], burnLimits: [] } }));
        ok(await store.reserve({ path: 'o/t/a', amountMicros: 90 }));
        expect(await alerts(store)).toEqual(['committed:80']);
        ok(await store.updateBudget({ path: 'o/t', limitMicros: 900 }));
        expect(await alerts(store, 'o/t')).toEqual(['committed:80', 'committed:10']);
        const team = await budget(store, 'o/t');
        expect([team.alertCommittedPct, (await budget(store, 'o')).alertCommittedPct]).toEqual([10, 0]);
        await expectAuditOk(store);
      });

      it('refuses thresholds above 1000 % or below 1 %, naming the field', async () => {
        // Proves edge validation of alert thresholds.
        for (const alertThresholdsPct of [[1001], [0], [50.5], 'fifty']) {
          const r = refused(await store.execute({ type: 'createBudget', path: 'x', policy: { alertThresholdsPct } } as never), 'invalid_policy');
          expect(r.field).toBe('policy.alertThresholdsPct');
        }
      });
    });

    describe('burn limits', () => {
      it('trips when a burst crosses a burn limit, stays open for the cool-down, admits exactly one probe, and closes when it settles', async () => {
        // Proves the breaker's whole cycle: trip (an entry), refusals with retry-after, half-open, one probe, closed.
        await burner();
        await burst();
        const tripped = await kinds(store, 'breaker_tripped');
        expect(tripped).toHaveLength(1);
        expect([tripped[0]?.amountMicros, tripped[0]?.requestId]).toEqual([1_200, 'req_burst']);
        expect(data(tripped[0])).toMatchObject({ limitMicros: 1_000, windowMs: minuteMs, burnMicros: 800, requestedMicros: 400, trips: 1, cooldownMs: minuteMs, untilMs: conformanceStartMs + minuteMs });
        const open = await budget(store, 'o/a');
        expect([open.status, open.breaker, open.trippedUntilMs, open.burn]).toEqual(['active', 'open', conformanceStartMs + minuteMs, [{ amountMicros: 1_000, windowMs: minuteMs, burnMicros: 800 }]]);
        const count = (await allEntries(store)).length;
        expect(refused(await store.reserve({ path: 'o/a', amountMicros: 1 }), 'burn_limit').retryAfterMs).toBe(minuteMs);
        clock.advance(30_000);
        expect(refused(await store.reserve({ path: 'o/a', amountMicros: 1 }), 'burn_limit').retryAfterMs).toBe(30_000);
        expect((await allEntries(store)).length).toBe(count);

        clock.advance(30_000);
        expect((await budget(store, 'o/a')).breaker).toBe('half_open');
        const probe = ok(await store.reserve({ path: 'o/a', amountMicros: 300 }));
        const again = refused(await store.reserve({ path: 'o/a', amountMicros: 1 }), 'burn_limit');
        expect(again.retryAfterMs).toBe(1_000);
        const probes = await kinds(store, 'breaker_probe');
        expect(probes.map((e) => `rsv_${String(e.reservationSeq)}`)).toEqual([probe.reservation.id]);
        ok(await store.settle({ reservationId: probe.reservation.id, actualMicros: 300 }));
        const closed = await kinds(store, 'breaker_closed');
        expect([closed.length, `rsv_${String(closed[0]?.reservationSeq)}`, data(closed[0]).manual]).toEqual([1, probe.reservation.id, false]);
        expect((await budget(store, 'o/a')).breaker).toBe('closed');
        ok(await store.reserve({ path: 'o/a', amountMicros: 600 }));
        await expectAuditOk(store);
      });

      it('re-opens for twice as long when the probe breaches, and lets the next request probe after a void or an expiry', async () => {
        // Proves the doubling cool-down, that an unsettled probe proves nothing, and that closing resets the doubling.
        await burner();
        await burst();
        clock.advance(minuteMs);
        const probe = ok(await store.reserve({ path: 'o/a', amountMicros: 900 }));
        ok(await store.settle({ reservationId: probe.reservation.id, actualMicros: 1_500 }));
        const retrip = (await kinds(store, 'breaker_tripped'))[1];
        expect(data(retrip)).toMatchObject({ trips: 2, cooldownMs: 2 * minuteMs, burnMicros: 1_500 });
        expect(refused(await store.reserve({ path: 'o/a', amountMicros: 1 }), 'burn_limit').retryAfterMs).toBe(2 * minuteMs);

        clock.advance(2 * minuteMs);
        const voided = ok(await store.reserve({ path: 'o/a', amountMicros: 100 }));
        ok(await store.void({ reservationId: voided.reservation.id }));
        const expiring = ok(await store.reserve({ path: 'o/a', amountMicros: 100, ttlMs: 1_000, onExpiry: 'release' }));
        clock.advance(1_000);
        await store.sweep();
        expect((await store.getReservation(expiring.reservation.id))?.status).toBe('expired');
        expect((await budget(store, 'o/a')).breaker).toBe('half_open');
        const last = ok(await store.reserve({ path: 'o/a', amountMicros: 100 }));
        expect((await kinds(store, 'breaker_probe')).map((e) => `rsv_${String(e.reservationSeq)}`)).toEqual([probe.reservation.id, voided.reservation.id, expiring.reservation.id, last.reservation.id]);
        ok(await store.settle({ reservationId: last.reservation.id, actualMicros: 100 }));
        expect((await budget(store, 'o/a')).breaker).toBe('closed');
        refused(await store.reserve({ path: 'o/a', amountMicros: 950 }), 'burn_limit');
        expect(data((await kinds(store, 'breaker_tripped'))[2])).toMatchObject({ trips: 1, cooldownMs: minuteMs });
        await expectAuditOk(store);
      });

      it('re-opens when a half-open request would breach, and says when the window has room again', async () => {
        // Proves retry-after counts the rolling window (an hour here) and not only the cool-down.
        await burner(1_000, hourMs);
        await burst();
        clock.advance(minuteMs);
        const breach = refused(await store.reserve({ path: 'o/a', amountMicros: 400 }), 'burn_limit');
        expect(breach.retryAfterMs).toBe(hourMs - minuteMs);
        expect(data((await kinds(store, 'breaker_tripped'))[1])).toMatchObject({ trips: 2, cooldownMs: 2 * minuteMs });
        clock.advance(2 * minuteMs);
        ok(await store.reserve({ path: 'o/a', amountMicros: 200 }));
        expect((await kinds(store, 'breaker_probe'))).toHaveLength(1);
        await expectAuditOk(store);
      });

      it('refuses a request larger than a burn limit without tripping, and a shadow request only records the refusal', async () => {
        // Proves a single oversized call is not a burst, and shadow mode never trips a breaker.
        await burner();
        const big = refused(await store.reserve({ path: 'o/a', amountMicros: 1_001 }), 'burn_limit');
        expect(big.message).toContain('more than');
        ok(await store.reserve({ path: 'o/a', amountMicros: 1_000 }));
        const shadow = ok(await store.reserve({ path: 'o/a', amountMicros: 10, enforce: false }));
        expect(shadow.wouldRefuse?.code).toBe('burn_limit');
        expect(await kinds(store, 'breaker_tripped')).toEqual([]);
        expect((await budget(store, 'o/a')).breaker).toBe('closed');
        await expectAuditOk(store);
      });

      it('holds a team\'s burn limit across its agents, and trips once for a second handle too', async () => {
        // Proves the limit counts everything under the budget and the breaker is shared state, not per process.
        ok(await store.createBudget({ path: 'o', kind: 'org' }));
        ok(await store.createBudget({ path: 'o/t', kind: 'team', policy: { burnLimits: [{ amountMicros: 1_000, windowMs: minuteMs }] } }));
        ok(await store.createBudget({ path: 'o/t/a1', kind: 'agent', policy: { burnLimits: [] } }));
        ok(await store.createBudget({ path: 'o/t/a2', kind: 'agent', policy: { burnLimits: [] } }));
        const other = await target.openSecond(store, clock);
        try {
          ok(await store.reserve({ path: 'o/t/a1', amountMicros: 600 }));
          expect(refused(await other.reserve({ path: 'o/t/a2', amountMicros: 600 }), 'burn_limit').budget).toBe('o/t');
          expect(refused(await store.reserve({ path: 'o/t/a1', amountMicros: 1 }), 'burn_limit').budget).toBe('o/t');
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).reserve({ path: 'o/t/a2', amountMicros: 1 })));
          expect(results.filter((r) => r.ok)).toEqual([]);
          expect(await kinds(other, 'breaker_tripped')).toHaveLength(1);
          expect((await other.getBudget('o/t'))?.breaker).toBe('open');
          await expectAuditOk(other);
        } finally {
          await other.close();
        }
      });

      it('closes by hand, forgetting the window, and a reset of a closed breaker writes nothing', async () => {
        // Proves the manual reset: an entry with who and why, the window emptied, idempotent when closed.
        await burner();
        await burst();
        const reset = ok(await store.resetBreaker({ path: 'o/a', actor: 'cli:ops', reason: 'checked the agent' }));
        expect([reset.budget.breaker, reset.budget.burn[0]?.burnMicros]).toEqual(['closed', 0]);
        const closed = (await kinds(store, 'breaker_closed'))[0];
        expect([closed?.actor, closed?.reason, data(closed).manual]).toEqual(['cli:ops', 'checked the agent', true]);
        const count = (await allEntries(store)).length;
        ok(await store.resetBreaker({ path: 'o/a' }));
        expect((await allEntries(store)).length).toBe(count);
        refused(await store.resetBreaker({ path: 'o/none' }), 'unknown_budget');
        ok(await store.reserve({ path: 'o/a', amountMicros: 1_000 }));
        await expectAuditOk(store);
      });

      it('gives agents a default burn limit of 2 USD per minute, never above a parent\'s, and keeps children narrower', async () => {
        // Proves the safe default, its narrowing under a stricter parent, and that a wider child limit is refused.
        ok(await store.createBudget({ path: 'o', policy: { burnLimits: [{ amountMicros: usd(1), windowMs: minuteMs }] } }));
        ok(await store.createBudget({ path: 'p' }));
        expect(ok(await store.createBudget({ path: 'p/a', kind: 'agent' })).budget.policy.burnLimits).toEqual([{ amountMicros: usd(2), windowMs: minuteMs }]);
        expect(ok(await store.createBudget({ path: 'o/a', kind: 'agent' })).budget.burn).toEqual([{ amountMicros: usd(1), windowMs: minuteMs, burnMicros: 0 }]);
        expect(ok(await store.createBudget({ path: 'o/none', kind: 'agent', policy: { burnLimits: [] } })).budget.burn).toEqual([]);
        const wide = refused(await store.createBudget({ path: 'o/b', kind: 'agent', policy: { burnLimits: [{ amountMicros: usd(3), windowMs: minuteMs }] } }), 'policy_widens');
        expect(wide.field).toBe('policy.burnLimits.0.amountMicros');
        ok(await store.createBudget({ path: 'o/c', kind: 'agent', policy: { burnLimits: [{ amountMicros: usd(5), windowMs: hourMs }] } }));
        ok(await store.updateBudget({ path: 'p/a', policyPatch: { burnLimits: [{ amountMicros: usd(1), windowMs: minuteMs }, { amountMicros: usd(10), windowMs: hourMs }] } }));
        expect((await budget(store, 'p/a')).burn.map((b) => b.windowMs)).toEqual([minuteMs, hourMs]);
        await expectAuditOk(store);
      });

      it('refuses burn limits with a zero window, a negative amount, a repeated window or an unknown field, naming it', async () => {
        // Proves edge validation of burn limits, on create and on a policy patch, with nothing written.
        const cases: [unknown, string][] = [
          [[{ amountMicros: 1_000, windowMs: 0 }], 'policy.burnLimits.0.windowMs'],
          [[{ amountMicros: -1, windowMs: minuteMs }], 'policy.burnLimits.0.amountMicros'],
          [[{ amountMicros: 1.5, windowMs: minuteMs }], 'policy.burnLimits.0.amountMicros'],
          [[{ amountMicros: 1_000, windowMs: minuteMs }, { amountMicros: 5, windowMs: minuteMs }], 'policy.burnLimits.1.windowMs'],
          [[{ amountMicros: 1_000, windowMs: minuteMs, per: 'minute' }], 'policy.burnLimits.0.per'],
          [{ amountMicros: 1_000 }, 'policy.burnLimits'],
          [[null], 'policy.burnLimits.0'],
        ];
        await expectPolicyRefused(store, 'burnLimits', cases);
      });
    });
  });
}
