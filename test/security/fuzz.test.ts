import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireCodes } from '../../src/contract/index.js';
import { newSpendToken } from '../../src/core/index.js';
import { adapters } from '../../src/gateway/providers/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { openSqliteStore, type Store } from '../../src/store/index.js';
import { asText, oddValue, valueOf, type JsonSchema, type SchemaContext } from '../support/schema-arbitrary.js';

/*
 * Every route, admin, agent and provider, fuzzed with fast-check over its path parameters, query,
 * headers, credentials and body. The admin and agent routes are taken from the server's own
 * OpenAPI documents, the provider routes from the gateway's adapters. Whatever arrives: no 5xx
 * but a 502/504 for a call that was forwarded or a 503 with its code, no crash, nothing reserved
 * by a refusal, and every error carries a code of the code table.
 */

// BURSAR_FUZZ_RUNS runs each route longer (a deeper search than CI's).
const runsPerRoute = Number(process.env.BURSAR_FUZZ_RUNS ?? 20);
const adminKey = 'fuzz-admin-key-0123456789abcdef';
const viewerKey = 'fuzz-viewer-key-0123456789abcdef';

interface Operation {
  method: string;
  path: string;
  /** Who may call it: an admin/viewer key, a spend token, or anyone. */
  access: 'key' | 'token' | 'public';
  params: { name: string; in: 'path' | 'query' | 'header'; schema: JsonSchema }[];
  body: JsonSchema | undefined;
  stream: boolean;
  proxy: boolean;
}

interface Fixture {
  budgets: string[];
  tokenSecrets: string[];
  tokenIds: string[];
  reservationIds: string[];
}

let dir: string;
let store: Store;
let server: RunningServer;
let fixture: Fixture;
const known = () => [...fixture.budgets, ...fixture.tokenIds, ...fixture.reservationIds, 'gpt-4o-mini', 'claude-haiku-4-5', 'text-embedding-3-small', 'fz-session'];
const components: Record<string, JsonSchema> = {};
/** Half the requests are shaped to reach the handler; the other half are wild at every level. */
const tame: SchemaContext = { components, known, wild: false };
const wild: SchemaContext = { components, known, wild: true };
let operations: Operation[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-fuzz-'));
  store = openSqliteStore({ path: join(dir, 'fuzz.db') });
  // The failed-authentication limit is tested on its own; here every guess must reach its route.
  server = await startServer({ port: 0, store, mockUpstream: true, env: {}, adminKeys: { admin: [adminKey], viewer: [viewerKey] }, dashboard: false, authFailureLimit: { failuresMax: Number.MAX_SAFE_INTEGER } });
  operations = [...(await documented('/api/openapi.json')), ...(await documented('/v1/bursar/openapi.json')), ...proxyOperations()];
});
afterAll(async () => {
  const audit = await store.audit();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  expect(audit.problems).toEqual([]);
});

/** The operations an OpenAPI document served by the server lists, with their parameters and body schemas. */
async function documented(url: string): Promise<Operation[]> {
  const doc = (await (await server.app()).inject({ url })).json<{ paths: Record<string, Record<string, Record<string, unknown>>>; components?: { schemas?: Record<string, JsonSchema> } }>();
  Object.assign(components, doc.components?.schemas ?? {});
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): Operation => {
      const security = JSON.stringify(op.security ?? []);
      const body = (op.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined)?.content?.['application/json']?.schema;
      const responses = JSON.stringify(op.responses ?? {});
      return {
        method: method.toUpperCase(),
        path,
        access: security.includes('spendToken') ? 'token' : security.includes('adminKey') ? 'key' : 'public',
        params: (op.parameters ?? []) as Operation['params'],
        body,
        stream: responses.includes('text/event-stream'),
        proxy: false,
      };
    }),
  );
}

/** What the provider routes take: every field any of them reads, shaped as the providers document them. */
const llmBody: JsonSchema = {
  type: 'object',
  properties: {
    model: { type: 'string' },
    messages: { type: 'array', items: { type: 'object', properties: { role: { enum: ['user', 'assistant', 'system', 'tool', 'developer'] }, content: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'object', properties: { type: { enum: ['text', 'image_url', 'input_text', 'image'] }, text: { type: 'string' } } } }] } } } },
    input: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    max_tokens: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    max_completion_tokens: { type: 'integer', minimum: 1 },
    max_output_tokens: { type: 'integer', minimum: 1 },
    n: { type: 'integer', minimum: 1, maximum: 128 },
    stream: { type: 'boolean' },
    stream_options: { type: 'object', properties: { include_usage: { type: 'boolean' } } },
    system: { type: 'string' },
    tools: { type: 'array', items: { type: 'object' } },
  },
};

function proxyOperations(): Operation[] {
  const labels: Operation['params'] = [
    { name: 'x-bursar-session', in: 'header', schema: { type: 'string' } },
    { name: 'x-bursar-task', in: 'header', schema: { type: 'string' } },
    { name: 'anthropic-version', in: 'header', schema: { type: 'string' } },
  ];
  const posts = adapters.map((a): Operation => ({ method: 'POST', path: a.route, access: 'token', params: labels, body: llmBody, stream: false, proxy: true }));
  return [...posts, { method: 'GET', path: '/v1/models', access: 'token', params: labels, body: undefined, stream: false, proxy: true }];
}

/** Fresh budgets, tokens and an open reservation for each route, so earlier routes' changes (a close, a revoke) leave later ones something to reach. */
async function freshFixture(n: number): Promise<Fixture> {
  const must = <T extends { ok: boolean }>(r: T): T => {
    if (!r.ok) throw new Error(JSON.stringify(r));
    return r;
  };
  const org = `fz${n}`;
  must(await store.createBudget({ path: org, kind: 'org', limitMicros: 1_000_000_000 }));
  must(await store.createBudget({ path: `${org}/bot`, kind: 'agent', limitMicros: 100_000_000, policy: { inflightMax: 1_000, burnLimits: [] } }));
  const tokens = [newSpendToken((k) => randomBytes(k)), newSpendToken((k) => randomBytes(k))];
  for (const [i, t] of tokens.entries()) must(await store.mintToken({ path: `${org}/bot`, tokenId: t.id, hash: t.hash, limitMicros: 10_000_000, scopes: i === 0 ? ['delegate'] : [] }));
  const held = await store.reserve({ path: `${org}/bot`, amountMicros: 1_000 });
  if (!held.ok) throw new Error(held.message);
  return { budgets: [org, `${org}/bot`], tokenSecrets: tokens.map((t) => t.secret), tokenIds: tokens.map((t) => t.id), reservationIds: [held.reservation.id] };
}

/** Printable ASCII only: what can travel in a header or a URL without being refused by the HTTP layer itself. */
const printable = (value: unknown) => asText(value).replace(/[^\x20-\x7e]/g, '?').slice(0, 2_000);

function credentialArb(op: Operation, ctx: SchemaContext): fc.Arbitrary<Record<string, string>> {
  const token = () => fixture.tokenSecrets[0] ?? '';
  const secrets = ctx.wild ? fc.constantFrom('valid', 'viewer', 'token', 'admin', 'junk', 'none') : fc.constant('valid');
  return fc.tuple(secrets, fc.boolean(), fc.string({ maxLength: 12 })).map(([which, xApiKey, junk]): Record<string, string> => {
    const secret = { valid: op.access === 'token' ? token() : adminKey, viewer: viewerKey, token: token(), admin: adminKey, junk: printable(junk), none: '' }[which];
    if (secret === '') return {};
    return op.access === 'token' && xApiKey ? { 'x-api-key': secret } : { authorization: `Bearer ${secret}` };
  });
}

const contentTypes = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '');

function bodyArb(op: Operation, ctx: SchemaContext): fc.Arbitrary<string | undefined> {
  const shaped = op.body ? valueOf(op.body, ctx).map((v) => JSON.stringify(v) ?? '') : fc.constant(undefined);
  if (!ctx.wild) return shaped;
  const deep = fc.integer({ min: 100, max: 5_000 }).map((d) => `{"model":"gpt-4o-mini","messages":${'['.repeat(d)}${']'.repeat(d)}}`);
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 1, arbitrary: oddValue.map((v) => JSON.stringify(v) ?? '') }, { weight: 1, arbitrary: fc.string({ maxLength: 64 }) }, { weight: 1, arbitrary: deep });
}

interface Fuzzed {
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function requestArb(op: Operation, ctx: SchemaContext): fc.Arbitrary<Fuzzed> {
  const params = fc.tuple(...op.params.map((p) => fc.option(valueOf(p.schema, ctx), { nil: undefined, freq: 3 })));
  const rawSegment = fc.string({ maxLength: 16 }).map(printable);
  const raw = ctx.wild ? fc.boolean() : fc.constant(false);
  const contentType = ctx.wild ? contentTypes : fc.constant('application/json');
  return fc.record({ params, credential: credentialArb(op, ctx), contentType, body: bodyArb(op, ctx), raw, junk: rawSegment }).map(({ params: values, credential, contentType: type, body, raw: unencoded, junk }) => {
    let path = op.path;
    const query = new URLSearchParams();
    const headers: Record<string, string> = { ...credential };
    op.params.forEach((p, i) => {
      const value = values[i];
      if (p.in === 'path') path = path.replace(`{${p.name}}`, unencoded ? printable(value ?? junk).replace(/[?#\s]/g, '_') || 'x' : encodeURIComponent(asText(value ?? junk)) || 'x');
      else if (value !== undefined && p.in === 'query') query.set(p.name, asText(value));
      else if (value !== undefined) headers[p.name] = printable(value);
    });
    if (body !== undefined && type !== '') headers['content-type'] = type;
    const qs = query.toString();
    return { url: `${path}${qs === '' ? '' : `?${qs}`}${unencoded && qs === '' ? `?${encodeURI(junk)}` : ''}`, headers, body: op.method === 'GET' ? undefined : body };
  });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** An event stream is opened on the real listener and closed once its head is in; everything else is injected. */
async function send(op: Operation, req: Fuzzed): Promise<Answer> {
  if (!op.stream) {
    const res = await (await server.app()).inject({ method: op.method as 'GET', url: req.url, headers: req.headers, payload: req.body });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }
  const controller = new AbortController();
  const res = await fetch(`${server.url}${req.url}`, { method: op.method, headers: req.headers, body: req.body, signal: controller.signal });
  const headers: Answer['headers'] = {};
  res.headers.forEach((value, name) => (headers[name] = value));
  const body = res.status === 200 ? '' : await res.text();
  controller.abort();
  return { status: res.status, headers, body };
}

const allowed503 = new Set(['store_unavailable', 'too_many_streams', 'shutting_down']);

/** The code an error answer carries, in whichever shape its door speaks. */
function codeOf(answer: Answer): string | undefined {
  try {
    const body = JSON.parse(answer.body) as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}

async function newestReserveSeq(): Promise<number> {
  return (await store.ledger({ kinds: ['reserve'], order: 'desc', limit: 1 })).entries[0]?.seq ?? 0;
}

async function check(op: Operation, req: Fuzzed): Promise<void> {
  const before = await newestReserveSeq();
  const answer = await send(op, req);
  const where = `${op.method} ${req.url} → ${answer.status} ${answer.body.slice(0, 300)}`;
  const forwarded = op.proxy && answer.headers['x-bursar-reservation'] !== undefined;
  // A provider's own error, relayed with its reservation voided, is the provider's to word.
  const relayed = forwarded && answer.headers['x-bursar-cost-micros'] === '0';
  if (answer.status >= 500) {
    const code = String(answer.headers['x-bursar-code'] ?? '');
    const reason = (answer.status === 502 || answer.status === 504) && forwarded ? 'forwarded' : answer.status === 503 && allowed503.has(code) ? 'unavailable' : undefined;
    expect(reason, where).toBeDefined();
  }
  if (answer.status >= 400 && !relayed) {
    const code = codeOf(answer);
    expect(code !== undefined && (wireCodes as string[]).includes(code), where).toBe(true);
    expect(answer.headers['x-bursar-code'], where).toBe(code);
  }
  if (answer.status >= 400 && !forwarded) expect(await newestReserveSeq(), `${where}: a refusal reserved`).toBe(before);
}

describe('fuzzing every route', () => {
  it('finds every operation of both OpenAPI documents and every provider route', () => {
    // Proves the fuzzer covers the registry, not a hand-kept list: a new route is fuzzed without touching this file.
    expect(operations.filter((o) => o.path.startsWith('/api/')).length).toBeGreaterThan(25);
    expect(operations.filter((o) => o.path.startsWith('/v1/bursar/')).length).toBeGreaterThanOrEqual(7);
    expect(operations.filter((o) => o.proxy).map((o) => o.path)).toEqual([...adapters.map((a) => a.route), '/v1/models']);
  });

  it('answers whatever arrives at any route with a coded refusal or an answer, never a 500, and reserves nothing on a refusal', { timeout: 120_000 }, async () => {
    // Proves the edge validates everything: bodies, queries, headers, credentials and path parameters of every route.
    for (const [n, op] of operations.entries()) {
      fixture = await freshFixture(n);
      await fc.assert(fc.asyncProperty(fc.oneof(requestArb(op, tame), requestArb(op, wild)), (req) => check(op, req)), { numRuns: runsPerRoute });
    }
    expect((await (await server.app()).inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
