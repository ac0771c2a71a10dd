import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeTable } from '../../src/contract/index.js';
import { limits } from '../../src/core/index.js';
import { serverLimits, startServer, type RunningServer } from '../../src/server/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { runInProcess } from '../cli/cli-harness.js';
import { startHarness, type Harness } from '../gateway/harness.js';

/*
 * What every request meets before its route: the failed-authentication limit per source
 * address, CORS (off unless configured), and the security headers of the dashboard's pages.
 */

const adminKey = 'edge-test-admin-key-0123456789';
let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'bursar-edge-'));
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Knock {
  url: string;
  method?: 'GET' | 'POST' | 'OPTIONS';
  headers?: Record<string, string>;
  body?: string;
  from?: string;
}

async function knock(server: RunningServer, k: Knock) {
  return (await server.app()).inject({ method: k.method ?? 'GET', url: k.url, headers: k.headers, payload: k.body, remoteAddress: k.from ?? '203.0.113.7' });
}

const chatBody = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });

describe('failed authentication is limited per source address', () => {
  it(`refuses an address with 429 too_many_auth_failures after ${serverLimits.authFailuresMax} failures in a window, on every door, until the window ends`, async () => {
    // Proves a credential cannot be guessed at speed: wrong keys and tokens count, then even a right one waits.
    const s = h.server;
    const wrong: Knock[] = [
      { url: '/api/me', headers: { authorization: 'Bearer not-the-admin-key-at-all' } },
      { url: '/v1/chat/completions', method: 'POST', headers: { authorization: 'Bearer bsr_0000000000000000000000000000', 'content-type': 'application/json' }, body: chatBody },
      { url: '/v1/bursar/balance', headers: { 'x-api-key': 'bsr_1111111111111111111111111111' } },
    ];
    for (let i = 0; i < serverLimits.authFailuresMax; i += 1) expect((await knock(s, wrong[i % wrong.length] as Knock)).statusCode).toBe(401);
    const right = await knock(s, { url: '/v1/bursar/balance', headers: { authorization: `Bearer ${h.secret}` } });
    expect(right.statusCode).toBe(429);
    expect(right.json()).toMatchObject({ error: { code: 'too_many_auth_failures', type: 'rate_limit_error' } });
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(right.headers['retry-after'])).toBeLessThanOrEqual(serverLimits.authFailureWindowMs / 1_000);
    expect(codeTable.too_many_auth_failures.status).toBe(429);
    // Each door answers in its own shape.
    const anthropic = await knock(s, { url: '/v1/messages', method: 'POST', headers: { 'x-api-key': h.secret, 'content-type': 'application/json' }, body: chatBody });
    expect(anthropic.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', code: 'too_many_auth_failures' } });
    expect((await knock(s, { url: '/api/me', headers: { authorization: 'Bearer x' } })).json()).toMatchObject({ error: { code: 'too_many_auth_failures' } });
    // Requests without a credential still pass; other addresses are not affected.
    expect((await knock(s, { url: '/healthz' })).statusCode).toBe(200);
    expect((await knock(s, { url: '/v1/bursar/balance', headers: { authorization: `Bearer ${h.secret}` }, from: '198.51.100.9' })).statusCode).toBe(200);
    // Once the window has passed, the right credential is let in again.
    h.clock.advance(serverLimits.authFailureWindowMs);
    expect((await knock(s, { url: '/v1/bursar/balance', headers: { authorization: `Bearer ${h.secret}` } })).statusCode).toBe(200);
  });

  it('counts an IPv6 source by its /64, so one host cannot spread its guesses over its addresses', async () => {
    // Proves rotating the interface identifier within one /64 does not reset the count.
    for (let i = 0; i < serverLimits.authFailuresMax; i += 1) {
      expect((await knock(h.server, { url: '/api/me', headers: { authorization: 'Bearer wrong-key-wrong-key' }, from: `2001:db8:5:7::${i.toString(16)}` })).statusCode).toBe(401);
    }
    expect((await knock(h.server, { url: '/api/me', headers: { authorization: 'Bearer wrong-key-wrong-key' }, from: '2001:db8:5:7:ffff::1' })).statusCode).toBe(429);
    expect((await knock(h.server, { url: '/api/me', headers: { authorization: 'Bearer wrong-key-wrong-key' }, from: '2001:db8:5:8::1' })).statusCode).toBe(401);
  });
});

describe('URLs the router cannot read', () => {
  it('reach a budget at the deepest, longest path there is, and refuse a broken escape with a coded 400', async () => {
    // Proves a legal budget path always fits in a URL (it once failed past 100 characters) and a bad one is a bad request.
    const names = Array.from({ length: limits.pathDepthMax }, (_, i) => `${String(i).padStart(2, '0')}${'n'.repeat(limits.nameBytesMax - 2)}`);
    for (let depth = 1; depth <= names.length; depth += 1) expect((await h.server.store.createBudget({ path: names.slice(0, depth).join('/'), kind: depth === 1 ? 'org' : 'team' })).ok).toBe(true);
    const deepest = names.join('/');
    const key = { authorization: `Bearer ${String(h.server.generatedAdminKey)}` };
    const read = await knock(h.server, { url: `/api/budgets/${encodeURIComponent(deepest)}`, headers: key, from: '192.0.2.50' });
    expect([read.statusCode, read.json<{ budget: { path: string } }>().budget.path]).toEqual([200, deepest]);
    const broken = await knock(h.server, { url: '/api/budgets/acme%zz', headers: key, from: '192.0.2.50' });
    expect([broken.statusCode, broken.json()]).toMatchObject([400, { error: { code: 'bad_request' } }]);
    const tooLong = await knock(h.server, { url: `/v1/bursar/reservations/${'x'.repeat(5_000)}/void`, method: 'POST', headers: { authorization: `Bearer ${h.secret}` }, from: '192.0.2.50' });
    expect([tooLong.statusCode, tooLong.json()]).toMatchObject([400, { error: { code: 'bad_request', type: 'invalid_request_error' } }]);
  });
});

describe('CORS', () => {
  it('is off by default: no browser on another site may read an answer, and preflights are not granted', async () => {
    // Proves the default is closed: neither a simple request nor a preflight gets an Allow-Origin.
    const simple = await knock(h.server, { url: '/v1/models', headers: { origin: 'https://evil.example', authorization: `Bearer ${h.secret}` }, from: '192.0.2.1' });
    expect(simple.statusCode).toBe(200);
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await knock(h.server, { url: '/v1/chat/completions', method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' }, from: '192.0.2.1' });
    expect(preflight.statusCode).toBe(404);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('opens to the configured origins only, on the proxy, the agent routes and the admin API alike', async () => {
    // Proves --cors-origin: the listed origin gets preflights and readable answers (Bursar headers exposed); others get nothing.
    const store = openSqliteStore({ path: join(dir, 'cors.db') });
    const server = await startServer({ port: 0, store, mockUpstream: true, env: {}, adminKeys: { admin: [adminKey], viewer: [] }, dashboard: false, corsOrigins: ['https://app.example.com'] });
    try {
      const preflight = await knock(server, { url: '/v1/chat/completions', method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' } });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-headers': 'authorization, content-type, x-stainless-os', vary: 'Origin' });
      expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');
      const admin = await knock(server, { url: '/api/me', headers: { origin: 'https://app.example.com', authorization: `Bearer ${adminKey}` } });
      expect([admin.statusCode, admin.headers['access-control-allow-origin']]).toEqual([200, 'https://app.example.com']);
      const proxied = await knock(server, { url: '/v1/chat/completions', method: 'POST', headers: { origin: 'https://app.example.com', authorization: 'Bearer bsr_nope', 'content-type': 'application/json' }, body: chatBody });
      expect([proxied.statusCode, proxied.headers['access-control-allow-origin']]).toEqual([401, 'https://app.example.com']);
      expect(String(proxied.headers['access-control-expose-headers'])).toContain('x-bursar-code');
      const other = await knock(server, { url: '/api/me', headers: { origin: 'https://evil.example', authorization: `Bearer ${adminKey}` } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('refuses an origin that is not one, from the command line, naming the flag', async () => {
    // Proves a typo in --cors-origin stops the server before it listens, with how to fix it.
    const run = await runInProcess(['--db', join(dir, 'cli.db'), 'serve', '--port', '0', '--mock-upstream', '--cors-origin', 'app.example.com/'], { BURSAR_ADMIN_KEY: adminKey });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid_cors_origin');
    expect(run.stderr).toContain('--cors-origin');
  });
});

describe('the dashboard\'s pages', () => {
  it('carry a content security policy, nosniff, no referrer and no framing, built or not', async () => {
    // Proves the HTML answers cannot be framed, sniffed into another type, or leak the URL to other sites.
    const built = join(dir, 'web');
    mkdirSync(built, { recursive: true });
    writeFileSync(join(built, 'index.html'), '<!doctype html><title>Bursar</title>');
    for (const dashboard of [built, join(dir, 'not-built')]) {
      const store = openSqliteStore({ path: join(dir, `dash-${dashboard.length}.db`) });
      const server = await startServer({ port: 0, store, mockUpstream: true, env: {}, adminKeys: { admin: [adminKey], viewer: [] }, dashboard });
      try {
        const page = await knock(server, { url: '/' });
        expect(String(page.headers['content-type'])).toMatch(/^text\/html/);
        expect(page.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' });
        expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
        expect(String(page.headers['content-security-policy'])).toContain("default-src 'self'");
      } finally {
        await server.close();
      }
    }
  });
});
