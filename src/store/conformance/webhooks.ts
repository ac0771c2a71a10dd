import { describe, expect, it } from 'vitest';
import type { WebhookFacts } from '../../core/index.js';
import type { Store } from '../store.js';
import type { ClaimedDelivery, WebhookRecord } from '../webhooks.js';
import { allEntries, conformanceStartMs, ok, refused, storePerTest } from './helpers.js';
import { SimClock } from './sim-clock.js';
import type { ConformanceTarget } from './target.js';

const leaseMs = 60_000;

function webhook(id: string, events: string[] | null = null): WebhookRecord {
  return { id, url: `http://127.0.0.1:9/${id}`, events, secret: `whsec_${id}_0123456789abcdef`, createdMs: conformanceStartMs };
}

function facts(d: ClaimedDelivery): WebhookFacts {
  return JSON.parse(d.facts) as WebhookFacts;
}

/**
 * The webhook outbox, on every store: events queued in the transaction of the entry that raised
 * them, leased to one claimant at a time, retried, given up, and kept across restarts.
 */
export function runWebhookConformance(target: ConformanceTarget): void {
  describe(`store webhooks: ${target.name}`, () => {
    let clock: SimClock;
    let store: Store;
    storePerTest(target, (opened) => ({ clock, store } = opened), () => store);

    it('queues each event for every webhook that subscribes to its kind, in the transaction of its entry', async () => {
      // Proves the fan-out and the filter: one row per event entry and subscriber, none for other kinds or other entries.
      expect(await store.webhooks.add(webhook('wh_all'), 10)).toBe(true);
      expect(await store.webhooks.add(webhook('wh_trips', ['breaker_tripped']), 10)).toBe(true);
      ok(await store.createBudget({ path: 'o', kind: 'org', limitMicros: 1_000, period: 'month' }));
      ok(await store.createBudget({ path: 'o/a', kind: 'agent', policy: { inflightMax: 100, burnLimits: [{ amountMicros: 900, windowMs: 60_000 }] } }));
      ok(await store.reserve({ path: 'o/a', amountMicros: 600 }));
      refused(await store.reserve({ path: 'o/a', amountMicros: 400 }), 'burn_limit');

      const entries = await allEntries(store);
      const events = entries.filter((e) => ['alert', 'breaker_tripped', 'breaker_closed'].includes(e.kind));
      expect(events.map((e) => e.kind)).toEqual(['alert', 'breaker_tripped']);
      const claimed = await store.webhooks.claim({ nowMs: clock.now(), leaseMs, max: 100, claim: 'c1' });
      expect(claimed.map((d) => [d.webhookId, d.kind, facts(d).entry.seq]).sort()).toEqual(
        [['wh_all', 'alert', events[0]?.seq], ['wh_all', 'breaker_tripped', events[1]?.seq], ['wh_trips', 'breaker_tripped', events[1]?.seq]].sort(),
      );
      const trips = claimed.filter((d) => d.kind === 'breaker_tripped');
      expect(new Set(trips.map((d) => d.eventId)).size).toBe(1);
      const alert = claimed.find((d) => d.kind === 'alert');
      expect(alert && facts(alert).budget).toMatchObject({ path: 'o', limitMicros: 1_000, period: 'month' });
      expect(alert && facts(alert).entry).toEqual(events[0]);
      expect(claimed.every((d) => d.attempts === 1 && d.url.endsWith(d.webhookId) && d.secret.startsWith('whsec_'))).toBe(true);
    });

    it('leases a due delivery to one claimant at a time, and to another once the lease runs out', async () => {
      // Proves a second process cannot claim a leased row, an expired lease is taken over, and the old holder can no longer record.
      const second = await target.openSecond(store, clock);
      try {
        expect(await store.webhooks.add(webhook('wh_1'), 10)).toBe(true);
        ok(await store.createBudget({ path: 'b', limitMicros: 100 }));
        ok(await store.reserve({ path: 'b', amountMicros: 50 }));
        const now = clock.now();
        const first = await store.webhooks.claim({ nowMs: now, leaseMs, max: 10, claim: 'first' });
        expect(first).toHaveLength(1);
        expect(await second.webhooks.claim({ nowMs: now + 1, leaseMs, max: 10, claim: 'second' })).toEqual([]);
        const taken = await second.webhooks.claim({ nowMs: now + leaseMs, leaseMs, max: 10, claim: 'second' });
        expect(taken.map((d) => [d.id, d.attempts, d.claim])).toEqual([[first[0]?.id, 2, 'second']]);
        const late = { id: first[0]?.id ?? 0, claim: 'first', webhookId: 'wh_1', atMs: now + leaseMs, state: 'delivered' as const, nextAttemptMs: now, status: 200, error: null };
        expect(await store.webhooks.record(late)).toBe(false);
        expect(await second.webhooks.record({ ...late, claim: 'second' })).toBe(true);
        expect((await store.webhooks.get('wh_1'))?.stats).toMatchObject({ pending: 0, delivered: 1, failed: 0, lastStatus: 200 });
      } finally {
        await second.close();
      }
    });

    it('retries at the time recorded, gives up when told, and keeps the history and stats', async () => {
      // Proves a failed attempt waits for its next time, a give-up is final and counted, and both show in the listing.
      expect(await store.webhooks.add(webhook('wh_1'), 10)).toBe(true);
      ok(await store.createBudget({ path: 'b', limitMicros: 100 }));
      ok(await store.reserve({ path: 'b', amountMicros: 80 }));
      const now = clock.now();
      const claimed = await store.webhooks.claim({ nowMs: now, leaseMs, max: 10, claim: 'a' });
      expect(claimed.map((d) => d.kind)).toEqual(['alert', 'alert']);
      const [one, two] = claimed;
      if (!one || !two) throw new Error('two deliveries expected');
      expect(await store.webhooks.record({ id: one.id, claim: 'a', webhookId: 'wh_1', atMs: now, state: 'pending', nextAttemptMs: now + 5_000, status: 500, error: 'HTTP 500' })).toBe(true);
      expect(await store.webhooks.record({ id: two.id, claim: 'a', webhookId: 'wh_1', atMs: now, state: 'failed', nextAttemptMs: now, status: null, error: 'ECONNREFUSED' })).toBe(true);
      expect(await store.webhooks.claim({ nowMs: now + 4_999, leaseMs, max: 10, claim: 'b' })).toEqual([]);
      expect((await store.webhooks.claim({ nowMs: now + 5_000, leaseMs, max: 10, claim: 'b' })).map((d) => [d.id, d.attempts])).toEqual([[one.id, 2]]);
      const listed = await store.webhooks.list();
      expect(listed.map((w) => [w.id, w.stats.pending, w.stats.failed, w.stats.lastError])).toEqual([['wh_1', 1, 1, 'ECONNREFUSED']]);
      expect((await store.webhooks.deliveries({ webhookId: 'wh_1', state: 'failed', limit: 10 })).map((d) => [d.id, d.lastError])).toEqual([[two.id, 'ECONNREFUSED']]);
      expect(await store.webhooks.pendingCount()).toBe(1);
      expect(await store.webhooks.prune(now + 1)).toBe(1);
      expect(await store.webhooks.deliveries({ webhookId: 'wh_1', limit: 10 })).toHaveLength(1);
    });

    it('keeps queued deliveries across a restart, drops them with their webhook, and caps the number of webhooks', async () => {
      // Proves the outbox is durable, removal leaves nothing behind, and add honours its bound.
      expect(await store.webhooks.add(webhook('wh_1', ['alert']), 2)).toBe(true);
      expect(await store.webhooks.add(webhook('wh_2'), 2)).toBe(true);
      expect(await store.webhooks.add(webhook('wh_3'), 2)).toBe(false);
      ok(await store.createBudget({ path: 'b', limitMicros: 100 }));
      ok(await store.reserve({ path: 'b', amountMicros: 50 }));
      store = await target.reopen(store, clock);
      expect((await store.webhooks.list()).map((w) => [w.id, w.events, w.stats.pending])).toEqual([['wh_1', ['alert'], 1], ['wh_2', null, 1]]);
      expect(await store.webhooks.remove('wh_1')).toEqual({ dropped: 1 });
      expect(await store.webhooks.remove('wh_1')).toBeUndefined();
      expect(await store.webhooks.get('wh_1')).toBeUndefined();
      expect(await store.webhooks.pendingCount()).toBe(1);
    });

    it('writes no event for a refusal that writes nothing', async () => {
      // Proves only committed entries raise events: an over-budget refusal leaves the outbox empty.
      expect(await store.webhooks.add(webhook('wh_1'), 10)).toBe(true);
      ok(await store.createBudget({ path: 'b', limitMicros: 100 }));
      refused(await store.reserve({ path: 'b', amountMicros: 150 }), 'budget_exceeded');
      expect(await store.webhooks.pendingCount()).toBe(0);
    });
  });
}
