import { describe, expect, it } from 'vitest';
import type { AuditReport, Reserve } from '../../core/index.js';
import type { Store } from '../store.js';
import { ok, refused, storePerTest, usd } from './helpers.js';
import { SimClock } from './sim-clock.js';
import type { ConformanceTarget } from './target.js';

const minuteMs = 60_000;

/** What two audits of one ledger must agree on, whatever entry each began its replay after. */
function verdict(r: AuditReport) {
  const { ok: passed, entries, budgets, closedPeriods, openReservations, headHash, problems } = r;
  return { passed, entries, budgets, closedPeriods, openReservations, headHash, problems };
}

/**
 * Audit checkpoints over everything the replay tracks, on every store: loop fingerprints and the
 * breaker they trip, model, tag and provider budgets a reservation holds beside its chain
 * (`also`), and expired reservations waiting for their settlement. An audit that resumes from a
 * checkpoint reaches the verdict a full one reaches, and still finds what was altered after it.
 */
export function runCheckpointConformance(target: ConformanceTarget): void {
  describe(`store audit checkpoints: ${target.name}`, () => {
    let clock: SimClock;
    let store: Store;
    storePerTest(target, (opened) => ({ clock, store } = opened), () => store);

    /** An agent with a loop limit of 2 in 10 minutes, and a model, a tag and a provider budget its calls reach. */
    async function tree(): Promise<void> {
      ok(await store.createBudget({ path: 'acme', kind: 'org', limitMicros: usd(100), period: 'month' }));
      ok(await store.createBudget({ path: 'acme/research', kind: 'team', limitMicros: usd(50) }));
      ok(await store.createBudget({ path: 'acme/research/bot', kind: 'agent', policy: { inflightMax: 1_000, burnLimits: [], loopLimit: { repeats: 2, windowMs: 10 * minuteMs } } }));
      ok(await store.createBudget({ path: 'acme/research/model:gpt-4o', kind: 'model', limitMicros: usd(1), period: 'day' }));
      ok(await store.createBudget({ path: 'tags/product:chat', kind: 'tag', limitMicros: usd(1), period: 'day' }));
      ok(await store.createBudget({ path: 'providers/openai', kind: 'provider', limitMicros: usd(1), period: 'day' }));
    }

    /** A gpt-4o call on the agent that reaches the model, tag and provider budgets. */
    const wide = (amountMicros: number, extra: Partial<Reserve> = {}) =>
      store.reserve({ path: 'acme/research/bot', amountMicros, labels: { model: 'gpt-4o' }, tags: ['product:chat'], provider: 'openai', ...extra });

    async function looped(fingerprint: string) {
      const r = await store.reserve({ path: 'acme/research/bot', amountMicros: 100, fingerprint });
      if (r.ok) ok(await store.settle({ reservationId: r.reservation.id, actualMicros: 100 }));
      return r;
    }

    /**
     * Before the checkpoint: a wide reservation left open, two wide ones expired (one released,
     * one charged) and not settled yet, and a loop that tripped the agent's breaker.
     */
    async function beforeCheckpoint() {
      await tree();
      const open = ok(await wide(200_000));
      const released = ok(await wide(100_000, { ttlMs: 1_000, onExpiry: 'release' }));
      const charged = ok(await wide(100_000, { ttlMs: 1_000, onExpiry: 'charge' }));
      clock.advance(2_000);
      await store.sweep();
      ok(await looped('fpLoop'));
      ok(await looped('fpLoop'));
      refused(await looped('fpLoop'), 'loop_detected');
      return { open, released, charged };
    }

    it('resumes from a checkpoint holding loop counts, an open breaker, extra budgets and expiries, and reaches the verdict of a full audit', async () => {
      // Proves the checkpoint carries all the replay's state: every entry after it (settlements on
      // the extra budgets, a late charge, a refund, the breaker's probe, a second loop trip) replays
      // on it exactly as on a replay from the first entry.
      const held = await beforeCheckpoint();
      const first = await store.audit();
      expect([first.ok, first.verifiedFromSeq, first.problems]).toEqual([true, 0, []]);
      ok(await store.settle({ reservationId: held.open.reservation.id, actualMicros: 150_000 }));
      ok(await store.settle({ reservationId: held.released.reservation.id, actualMicros: 40_000 }));
      ok(await store.settle({ reservationId: held.charged.reservation.id, actualMicros: 30_000 }));
      clock.advance(minuteMs);
      ok(await looped('fpProbe'));
      ok(await wide(50_000));
      const again = refused(await looped('fpLoop'), 'loop_detected');
      expect(again.budget).toBe('acme/research/bot');
      const resumed = await store.audit();
      const full = await store.audit({ full: true });
      expect([resumed.verifiedFromSeq, full.verifiedFromSeq]).toEqual([first.entries, 0]);
      expect(verdict(resumed)).toEqual(verdict(full));
      expect(resumed.problems).toEqual([]);
      expect(resumed.ok).toBe(true);
    });

    it('finds an entry altered after the checkpoint, and the balances of the extra budgets it moved', async () => {
      // Proves tamper evidence survives resuming: the replay from the checkpoint checks every later entry and every budget.
      const held = await beforeCheckpoint();
      const first = await store.audit();
      expect(first.ok).toBe(true);
      ok(await store.settle({ reservationId: held.open.reservation.id, actualMicros: 150_000 }));
      const settle = (await store.ledger({ kinds: ['settle'], order: 'desc', limit: 1 })).entries[0];
      if (!settle) throw new Error('no settle entry');
      await target.tamperLedgerAmount(store, settle.seq, 1);
      const tampered = await store.audit();
      expect([tampered.ok, tampered.verifiedFromSeq]).toEqual([false, first.entries]);
      expect(tampered.problems.some((p) => p.seq === settle.seq && p.field === 'hash')).toBe(true);
      for (const path of ['acme/research/model:gpt-4o', 'tags/product:chat', 'providers/openai']) {
        expect(tampered.problems.some((p) => p.budget === path && p.field === 'spentMicros'), path).toBe(true);
      }
      expect(verdict(tampered)).toEqual(verdict(await store.audit({ full: true })));
    });
  });
}
