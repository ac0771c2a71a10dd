import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookEventId, type LedgerEntry } from '../../src/core/index.js';
import { addWebhook, WebhookDeliverer } from '../../src/ops/index.js';
import { startServer } from '../../src/server/index.js';
import { SimClock } from '../../src/store/conformance/index.js';
import { openSqliteStore, type Store } from '../../src/store/index.js';
import { OffsetClock } from '../support/offset-clock.js';
import { until } from '../support/until.js';
import { signatureVerifies, startReceiver, type Receiver } from '../support/webhook-receiver.js';

/** Webhook delivery on SQLite: every alert arrives once acknowledged, through outages and restarts. */

const random = (n: number) => randomBytes(n);
const adminKey = 'webhook-test-admin-key-0123456789';

async function alerts(store: Store): Promise<LedgerEntry[]> {
  return (await store.ledger({ kinds: ['alert'], limit: 1000 })).entries;
}

async function spend(store: Store, path: string, micros: number): Promise<void> {
  const r = await store.reserve({ path, amountMicros: micros });
  if (!r.ok) throw new Error(r.message);
  const s = await store.settle({ reservationId: r.reservation.id, actualMicros: micros });
  if (!s.ok) throw new Error(s.message);
}

describe('webhook delivery', () => {
  let dir: string;
  let receiver: Receiver;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bursar-webhooks-'));
    receiver = await startReceiver();
  });

  afterEach(async () => {
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every alert of two periods once acknowledged, through refused connections and 500s, signed, duplicates under one id', async () => {
    // Proves at-least-once delivery with backoff on a simulated clock: nothing lost while the receiver is down, each alert once per period.
    const clock = new SimClock(Date.UTC(2026, 4, 1, 10, 30));
    const store = openSqliteStore({ path: join(dir, 'b.db'), clock });
    try {
      expect((await store.createBudget({ path: 'acme', kind: 'org', limitMicros: 1_000_000, period: 'hour' })).ok).toBe(true);
      const added = await addWebhook(store, random, { url: receiver.url, events: ['alert'] });
      if (!added.ok) throw new Error(added.message);
      const deliverer = new WebhookDeliverer({ store, random });

      await receiver.stop();
      await spend(store, 'acme', 600_000);
      expect(await deliverer.pass()).toBe(2);
      expect((await store.webhooks.list())[0]?.stats).toMatchObject({ pending: 2, delivered: 0, lastStatus: null, lastError: 'connection refused (ECONNREFUSED)' });

      await receiver.listen();
      receiver.answer = () => 500;
      clock.advance(1_000);
      await spend(store, 'acme', 350_000);
      expect(await deliverer.pass()).toBe(6);
      clock.advance(60 * 60_000);
      await spend(store, 'acme', 500_000);
      expect(await deliverer.pass()).toBe(8);
      expect(await deliverer.pass()).toBe(0);

      receiver.answer = () => 200;
      clock.advance(10 * 60_000);
      expect(await deliverer.pass()).toBe(8);
      expect(await store.webhooks.pendingCount()).toBe(0);

      const raised = await alerts(store);
      const periods = raised.map((e) => {
        const d = JSON.parse(e.data ?? '{}') as { basis: string; thresholdPct: number; periodStartMs: number };
        return `${new Date(d.periodStartMs).toISOString().slice(11, 16)} ${d.basis} ${d.thresholdPct}`;
      });
      expect(periods.sort()).toEqual(['10:00 committed 50', '10:00 committed 75', '10:00 committed 90', '10:00 spent 50', '10:00 spent 75', '10:00 spent 90', '11:00 committed 50', '11:00 spent 50']);
      const acknowledged = receiver.acknowledged();
      expect([...acknowledged.keys()].sort()).toEqual(raised.map(webhookEventId).sort());
      expect([...acknowledged.values()].every((n) => n === 1)).toBe(true);

      expect(receiver.received.length).toBeGreaterThan(8);
      for (const r of receiver.received) {
        expect(signatureVerifies(added.secret, r.signature, r.body), r.eventId).toBe(true);
        expect((JSON.parse(r.body) as { id: string }).id).toBe(r.eventId);
        expect(r.body).toBe(receiver.received.find((x) => x.eventId === r.eventId)?.body);
      }
      const bodies = receiver.received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
      const second = bodies.find((b) => b.basis === 'spent' && b.period_start === '2026-05-01T11:00:00.000Z');
      expect(second).toMatchObject({ kind: 'alert', budget_path: 'acme', threshold_pct: 50, spent_micros: 500_000, spent_usd: '0.500000', limit_micros: 1_000_000, limit_usd: '1.000000', period: 'hour', test: false });
      expect(second?.text).toBe('Bursar: acme reached 50% of its $1.00 hourly limit: $0.50 spent.');
      expect((await store.webhooks.list())[0]?.stats).toMatchObject({ pending: 0, delivered: 8, failed: 0, lastStatus: 200, lastError: null });
    } finally {
      await store.close();
    }
  });

  it('admits reservations while a receiver hangs on a delivery', async () => {
    // Proves delivery is off the reservation path: with an attempt stuck at the receiver, reservations (and the alerts they raise) go on.
    const store = openSqliteStore({ path: join(dir, 'b.db') });
    let release: () => void = () => undefined;
    receiver.gate = new Promise<void>((resolve) => (release = resolve));
    try {
      expect((await store.createBudget({ path: 'acme', limitMicros: 1_000_000, period: 'month', policy: { inflightMax: 1_000 } })).ok).toBe(true);
      const added = await addWebhook(store, random, { url: receiver.url });
      if (!added.ok) throw new Error(added.message);
      await spend(store, 'acme', 500_000);
      const pass = new WebhookDeliverer({ store, random }).pass();
      await until('an attempt held at the receiver', () => receiver.waiting > 0);
      const held = await Promise.all(Array.from({ length: 40 }, () => store.reserve({ path: 'acme', amountMicros: 10_000 })));
      expect(held.every((r) => r.ok)).toBe(true);
      expect([receiver.waiting > 0, receiver.received.length]).toEqual([true, 0]);
      expect(await store.webhooks.pendingCount()).toBeGreaterThan(2);
      release();
      expect(await pass).toBe(2);
    } finally {
      release();
      await store.close();
    }
  });

  it('gives a delivery up after its last attempt, and records it where it can be seen', async () => {
    // Proves retries are bounded: a receiver that never recovers ends with a failed delivery, counted and logged.
    const clock = new SimClock(Date.UTC(2026, 4, 1, 10, 30));
    const store = openSqliteStore({ path: join(dir, 'b.db'), clock });
    const logs: Record<string, unknown>[] = [];
    try {
      expect((await store.createBudget({ path: 'acme', limitMicros: 1_000, period: 'day' })).ok).toBe(true);
      const added = await addWebhook(store, random, { url: receiver.url });
      if (!added.ok) throw new Error(added.message);
      receiver.answer = () => 503;
      await spend(store, 'acme', 500);
      const deliverer = new WebhookDeliverer({ store, random, log: (e) => logs.push(e) });
      let attempts = 0;
      for (let i = 0; i < 30 && (await store.webhooks.pendingCount()) > 0; i += 1) {
        attempts += await deliverer.pass();
        clock.advance(60 * 60_000);
      }
      expect(attempts).toBe(2 * 20);
      const failed = await store.webhooks.deliveries({ webhookId: added.webhook.id, state: 'failed', limit: 10 });
      expect(failed.map((d) => [d.attempts, d.lastStatus, d.lastError])).toEqual([[20, 503, 'HTTP 503'], [20, 503, 'HTTP 503']]);
      expect((await store.webhooks.list())[0]?.stats).toMatchObject({ pending: 0, delivered: 0, failed: 2 });
      expect(logs.filter((e) => e.event === 'webhook_given_up')).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  it('leaves what it could not deliver to the next server on the same database, which delivers it', async () => {
    // Proves the outbox survives a restart: deliveries pending when one server stops are sent by the next.
    const clock = new OffsetClock();
    const db = join(dir, 'b.db');
    const serve = () => startServer({ port: 0, store: openSqliteStore({ path: db, clock }), upstream: 'real', env: {}, dashboard: false, adminKeys: { admin: [adminKey], viewer: [] }, webhookPollMs: 20, log: () => undefined });
    const api = (url: string, path: string, init: RequestInit = {}) => fetch(url + path, { ...init, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' } });
    await receiver.stop();

    const first = await serve();
    const made = await api(first.url, '/api/webhooks', { method: 'POST', body: JSON.stringify({ url: receiver.url, events: ['alert', 'breaker_tripped'] }) });
    expect(made.status).toBe(201);
    const { secret } = (await made.json()) as { secret: string };
    expect((await first.store.createBudget({ path: 'acme', limitMicros: 1_000_000, period: 'month' })).ok).toBe(true);
    await spend(first.store, 'acme', 800_000);
    const listed = async (url: string) => ((await (await api(url, '/api/webhooks')).json()) as { webhooks: { pending: number; delivered: number; last_error: string | null }[] }).webhooks[0];
    await until('the first attempts', async () => (await listed(first.url))?.last_error === 'connection refused (ECONNREFUSED)');
    expect(await listed(first.url)).toMatchObject({ pending: 4, delivered: 0 });
    await first.close();

    await receiver.listen();
    clock.advance(2 * 60 * 60_000);
    const second = await serve();
    try {
      await until('every alert at the receiver', () => receiver.acknowledged().size === 4);
      const ids = (await alerts(second.store)).map(webhookEventId);
      expect([...receiver.acknowledged().keys()].sort()).toEqual(ids.sort());
      expect(receiver.received.every((r) => signatureVerifies(secret, r.signature, r.body))).toBe(true);
      await until('the pending gauge to empty', async () => (await (await fetch(`${second.url}/metrics`)).text()).includes('bursar_webhook_deliveries_pending 0'));
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      expect(metrics).toContain('bursar_webhook_deliveries_total{outcome="delivered"} 4');
      expect(await listed(second.url)).toMatchObject({ pending: 0, delivered: 4, last_error: null });
    } finally {
      await second.close();
    }
  });
});
