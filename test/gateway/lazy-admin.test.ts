import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { mintToken } from './agent-harness.js';

/*
 * The framework (the admin API, the agent routes, MCP, the dashboard) is built on the first
 * request that needs it: the probes and plain provider calls are answered without it, as it
 * answers them, and it then serves its routes as ever.
 */

const adminKey = 'lazy-admin-test-key-0123456789';
let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-lazy-admin-'));
  const store = openSqliteStore({ path: join(dir, 'lazy.db') });
  await store.createBudget({ path: 'acme', kind: 'org', limitMicros: 10_000_000, period: 'month' });
  await store.createBudget({ path: 'acme/research', kind: 'team', limitMicros: 10_000_000 });
  await store.createBudget({ path: 'acme/research/bot', kind: 'agent', limitMicros: 10_000_000 });
  server = await startServer({ port: 0, store, mockUpstream: true, env: {}, dashboard: false, log: () => undefined, adminKeys: { admin: [adminKey], viewer: [] } });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What a probe answered: what must not differ whoever answers it. */
function seen(status: number, header: (name: string) => unknown, body: string) {
  return { status, body, contentType: header('content-type'), cacheControl: header('cache-control') ?? undefined, code: header('x-bursar-code') ?? undefined };
}

describe('the admin API on first use', () => {
  it('answers the probes and a provider call without building the framework, then serves an admin route on first use', async () => {
    // Proves the lazy build: /healthz, /readyz, /metrics and a streamed and a plain call leave it unbuilt; the first admin request builds it and is answered.
    const direct = new Map<string, ReturnType<typeof seen>>();
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${server.url}${path}`);
      direct.set(path, seen(res.status, (n) => res.headers.get(n), await res.text()));
    }
    const token = await mintToken(server.store);
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: token.secret });
    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await metrics.text();
    expect(text).toContain('bursar_requests_total{surface="api",route="/healthz",code="ok"} 1');
    expect(text).toContain('bursar_requests_total{surface="gateway",route="/v1/chat/completions",code="ok"} 1');
    expect(text).toContain('bursar_ledger_entries_total{kind="reserve"} 1');
    expect(text).toMatch(/^bursar_event_streams 0$/m);
    expect(server.adminLoaded).toBe(false);

    const [budgets, again] = await Promise.all([1, 2].map(() => fetch(`${server.url}/api/budgets`, { headers: { authorization: `Bearer ${adminKey}` } })));
    expect(budgets?.status).toBe(200);
    expect(again?.status).toBe(200);
    const listed = (await budgets?.json()) as { budgets: { path: string }[] };
    expect(listed.budgets.map((b) => b.path)).toContain('acme/research/bot');
    expect(server.adminLoaded).toBe(true);

    // The framework's own routes for the probes answer what the front answered.
    const app = await server.app();
    for (const [path, answered] of direct) {
      const res = await app.inject({ url: path });
      expect(seen(res.statusCode, (n) => res.headers[n], res.body)).toEqual(answered);
    }
  });

  it('answers a probe refusal as the framework does: /readyz 503 store_unavailable once the store is gone', async () => {
    // Proves the direct /readyz refusal matches the framework's, body and headers, on a server whose framework is unbuilt.
    const d = mkdtempSync(join(tmpdir(), 'bursar-lazy-admin-down-'));
    const store = openSqliteStore({ path: join(d, 'down.db') });
    const s = await startServer({ port: 0, store, mockUpstream: true, env: {}, dashboard: false, log: () => undefined, adminKeys: { admin: [adminKey], viewer: [] } });
    try {
      await store.close();
      const res = await fetch(`${s.url}/readyz`);
      const direct = seen(res.status, (n) => res.headers.get(n), await res.text());
      expect(direct.status).toBe(503);
      expect(direct.code).toBe('store_unavailable');
      expect(s.adminLoaded).toBe(false);
      const framework = await (await s.app()).inject({ url: '/readyz' });
      expect(seen(framework.statusCode, (n) => framework.headers[n], framework.body)).toEqual(direct);
    } finally {
      await s.close().catch(() => undefined);
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('answers 500 in the door\'s shape when the framework cannot be built, and builds it on the next request', async () => {
    // Proves a failed build is a coded refusal, not a hang, and is tried again: a plugin fails once, then the same route answers.
    let failures = 1;
    const d = mkdtempSync(join(tmpdir(), 'bursar-lazy-admin-fail-'));
    const s = await startServer({
      port: 0,
      db: join(d, 'fail.db'),
      mockUpstream: true,
      env: {},
      dashboard: false,
      log: () => undefined,
      adminKeys: { admin: [adminKey], viewer: [] },
      plugins: [
        async () => {
          if (failures-- > 0) throw new Error('plugin failed to start');
        },
      ],
    });
    const errors = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const first = await fetch(`${s.url}/api/budgets`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(first.status).toBe(500);
      expect(first.headers.get('x-bursar-code')).toBe('internal');
      expect(((await first.json()) as { error: { code: string } }).error.code).toBe('internal');
      expect(s.adminLoaded).toBe(false);
      const second = await fetch(`${s.url}/api/budgets`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(second.status).toBe(200);
      expect(s.adminLoaded).toBe(true);
    } finally {
      errors.mockRestore();
      await s.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
