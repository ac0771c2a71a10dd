import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { webhookEventId } from '../../src/core/index.js';
import { addWebhook } from '../../src/ops/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { openPostgresStore } from '../../src/store/index.js';
import { until } from '../support/until.js';
import { signatureVerifies, startReceiver } from '../support/webhook-receiver.js';
import { dropSchemas, freshSchema } from './support.js';

/** Two servers on one PostgreSQL database drain one webhook outbox: each delivery is sent by exactly one of them. */

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

const budgets = 6;

describe('webhooks on PostgreSQL', () => {
  it('sends each event once when two servers deliver from one database at the same time', async () => {
    // Proves the lease: both deliverers poll fast and claim concurrently, and the receiver counts one delivery per event.
    const schema = freshSchema('wh');
    schemas.add(schema);
    const receiver = await startReceiver();
    receiver.delayMs = 15;
    const servers: RunningServer[] = [];
    try {
      for (let i = 0; i < 2; i += 1) {
        const store = await openPostgresStore({ url, schema });
        servers.push(await startServer({ port: 0, store, upstream: 'real', env: {}, dashboard: false, adminKeys: { admin: [`pg-webhook-admin-key-${i}-0123456789`], viewer: [] }, webhookPollMs: 5, log: () => undefined }));
      }
      const [a, b] = servers;
      if (!a || !b) throw new Error('two servers expected');
      const added = await addWebhook(a.store, (n) => randomBytes(n), { url: receiver.url });
      if (!added.ok) throw new Error(added.message);
      // Each budget raises 8 alerts (4 thresholds on committed, then on spent), written from both servers.
      await Promise.all(
        Array.from({ length: budgets }, async (_, i) => {
          const store = (i % 2 === 0 ? a : b).store;
          const path = `b${i}`;
          expect((await store.createBudget({ path, limitMicros: 1_000, period: 'month' })).ok).toBe(true);
          const r = await store.reserve({ path, amountMicros: 1_000 });
          if (!r.ok) throw new Error(r.message);
          expect((await store.settle({ reservationId: r.reservation.id, actualMicros: 1_000 })).ok).toBe(true);
        }),
      );
      const events = (await a.store.ledger({ kinds: ['alert'], limit: 1000 })).entries.map(webhookEventId);
      expect(events).toHaveLength(budgets * 8);

      await until('every event at the receiver', () => receiver.acknowledged().size === events.length, 20_000);
      await until('both outboxes to empty', () => a.deliverer.pending === 0 && b.deliverer.pending === 0, 20_000);
      expect([...receiver.acknowledged().keys()].sort()).toEqual([...events].sort());
      expect(receiver.received.map((r) => r.eventId).sort()).toEqual([...events].sort());
      expect(receiver.received.every((r) => r.attempt === 1 && signatureVerifies(added.secret, r.signature, r.body))).toBe(true);
      expect((await a.store.webhooks.list())[0]?.stats).toMatchObject({ pending: 0, delivered: events.length, failed: 0 });
    } finally {
      for (const s of servers) await s.close();
      await receiver.stop();
    }
  });
});
