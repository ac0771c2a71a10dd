import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { newSpendToken } from '../../src/core/index.js';
import { startServer } from '../../src/server/index.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { expectStoreUnavailableEverywhere } from '../gateway/store-down.js';
import { startCutProxy } from './cut-proxy.js';
import { dropSchemas, freshSchema } from './support.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

const timeouts = { connectTimeoutMs: 1_000, statementTimeoutMs: 3_000, queryTimeoutMs: 3_000, lockTimeoutMs: 3_000 };

describe('the gateway when its PostgreSQL database goes away', () => {
  it('answers every token route with 503 store_unavailable in the provider\'s shape', { timeout: 60_000 }, async () => {
    // Proves fail-closed without a hang on PostgreSQL: every connection cut and new ones refused, each route refuses promptly and forwards nothing.
    const target = new URL(url);
    const proxy = await startCutProxy(Number(target.port));
    const schema = freshSchema('gw_down');
    schemas.add(schema);
    const store = await openPostgresStore({ url: url.replace(`:${target.port}/`, `:${proxy.port}/`), schema, timeouts });
    const server = await startServer({ port: 0, store, mockUpstream: true, env: {} });
    try {
      expect((await store.createBudget({ path: 'acme', kind: 'org', limitMicros: 100_000_000 })).ok).toBe(true);
      expect((await store.createBudget({ path: 'acme/bot', kind: 'agent', policy: { inflightMax: 100 } })).ok).toBe(true);
      const token = newSpendToken((n) => randomBytes(n));
      expect((await store.mintToken({ path: 'acme/bot', tokenId: token.id, hash: token.hash, limitMicros: 5_000_000, scopes: ['delegate'] })).ok).toBe(true);
      const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: token.secret, maxRetries: 0 });
      const before = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
      expect(before.choices.length).toBeGreaterThan(0);
      const forwarded = server.mock?.requests.length;
      proxy.down();
      await expectStoreUnavailableEverywhere(server.url, token.secret);
      expect(server.mock?.requests.length).toBe(forwarded);
    } finally {
      await server.close();
      await proxy.close();
    }
  });
});
