import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSpendToken, type LedgerEntry } from '../../src/core/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { bundledCatalog, priceUsage, resolveModel } from '../../src/pricing/index.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { OffsetClock } from '../support/offset-clock.js';
import { startThrowawayServer, type ThrowawayServer } from './pg-server.js';

// This test stops its own server, so it never uses the shared one (or DATABASE_URL).
let pg: ThrowawayServer;
beforeAll(async () => {
  pg = await startThrowawayServer();
});
afterAll(() => pg.stop());

const timeouts = { connectTimeoutMs: 500, statementTimeoutMs: 2_000, queryTimeoutMs: 2_000, lockTimeoutMs: 2_000 };
const upstreamTimeoutMs = 3_000;
const ttlMs = 2 * upstreamTimeoutMs;

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A stream that outlives the database: the database dies after its first chunk, the stream finishes. */
async function streamAcrossOutage(client: OpenAI, onFirstChunk: () => Promise<void>): Promise<string> {
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', max_tokens: 200, stream: true, messages: [{ role: 'user', content: 'report' }] }, { headers: { 'x-mock-chunks': '8', 'x-mock-chunk-delay-ms': '150', 'x-mock-output-tokens': '40' } })
    .withResponse();
  let first = true;
  for await (const chunk of stream) {
    if (first && (chunk.choices[0]?.delta?.content ?? '') !== '') {
      first = false;
      await onFirstChunk();
    }
  }
  return response.headers.get('x-bursar-reservation') ?? '';
}

function resolutionsOf(entries: LedgerEntry[], reservationId: string): string[] {
  return entries.filter((e) => e.reservationSeq === Number(reservationId.slice(4)) && e.kind !== 'reserve').map((e) => e.kind);
}

describe('a settlement while the database is down', () => {
  it('is retried until written, and after the TTL it reconciles the charged hold to exactly the actual cost', { timeout: 90_000 }, async () => {
    // Proves no settlement is lost to an outage: counted, logged, written when the store is back, late ones reconciled.
    const clock = new OffsetClock();
    const store: PostgresStore = await openPostgresStore({ url: pg.url, schema: 'outage', timeouts, clock });
    const logs: Record<string, unknown>[] = [];
    let server: RunningServer | undefined;
    try {
      expect((await store.createBudget({ path: 'acme', kind: 'org', limitMicros: 10_000_000 })).ok).toBe(true);
      expect((await store.createBudget({ path: 'acme/bot', kind: 'agent' })).ok).toBe(true);
      const token = newSpendToken((n) => randomBytes(n));
      expect((await store.mintToken({ path: 'acme/bot', tokenId: token.id, hash: token.hash })).ok).toBe(true);
      server = await startServer({ port: 0, store, mockUpstream: true, env: {}, upstreamTimeoutMs, log: (event) => logs.push(event) });
      const running = server;
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: token.secret, maxRetries: 0 });

      // Down and back within the TTL: the settlement waits, then is written as an ordinary one.
      const early = await streamAcrossOutage(client, () => pg.kill());
      expect(running.gateway.resolver.waiting()).toBe(1);
      expect(logs.map((l) => l.event)).toContain('settlement_queued');
      await pg.start();
      await until(() => running.gateway.resolver.waiting() === 0, 30_000);
      expect(logs.map((l) => l.event)).toContain('settlement_written');

      // Down past the TTL: expiry charges the hold, then the settlement refunds the difference.
      const late = await streamAcrossOutage(client, () => pg.kill());
      clock.advance(ttlMs + 1);
      await pg.start();
      await until(() => running.gateway.resolver.waiting() === 0, 30_000);
      expect(logs.map((l) => l.event)).toContain('settlement_written_late');

      const entries = (await store.ledger({ limit: 1000 })).entries;
      expect(resolutionsOf(entries, early)).toEqual(['settle']);
      expect(resolutionsOf(entries, late)).toEqual(['expire_charged', 'expiry_refund']);
      const mock = running.mock?.requests.filter((r) => r.path === '/v1/chat/completions') ?? [];
      const price = resolveModel('gpt-4o-mini', bundledCatalog());
      if (!price.ok) throw new Error('unpriced');
      const actual = mock.map((r) => priceUsage(price.entry, { inputTokens: r.promptTokens ?? 0, outputTokens: r.outputTokens ?? 0 }).costMicros);
      const agent = await store.getBudget('acme/bot');
      expect([agent?.spentMicros, agent?.reservedMicros, agent?.inflight]).toEqual([actual[0]! + actual[1]!, 0, 0]);
      expect((await store.getReservation(late))?.actualMicros).toBe(actual[1]);
      expect((await store.audit()).problems).toEqual([]);
    } finally {
      await server?.close({ drainMs: 0 });
      if (!server) await store.close();
    }
  });
});
