import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockFault, type MockUpstream } from '../../src/mock-upstream/index.js';
import { startGatewayProcess } from '../chaos/gateway-process.js';

/*
 * A whole scenario against a real `bursar serve` with fake keys: admin and viewer keys, both
 * provider keys, spend tokens minted and delegated. Afterwards no key or token may appear
 * anywhere it should not: in an answer (but the one that minted it), a header, the server's
 * output, the database files, or a request to the provider.
 */

const keys = {
  admin: 'adm-FAKEADMINKEY-9f3c1e7b2a6d4c8e',
  viewer: 'vwr-FAKEVIEWERKEY-1b2c3d4e5f6a7b8c',
  openai: 'sk-proj-FAKEOPENAIKEY0123456789abcdefghijkl',
  anthropic: 'sk-ant-api03-FAKEANTHROPICKEY0123456789abcdef',
};

interface Seen {
  label: string;
  text: string;
  /** Secrets this answer may carry: the token it minted, shown once. */
  allow: string[];
}

let dir: string;
let mock: MockUpstream;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-secrets-'));
  mock = await startMockUpstream({ port: 0 });
});
afterAll(async () => {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('secrets', () => {
  it('no admin key, provider key or spend token appears in an answer, a header, the server output, the database or an upstream request', { timeout: 90_000 }, async () => {
    // Proves the credentials stay where they belong through every door, refusals and logs included.
    const db = join(dir, 'secrets.db');
    const server = await startGatewayProcess({ db, upstreamUrl: mock.url, env: { BURSAR_ADMIN_KEY: keys.admin, BURSAR_VIEWER_KEY: keys.viewer, OPENAI_API_KEY: keys.openai, ANTHROPIC_API_KEY: keys.anthropic } });
    const seen: Seen[] = [];
    const call = async (label: string, path: string, init: RequestInit & { key?: string; allowMinted?: boolean } = {}) => {
      const headers = new Headers(init.headers);
      if (init.key) headers.set('authorization', `Bearer ${init.key}`);
      if (init.body) headers.set('content-type', 'application/json');
      const res = await fetch(`${server.url}${path}`, { ...init, headers });
      const body = await res.text();
      // The admin API answers a mint with `secret`, the agent route a delegation with `token`.
      const answer = init.allowMinted ? (JSON.parse(body) as { secret?: unknown; token?: unknown }) : {};
      const minted = [answer.secret, answer.token].filter((s): s is string => typeof s === 'string');
      seen.push({ label, text: `${res.status}\n${headerLines(res.headers)}\n\n${body}`, allow: minted });
      return { status: res.status, body };
    };
    const admin = { key: keys.admin };
    const post = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body) });
    try {
      expect((await call('create org', '/api/budgets', { ...admin, ...post({ path: 'acme', kind: 'org', limit_micros: 50_000_000 }) })).status).toBe(201);
      expect((await call('create agent', '/api/budgets', { ...admin, ...post({ path: 'acme/bot', kind: 'agent', limit_micros: 10_000_000 }) })).status).toBe(201);
      const mint = await call('mint', '/api/tokens', { ...admin, ...post({ budget: 'acme/bot', max_spend_micros: 5_000_000, scopes: ['delegate'] }), allowMinted: true });
      const token = (JSON.parse(mint.body) as { token: string }).token;
      const child = await call('delegate', '/v1/bursar/tokens', { key: token, ...post({ max_spend_micros: 1_000_000 }), allowMinted: true });
      const delegated = JSON.parse(child.body) as { token: string; id: string };
      const childToken = { secret: delegated.token, id: delegated.id };
      expect(token).toMatch(/^bsr_/);
      expect(childToken.secret).toMatch(/^bsr_/);

      const chat = { model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] };
      const message = { model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] };
      await call('chat', '/v1/chat/completions', { key: token, ...post(chat) });
      await call('chat stream', '/v1/chat/completions', { key: token, ...post({ ...chat, stream: true }) });
      await call('messages', '/v1/messages', { headers: { 'x-api-key': token }, ...post(message) });
      await call('messages stream', '/v1/messages', { headers: { 'x-api-key': childToken.secret }, ...post({ ...message, stream: true }) });
      await call('responses', '/v1/responses', { key: childToken.secret, ...post({ model: 'gpt-4o-mini', input: 'hello', max_output_tokens: 20 }) });
      await call('embeddings', '/v1/embeddings', { key: token, ...post({ model: 'text-embedding-3-small', input: 'hello' }) });
      // A real upstream gets no x-mock- headers: the provider's faults are set on the mock itself.
      const faulty = async (fault: MockFault, label: string, path: string, init: Parameters<typeof call>[2]) => {
        mock.configure({ fault });
        await call(label, path, init).finally(() => mock.configure({ fault: null }));
      };
      await faulty('500', 'provider 500', '/v1/chat/completions', { key: token, ...post(chat) });
      await faulty('429', 'provider 429', '/v1/messages', { headers: { 'x-api-key': token }, ...post(message) });
      await faulty('huge-usage', 'unbelievable usage (logged)', '/v1/chat/completions', { key: token, ...post(chat) });
      await faulty('truncate', 'cut stream', '/v1/chat/completions', { key: token, ...post({ ...chat, stream: true }) });
      await call('models', '/v1/models', { key: token });
      await call('balance', '/v1/bursar/balance', { key: token });
      await call('revoke child', `/v1/bursar/tokens/${childToken.id}/revoke`, { key: token, method: 'POST' });
      await call('revoked child', '/v1/chat/completions', { key: childToken.secret, ...post(chat) });

      // Credentials at the wrong door, or nearly right: refused without being repeated back.
      const nearToken = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      const nearAdmin = `${keys.admin.slice(0, -1)}x`;
      expect((await call('near-miss token', '/v1/chat/completions', { key: nearToken, ...post(chat) })).status).toBe(401);
      expect((await call('admin key at the gateway', '/v1/chat/completions', { key: keys.admin, ...post(chat) })).status).toBe(401);
      expect((await call('provider key at the gateway', '/v1/chat/completions', { key: keys.openai, ...post(chat) })).status).toBe(401);
      expect((await call('anthropic key at the gateway', '/v1/messages', { headers: { 'x-api-key': keys.anthropic }, ...post(message) })).status).toBe(401);
      expect((await call('token at the admin API', '/api/me', { key: token })).status).toBe(401);
      expect((await call('near-miss admin key', '/api/me', { key: nearAdmin })).status).toBe(401);
      expect((await call('viewer writes', '/api/budgets', { key: keys.viewer, ...post({ path: 'x', kind: 'org' }) })).status).toBe(403);

      for (const path of ['/api/tokens', '/api/ledger?limit=1000', '/api/usage?group_by=agent', '/api/sessions', '/api/audit', '/api/me', '/api/tree', '/api/budgets/acme%2Fbot', '/api/alerts', '/api/forecast', '/api/activity', '/api/openapi.json']) {
        await call(path, path, admin);
      }
      await call('ledger csv', '/api/ledger', { ...admin, headers: { accept: 'text/csv' } });
      await call('viewer tokens', '/api/tokens', { key: keys.viewer });
      for (const path of ['/metrics', '/healthz', '/readyz', '/v1/bursar/openapi.json', '/v1/bursar/tools', '/']) await call(path, path);
      seen.push({ label: 'events', text: await eventsText(server.url), allow: [] });
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }

    const minted = seen.flatMap((s) => s.allow);
    expect(minted).toHaveLength(2);
    const secrets = [...Object.values(keys), ...minted];
    // The search can see a secret where one is: each minted token is in the answer that minted it.
    for (const s of seen.filter((x) => x.allow.length > 0)) for (const secret of s.allow) expect(s.text).toContain(secret);
    for (const s of seen) for (const secret of secrets.filter((x) => !s.allow.includes(x))) expect(s.text.includes(secret), `${s.label} shows ${secret.slice(0, 8)}…`).toBe(false);
    const output = { stdout: server.stdout(), stderr: server.stderr() };
    expect(output.stderr).toContain('usage_anomaly');
    for (const [name, text] of Object.entries(output)) for (const secret of secrets) expect(text.includes(secret), `${name} shows ${secret.slice(0, 8)}…`).toBe(false);
    for (const file of [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f))) {
      const bytes = readFileSync(file);
      for (const secret of secrets) expect(bytes.includes(secret), `${file} holds ${secret.slice(0, 8)}…`).toBe(false);
    }
    // The provider gets its own key, never a spend token.
    const upstream = mock.requests.map((r) => JSON.stringify(r.headers));
    expect(mock.requests.some((r) => r.authorization === `Bearer ${keys.openai}`)).toBe(true);
    expect(mock.requests.some((r) => r.apiKey === keys.anthropic)).toBe(true);
    for (const text of upstream) for (const secret of [keys.admin, keys.viewer, ...minted]) expect(text.includes(secret)).toBe(false);
  });
});

/** The admin event stream from the start, read until it has replayed a few entries. */
async function eventsText(url: string): Promise<string> {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/events`, { headers: { authorization: `Bearer ${keys.admin}`, 'last-event-id': '0' }, signal: controller.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = headerLines(res.headers);
  while ((text.match(/event: ledger/g) ?? []).length < 10) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return text;
}

function headerLines(headers: Headers): string {
  const lines: string[] = [];
  headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  return lines.join('\n');
}
