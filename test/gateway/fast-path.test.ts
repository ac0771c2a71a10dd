import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSpendToken, type Policy } from '../../src/core/index.js';
import { serverLimits, startServer, type RunningServer } from '../../src/server/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { OffsetClock } from '../support/offset-clock.js';
import { eventually, usd } from './harness.js';

/*
 * A plain JSON call to a provider route is served on node:http directly; anything else (here: a
 * query string) by the framework's route. Both must answer alike: each scenario runs once per
 * path, on budgets of its own, and the answers are compared.
 */

const origin = 'https://app.example.com';
const paths = ['direct', 'framework'] as const;
type Path = (typeof paths)[number];
const authFailuresMax = 4;

let server: RunningServer;
let clock: OffsetClock;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-fast-path-'));
  clock = new OffsetClock();
  const store = openSqliteStore({ path: join(dir, 'gw.db'), clock });
  server = await startServer({
    port: 0,
    store,
    mockUpstream: true,
    env: {},
    log: () => undefined,
    corsOrigins: [origin],
    authFailureLimit: { failuresMax: authFailuresMax },
    connections: { headersTimeoutMs: 400, requestTimeoutMs: 800, connectionsCheckingIntervalMs: 100 },
  });
});

afterAll(async () => {
  const report = await server.store.audit();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  expect(report.problems).toEqual([]);
});

function must<T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r as Extract<T, { ok: true }>;
}

/** A team `name` under acme with its policy and limit, an agent in it, and a token's secret on the agent. */
async function team(name: string, limitMicros: number | null, policy: Policy = {}, agentPolicy: Policy = {}): Promise<string> {
  const store = server.store;
  if (!(await store.getBudget('acme'))) must(await store.createBudget({ path: 'acme', kind: 'org' }));
  must(await store.createBudget({ path: `acme/${name}`, kind: 'team', limitMicros, policy }));
  must(await store.createBudget({ path: `acme/${name}/bot`, kind: 'agent', policy: { inflightMax: 100, burnLimits: [], loopLimit: 'off', ...agentPolicy } }));
  const t = newSpendToken((n) => randomBytes(n));
  must(await store.mintToken({ path: `acme/${name}/bot`, tokenId: t.id, hash: t.hash, limitMicros: null }));
  return t.secret;
}

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: unknown;
}

const shownHeaders = ['x-bursar-code', 'retry-after', 'x-bursar-downgraded-from', 'x-bursar-route', 'access-control-allow-origin', 'access-control-expose-headers', 'cache-control', 'content-type'];

/** Calls a provider route by the given path: the framework's is reached with a query string the direct path does not take. */
async function call(path: Path, o: { secret: string; route?: string; body: object; headers?: Record<string, string> }): Promise<Answer> {
  const route = o.route ?? '/v1/chat/completions';
  const auth: Record<string, string> = route === '/v1/messages' ? { 'x-api-key': o.secret, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${o.secret}` };
  const res = await fetch(`${server.url}${route}${path === 'framework' ? '?via=framework' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth, ...o.headers },
    body: JSON.stringify(o.body),
  });
  const text = await res.text();
  const headers = Object.fromEntries(shownHeaders.map((h) => [h, res.headers.get(h)]));
  headers['x-bursar-request-id'] = res.headers.get('x-bursar-request-id') === null ? null : 'present';
  return { status: res.status, headers, body: res.status === 200 ? 'answered' : (JSON.parse(text) as unknown) };
}

/** Each path's answers to `scenario`, with the path's own names and ids made alike. */
async function bothPaths(scenario: (path: Path) => Promise<Answer[]>): Promise<Record<Path, Answer[]>> {
  const out = {} as Record<Path, Answer[]>;
  for (const path of paths) {
    const answers = await scenario(path);
    out[path] = JSON.parse(JSON.stringify(answers).replaceAll(`-${path}`, '-PATH').replace(/(rsv|req)_[A-Za-z0-9_-]+/g, '$1_ID')) as Answer[];
  }
  return out;
}

const chat = (model: string, content = 'summarise the market') => ({ model, max_tokens: 50, messages: [{ role: 'user', content }] });

describe('the direct path and the framework answer provider calls alike', () => {
  it('for a loop: two admitted, then 429 loop_detected with Retry-After and the request id, and the refusal recorded', async () => {
    // Proves loop fingerprints, refusal headers and the refusals table on both paths.
    const answers = await bothPaths(async (path) => {
      const secret = await team(`loop-${path}`, null, {}, { loopLimit: { repeats: 2, windowMs: 600_000 } });
      const out: Answer[] = [];
      for (let i = 0; i < 3; i += 1) out.push(await call(path, { secret, body: chat('gpt-4o-mini', 'the same question') }));
      return out;
    });
    expect(answers.direct.map((a) => [a.status, a.headers['x-bursar-code']])).toEqual([[200, null], [200, null], [429, 'loop_detected']]);
    expect([answers.direct[2]?.headers['retry-after'], answers.direct[2]?.headers['x-bursar-request-id']]).toEqual(['60', 'present']);
    expect(answers.direct).toEqual(answers.framework);
    for (const path of paths) {
      const recorded = await eventually(async () => {
        const page = await server.store.refusals({ agent: `acme/loop-${path}/bot`, limit: 10 });
        return page.refusals.length > 0 ? page.refusals : undefined;
      });
      expect(recorded.map((r) => r.code)).toEqual(['loop_detected']);
    }
  });

  it('for tags, provider budgets, brownout and fallbacks: the same refusals and the same model forwarded', async () => {
    // Proves x-bursar-tags, provider budgets, x-bursar-downgraded-from and the fallback chain on both paths.
    const answers = await bothPaths(async (path) => {
      const name = `cross-${path}`;
      const secret = await team(name, usd(1), { brownout: [{ atPct: 50, from: 'gpt-4o', to: 'gpt-4o-mini' }], fallbacks: [{ from: 'gpt-4.1', to: ['gpt-4.1-mini'] }] });
      must(await server.store.createBudget({ path: `tags/team:${name}`, kind: 'tag', limitMicros: 1 }));
      must(await server.store.createBudget({ path: `acme/${name}/model:gpt-4.1`, kind: 'model', limitMicros: 1 }));
      const out = [await call(path, { secret, body: chat('gpt-4o'), headers: { 'x-bursar-tags': `team:${name}` } })];
      out.push(await call(path, { secret, body: chat('gpt-4.1') }));
      const held = must(await server.store.reserve({ path: `acme/${name}`, amountMicros: usd(0.6) }));
      out.push(await call(path, { secret, body: chat('gpt-4o') }));
      must(await server.store.void({ reservationId: held.reservation.id }));
      return out;
    });
    expect(answers.direct.map((a) => [a.status, a.headers['x-bursar-code'], a.headers['x-bursar-downgraded-from'], a.headers['x-bursar-route']])).toEqual([
      [402, 'budget_exceeded', null, null],
      [200, null, 'gpt-4.1', 'fallback'],
      [200, null, 'gpt-4o', 'brownout'],
    ]);
    expect(answers.direct).toEqual(answers.framework);
    must(await server.store.createBudget({ path: 'providers/anthropic', kind: 'provider', limitMicros: 1 }));
    const provider = await bothPaths(async (path) => [await call(path, { secret: await team(`provider-${path}`, null), route: '/v1/messages', body: chat('claude-sonnet-4-5') })]);
    expect(provider.direct.map((a) => [a.status, a.headers['x-bursar-code']])).toEqual([[402, 'budget_exceeded']]);
    expect(provider.direct).toEqual(provider.framework);
  });

  it('for CORS: the allowed origin gets its headers on answers and refusals', async () => {
    // Proves the edge's CORS check runs before the direct path's handler as before the framework's.
    const answers = await bothPaths(async (path) => {
      const secret = await team(`cors-${path}`, null);
      return [await call(path, { secret, body: chat('gpt-4o-mini'), headers: { origin } }), await call(path, { secret: 'bsr_nope', body: chat('gpt-4o-mini'), headers: { origin } })];
    });
    expect(answers.direct.map((a) => [a.status, a.headers['access-control-allow-origin']])).toEqual([
      [200, origin],
      [401, origin],
    ]);
    expect(answers.direct).toEqual(answers.framework);
  });

  it('for failed authentication: one count across both paths, then 429 too_many_auth_failures on each until the window ends', async () => {
    // Proves the limit per address holds on the direct path and is shared with the framework's routes.
    const secret = await team('auth', null);
    // A fresh window: the refusals of the CORS scenario counted too.
    clock.advance(serverLimits.authFailureWindowMs);
    for (let i = 0; i < authFailuresMax; i += 1) {
      const wrong = await call(paths[i % 2] as Path, { secret: `bsr_${'0'.repeat(28)}`, body: chat('gpt-4o-mini') });
      expect(wrong.status).toBe(401);
    }
    const blocked = await Promise.all(paths.map((path) => call(path, { secret, body: chat('gpt-4o-mini') })));
    expect(blocked.map((a) => [a.status, a.headers['x-bursar-code']])).toEqual([
      [429, 'too_many_auth_failures'],
      [429, 'too_many_auth_failures'],
    ]);
    expect(blocked[0]).toEqual(blocked[1]);
    clock.advance(serverLimits.authFailureWindowMs);
    expect((await Promise.all(paths.map((path) => call(path, { secret, body: chat('gpt-4o-mini') })))).map((a) => a.status)).toEqual([200, 200]);
  });

  it('for a body that stops arriving: 408 request_timeout once the request timeout has passed', async () => {
    // Proves the direct path's server has the configured request timeout (not Node's five minutes).
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      socket.write('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"model":');
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer).toContain('request_timeout');
  });
});
