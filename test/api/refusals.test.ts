import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSpendToken } from '../../src/core/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { openSqliteStore, type Store } from '../../src/store/index.js';
import { runInProcess } from '../cli/cli-harness.js';
import { OffsetClock } from '../support/offset-clock.js';

/**
 * Refused spend, end to end on one server: what the gateway, the agent routes and tool
 * reservations refuse is listed by GET /api/refusals and `bursar refusals list`, sent on
 * /api/events and logged, and never touches the ledger.
 */

const adminKey = 'refusals-admin-key-0123456789';

interface RefusalJson {
  id: number;
  code: string;
  status: number;
  budget: string | null;
  agent: string | null;
  token_id_prefix: string | null;
  model: string | null;
  tool: string | null;
  amount_micros: number | null;
  message: string;
  request_id: string | null;
  route: string | null;
  count: number;
  first_at: string;
  last_at: string;
}

let dir: string;
let db: string;
let clock: OffsetClock;
let store: Store;
let server: RunningServer;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-refusals-'));
  db = join(dir, 'bursar.db');
  clock = new OffsetClock();
  // A short busy timeout: the store-down test holds the write lock from another connection.
  store = openSqliteStore({ path: db, clock, busyTimeoutMs: 50 });
  server = await startServer({ port: 0, store, mockUpstream: true, env: {}, adminKeys: { admin: [adminKey], viewer: [] }, log: (event) => logs.push(event), dashboard: false });
  for (const [path, kind] of [['acme', 'org'], ['acme/research', 'team'], ['acme/research/bot', 'agent'], ['acme/research/writer', 'agent']] as const) {
    const made = await store.createBudget({ path, kind, limitMicros: 10_000_000, policy: kind === 'agent' ? { inflightMax: 100, burnLimits: [] } : undefined });
    if (!made.ok) throw new Error(made.message);
  }
});

afterAll(async () => {
  const audit = await store.audit();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  expect(audit.problems).toEqual([]);
});

async function mint(path: string, o: { limitMicros?: number; models?: string[]; delegate?: boolean } = {}): Promise<{ id: string; secret: string; envelope: string }> {
  const t = newSpendToken((n) => randomBytes(n));
  const made = await store.mintToken({ path, tokenId: t.id, hash: t.hash, limitMicros: o.limitMicros ?? 5_000_000, models: o.models, scopes: o.delegate ? ['delegate'] : [] });
  if (!made.ok) throw new Error(made.message);
  return { id: t.id, secret: t.secret, envelope: made.envelope.path };
}

async function api<T>(method: string, path: string, body?: unknown, auth = `Bearer ${adminKey}`): Promise<{ status: number; json: T; headers: Headers }> {
  const res = await fetch(server.url + path, { method, headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as T, headers: res.headers };
}

async function refusals(query: string): Promise<RefusalJson[]> {
  const answer = await api<{ refusals: RefusalJson[] }>('GET', `/api/refusals${query}`);
  expect(answer.status).toBe(200);
  return answer.json.refusals;
}

function chat(secret: string, body: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
}

describe('refused calls through the gateway', () => {
  it('records who was refused what, where and why, and leaves the ledger and balances as they were', async () => {
    // Proves a 402 from the gateway becomes a refusal row with every field, and no ledger entry or balance change.
    const token = await mint('acme/research/bot', { limitMicros: 1_000 });
    const before = { entries: (await store.ledger({ limit: 1_000 })).entries.length, bot: await store.getBudget('acme/research/bot') };
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: token.secret, maxRetries: 0 });
    const error = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const refused = error as InstanceType<typeof OpenAI.APIError>;
    expect([refused.status, refused.code]).toEqual([402, 'budget_exceeded']);
    const [row, ...rest] = await refusals('?agent=bot');
    expect(rest).toEqual([]);
    expect(row).toMatchObject({ code: 'budget_exceeded', status: 402, budget: token.envelope, agent: 'acme/research/bot', token_id_prefix: token.id.slice(0, 12), model: 'gpt-4o-mini', tool: null, route: '/v1/chat/completions', count: 1 });
    expect(row?.request_id).toBe(refused.headers?.get('x-bursar-request-id'));
    expect(row?.amount_micros).toBeGreaterThan(1_000);
    expect(row?.message).toContain('max_tokens');
    expect((await store.ledger({ limit: 1_000 })).entries).toHaveLength(before.entries);
    expect(await store.getBudget('acme/research/bot')).toEqual(before.bot);
    expect(JSON.stringify(logs)).not.toContain(token.secret);
    expect(logs.filter((l) => l.event === 'refused' && l.code === 'budget_exceeded').map((l) => l.count)).toEqual([1]);
  });

  it('makes a flood one row with a count, and starts a new row once the run is a minute old', async () => {
    // Proves coalescing at the door: twenty refusals of one token are one row; after the run window, a new row.
    const token = await mint('acme/research/writer', { limitMicros: 1_000 });
    for (let i = 0; i < 20; i += 1) expect((await chat(token.secret)).status).toBe(402);
    await server.refusals.flush();
    const logged = logs.filter((l) => l.event === 'refused' && l.agent === 'acme/research/writer');
    expect(logged.reduce((n, l) => n + Number(l.count), 0)).toBe(20);
    expect(logged.length).toBeLessThan(20);
    expect((await refusals('?agent=acme/research/writer')).map((r) => r.count)).toEqual([20]);
    clock.advance(61_000);
    const since = new Date(clock.now()).toISOString();
    expect((await chat(token.secret)).status).toBe(402);
    expect((await refusals('?agent=writer')).map((r) => r.count)).toEqual([20, 1]);
    expect((await refusals(`?agent=writer&since=${since}`)).map((r) => r.count)).toEqual([1]);
  });

  it('records a model a token may not use, by code, and refuses an agent filter that names no agent', async () => {
    // Proves 403s are recorded and the code and budget filters, and that the agent filter is checked.
    const token = await mint('acme/research/bot', { models: ['claude-haiku-4-5'] });
    expect((await chat(token.secret, { max_tokens: 10 })).status).toBe(403);
    const rows = await refusals('?code=model_not_allowed&budget=acme/research');
    expect(rows).toMatchObject([{ code: 'model_not_allowed', status: 403, agent: 'acme/research/bot', model: 'gpt-4o-mini' }]);
    const unknown = await api<{ error: { code: string; field: string } }>('GET', '/api/refusals?agent=nobody');
    expect([unknown.status, unknown.json.error.code, unknown.json.error.field]).toEqual([404, 'unknown_budget', 'agent']);
  });
});

describe('refused tool spend and delegation', () => {
  it('records refusals of the agent routes and of admin reservations, with the tool and the amount asked for', async () => {
    // Proves every spending door records: a tool reservation over budget, a delegation without the scope, a reservation on a paused budget.
    const token = await mint('acme/research/writer', { limitMicros: 5_000 });
    const auth = `Bearer ${token.secret}`;
    expect((await api('POST', '/v1/bursar/reservations', { tool: 'WebFetch', estimate_micros: 9_000 }, auth)).status).toBe(402);
    expect((await api('POST', '/v1/bursar/tokens', { max_spend_micros: 1_000 }, auth)).status).toBe(403);
    await store.setStatus({ path: 'acme/research/bot', status: 'paused' });
    expect((await api('POST', '/api/reservations', { budget: 'acme/research/bot', amount_micros: 2_000, labels: { tool: 'Search' } })).status).toBe(403);
    await store.setStatus({ path: 'acme/research/bot', status: 'active' });
    const [tool, delegation, ...rest] = await refusals(`?agent=writer&budget=${token.envelope}`);
    expect(rest).toEqual([]);
    expect(tool).toMatchObject({ code: 'budget_exceeded', tool: 'WebFetch', amount_micros: 9_000, route: '/v1/bursar/reservations', token_id_prefix: token.id.slice(0, 12) });
    expect(delegation).toMatchObject({ code: 'forbidden', status: 403, amount_micros: 1_000, route: '/v1/bursar/tokens' });
    expect(await refusals('?code=budget_paused')).toMatchObject([{ budget: 'acme/research/bot', agent: 'acme/research/bot', tool: 'Search', amount_micros: 2_000, route: '/api/reservations', token_id_prefix: null }]);
  });
});

describe('refusals on the event stream', () => {
  it('sends a refusal as `event: refusal` to open streams', async () => {
    // Proves the live feed: a refused call reaches /api/events as a refusal event with its row.
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/events`, { headers: { authorization: `Bearer ${adminKey}` }, signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    // The stream's first bytes say it is open; only then is the refusal made.
    while (!text.includes('retry:')) text += decoder.decode((await reader.read()).value, { stream: true });
    const token = await mint('acme/research/bot', { models: ['gpt-4o'] });
    expect((await chat(token.secret, { max_tokens: 5 })).status).toBe(403);
    // Written now rather than at the next tick of the once-a-second flush.
    await server.refusals.flush();
    const block = /event: refusal\ndata: (.*)\n\n/;
    while (!block.test(text)) text += decoder.decode((await reader.read()).value, { stream: true });
    controller.abort();
    const event = JSON.parse(block.exec(text)?.[1] ?? '{}') as RefusalJson;
    expect(event).toMatchObject({ code: 'model_not_allowed', token_id_prefix: token.id.slice(0, 12), count: 1 });
    expect(event.id).toBeGreaterThan(0);
  });
});

describe('bursar refusals list', () => {
  it('lists refusals from a server and from the database alike, with its filters', async () => {
    // Proves the CLI: --agent by bare name, --code, --since, --json, the same against --url and --db, and a mistyped agent answered with a suggestion.
    const env = { BURSAR_ADMIN_KEY: adminKey };
    const human = await runInProcess(['--url', server.url, 'refusals', 'list', '--agent', 'bot'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^LAST\s+COUNT\s+CODE\s+AGENT\s+REFUSED BY/);
    expect(human.stdout).toContain('budget_exceeded');
    await server.refusals.flush();
    const args = ['--json', 'refusals', 'list', '--agent', 'writer', '--code', 'budget_exceeded', '--since', '1h'];
    const remote = await runInProcess(['--url', server.url, ...args], env);
    const local = await runInProcess(['--db', db, ...args]);
    expect(remote.stdout).toBe(local.stdout);
    const listed = JSON.parse(remote.stdout) as { refusals: RefusalJson[] };
    // The flood (20, then 1 after its run ended) and the refused tool reservation.
    expect(listed.refusals.map((r) => [r.code, r.route, r.count])).toEqual([
      ['budget_exceeded', '/v1/chat/completions', 20],
      ['budget_exceeded', '/v1/chat/completions', 1],
      ['budget_exceeded', '/v1/bursar/reservations', 1],
    ]);
    const typo = await runInProcess(['--db', db, 'refusals', 'list', '--agent', 'writr']);
    expect([typo.code, typo.stderr]).toEqual([1, 'bursar: unknown_budget: no agent at writr; did you mean writer?\n']);
  });
});

describe('a store that cannot be written', () => {
  it('answers 503 store_unavailable and records the refusal once the store is back', async () => {
    // Proves 503s are recorded later: the refusal waits in the server while the database is locked, then lands in the table.
    const token = await mint('acme/research/bot', {});
    const locker = new Database(db);
    locker.exec('BEGIN IMMEDIATE');
    try {
      const res = await chat(token.secret, { max_tokens: 5 });
      expect([res.status, res.headers.get('x-bursar-code')]).toEqual([503, 'store_unavailable']);
      await server.refusals.flush();
      expect(logs.some((l) => l.event === 'refused' && l.code === 'store_unavailable' && l.recorded === false)).toBe(true);
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    expect(await refusals('?code=store_unavailable')).toMatchObject([{ status: 503, count: 1 }]);
  });
});
