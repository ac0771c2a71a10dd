import { Validator } from '@seriousme/openapi-schema-validator';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { agentApiSpecs } from '../../src/api/index.js';
import { DelegatedJson, SettleJson, ToolPricesJson, ToolReservedJson, VoidJson } from '../../src/contract/index.js';
import { agentCall, mintToken, type ErrorJson } from './agent-harness.js';
import { type Harness, useHarness } from './harness.js';

let h: Harness;
const call = <T = ErrorJson>(method: string, path: string, o: Parameters<typeof agentCall>[3]) => agentCall<T>(h.server.url, method, path, o);

useHarness((started) => (h = started));

/** Expects an OpenAI-shaped refusal with this status, code and (when given) param. */
function refused(got: { status: number; json: unknown }, status: number, code: string, param?: string | null): void {
  const answer = got as { status: number; json: ErrorJson };
  expect({ status: answer.status, code: answer.json.error.code, ...(param === undefined ? {} : { param: answer.json.error.param }) }).toEqual({ status, code, ...(param === undefined ? {} : { param }) });
  expect(typeof answer.json.error.message).toBe('string');
  expect(typeof answer.json.error.type).toBe('string');
}

describe('delegation: POST /v1/bursar/tokens', () => {
  it('mints a narrower child whose spend counts on its envelope, the parent\'s and every budget above', async () => {
    // Proves delegation by an agent: a delegate token hands out part of its budget; the child's call is checked and charged on the whole chain.
    const parent = await mintToken(h.server.store, { limitMicros: 2_000_000, scopes: ['delegate'], models: ['gpt-4o-mini', 'gpt-4o'] });
    const answer = await call<unknown>('POST', '/v1/bursar/tokens', { token: parent.secret, body: { max_spend_micros: 500_000, models: ['gpt-4o-mini'], expires_in_ms: 600_000, inflight_max: 2, labels: { task: 'sub-research' } }, headers: { 'x-bursar-session': 'deleg-1' } });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const child = DelegatedJson.parse(answer.json);
    expect(child).toMatchObject({ parent_token_id: parent.id, budget: `${parent.envelope}/${child.id}`, max_spend_micros: 500_000, scopes: [], delegate: false, policy: { models: ['gpt-4o-mini'], inflight_max: 2 }, labels: { task: 'sub-research', session: 'deleg-1' } });
    expect(child.token).toMatch(/^bsr_/);

    const before = await Promise.all([parent.envelope, 'acme/research/bot', 'acme'].map((p) => h.server.store.getBudget(p)));
    const openai = new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: child.token, maxRetries: 0 });
    const { response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    const cost = Number(response.headers.get('x-bursar-cost-micros'));
    expect(cost).toBeGreaterThan(0);
    const after = await Promise.all([child.budget, parent.envelope, 'acme/research/bot', 'acme'].map((p) => h.server.store.getBudget(p)));
    expect(after[0]?.spentMicros).toBe(cost);
    for (const [i, b] of after.slice(1).entries()) expect(b?.spentMicros, b?.path).toBe((before[i]?.spentMicros ?? 0) + cost);
    const wide = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(wide).toMatchObject({ status: 403, code: 'model_not_allowed' });
    const minted = (await h.entries(['token_minted'])).at(-1);
    expect(minted?.actor).toBe(`token:${parent.id}`);
  });

  it('refuses input it cannot read with 400 bad_request naming the field', async () => {
    // Proves validation at the edge: every bad field is named in error.param, in OpenAI's error shape.
    const parent = await mintToken(h.server.store, { scopes: ['delegate'] });
    const cases: [unknown, string | null][] = [
      [{}, 'max_spend_micros'],
      [{ max_spend_micros: 1.5 }, 'max_spend_micros'],
      [{ max_spend_micros: 0 }, 'max_spend_micros'],
      [{ max_spend_micros: 1, surprise: true }, 'surprise'],
      [{ max_spend_micros: 1, expires_in_ms: 0 }, 'expires_in_ms'],
      [{ max_spend_micros: 1, expires_in_ms: 60_000, expires_at: '2030-01-01T00:00:00Z' }, 'expires_in_ms'],
      [{ max_spend_micros: 1, expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
      [{ max_spend_micros: 1, models: ['not a model!'] }, 'models.0'],
      [{ max_spend_micros: 1, delegate: 'yes' }, 'delegate'],
      [{ max_spend_micros: 1, labels: { session: '' } }, 'labels.session'],
    ];
    for (const [body, param] of cases) refused(await call('POST', '/v1/bursar/tokens', { token: parent.secret, body }), 400, 'bad_request', param);
    refused(await call('POST', '/v1/bursar/tokens', { token: parent.secret, raw: '{"max_spend_micros":', headers: { 'content-type': 'application/json' } }), 400, 'bad_request', null);
    const long = await call('POST', '/v1/bursar/tokens', { token: parent.secret, body: { max_spend_micros: 1 }, headers: { 'x-bursar-task': 'x'.repeat(300) } });
    refused(long, 400, 'bad_request', 'x-bursar-task');
    const text = await call('POST', '/v1/bursar/tokens', { token: parent.secret, raw: 'max_spend_micros=1', headers: { 'content-type': 'text/plain' } });
    refused(text, 415, 'unsupported_media_type');
  });

  it('refuses the wrong credentials: none, not a spend token, revoked, expired, or without the delegate scope', async () => {
    // Proves who may delegate: only a live token minted with --delegate.
    const body = { max_spend_micros: 1_000 };
    refused(await call('POST', '/v1/bursar/tokens', { token: null, body }), 401, 'token_invalid');
    refused(await call('POST', '/v1/bursar/tokens', { token: 'test-admin-key-0123456789', body }), 401, 'token_invalid');
    refused(await call('POST', '/v1/bursar/tokens', { token: 'bsr_ABCDEFGHIJKLMNOPQRSTUVWX', body }), 401, 'token_invalid');
    const revoked = await mintToken(h.server.store, { scopes: ['delegate'] });
    await h.server.store.revokeToken({ tokenId: revoked.id });
    refused(await call('POST', '/v1/bursar/tokens', { token: revoked.secret, body }), 401, 'token_revoked');
    // A token must expire after it is minted: mint it live, then move the clock past its expiry.
    const expired = await mintToken(h.server.store, { scopes: ['delegate'], expiresMs: h.server.store.now() + 100 });
    h.clock.advance(120);
    refused(await call('POST', '/v1/bursar/tokens', { token: expired.secret, body }), 401, 'token_expired');
    const plain = await mintToken(h.server.store);
    const forbidden = await call('POST', '/v1/bursar/tokens', { token: plain.secret, body });
    refused(forbidden, 403, 'forbidden');
    expect(forbidden.json.error.message).toContain('delegate scope');
  });

  it('lets a child only narrow: max spend, models, expiry, caps and the delegate scope', async () => {
    // Proves "never widen": each wider field is refused with policy_widens (403) naming that field, and the refusing budget when money is the reason.
    const expiresMs = h.server.store.now() + 600_000;
    const parent = await mintToken(h.server.store, { limitMicros: 300_000, scopes: ['delegate'], models: ['gpt-4o-mini'], inflightMax: 3, requestCapMicros: 50_000, expiresMs });
    const wide = (body: Record<string, unknown>) => call('POST', '/v1/bursar/tokens', { token: parent.secret, body: { max_spend_micros: 100_000, ...body } });
    const money = await wide({ max_spend_micros: 300_001 });
    refused(money, 403, 'policy_widens', 'max_spend_micros');
    expect([money.json.error.budget, money.json.error.remaining_micros]).toEqual([parent.envelope, 300_000]);
    refused(await wide({ models: ['gpt-4o'] }), 403, 'policy_widens', 'models');
    refused(await wide({ expires_in_ms: 3_600_000 }), 403, 'policy_widens', 'expires_in_ms');
    refused(await wide({ expires_at: new Date(expiresMs + 1_000).toISOString() }), 403, 'policy_widens', 'expires_at');
    refused(await wide({ inflight_max: 4 }), 403, 'policy_widens', 'inflight_max');
    refused(await wide({ request_cap_micros: 50_001 }), 403, 'policy_widens', 'request_cap_micros');
    const narrow = await call<{ id: string; token: string; expires_at: string }>('POST', '/v1/bursar/tokens', { token: parent.secret, body: { max_spend_micros: 300_000, models: ['gpt-4o-mini'], inflight_max: 3, request_cap_micros: 50_000 } });
    expect(narrow.status).toBe(201);
    expect(Date.parse(narrow.json.expires_at)).toBe(expiresMs);
    // A child minted without delegate cannot mint in turn.
    refused(await call('POST', '/v1/bursar/tokens', { token: narrow.json.token, body: { max_spend_micros: 1 } }), 403, 'forbidden');
    // A token without a limit of its own is still bounded by what its agent has left.
    const open = await mintToken(h.server.store, { limitMicros: null, scopes: ['delegate'] });
    const agent = await h.server.store.getBudget('acme/research/bot');
    const beyond = await call('POST', '/v1/bursar/tokens', { token: open.secret, body: { max_spend_micros: (agent?.remainingMicros ?? 0) + 1 } });
    refused(beyond, 403, 'policy_widens', 'max_spend_micros');
    expect(beyond.json.error.budget).toBe('acme/research/bot');
  });

  it('revokes its own descendants, never an ancestor or a sibling', async () => {
    // Proves POST /v1/bursar/tokens/{id}/revoke reaches down the chain only; anything else is indistinguishable from an unknown id.
    const root = await mintToken(h.server.store, { scopes: ['delegate'] });
    const child = (secret: string) => call<{ id: string; token: string }>('POST', '/v1/bursar/tokens', { token: secret, body: { max_spend_micros: 10_000, delegate: true } }).then((a) => a.json);
    const c1 = await child(root.secret);
    const c2 = await child(root.secret);
    const g = await child(c1.token);
    const revoke = (secret: string, id: string) => call<{ revoked: string[] }>('POST', `/v1/bursar/tokens/${id}/revoke`, { token: secret });
    refused(await revoke(c1.token, root.id), 404, 'unknown_token', 'id');
    refused(await revoke(c1.token, c2.id), 404, 'unknown_token', 'id');
    refused(await revoke(c1.token, 'tok_AAAAAAAAAAAA'), 404, 'unknown_token', 'id');
    refused(await revoke(c1.token, 'nope'), 400, 'bad_request', 'id');
    const byChild = await revoke(c1.token, g.id);
    expect([byChild.status, byChild.json.revoked]).toEqual([200, [g.id]]);
    refused(await call('GET', '/v1/bursar/balance', { token: g.token }), 401, 'token_revoked');
    const byRoot = await revoke(root.secret, c1.id);
    expect(byRoot.json.revoked).toEqual([c1.id]);
    expect((await call('GET', '/v1/bursar/balance', { token: c2.token })).status).toBe(200);
    const revokedEntry = (await h.entries(['token_revoked'])).at(-1);
    expect(revokedEntry?.actor).toBe(`token:${root.id}`);
  });
});

describe('tool spend: /v1/bursar/reservations', () => {
  it('reserves from the tool price table, settles and voids, recording tool, session and task', async () => {
    // Proves the tool-spend flow with a spend token: table estimates (listed, unknown +20%, given), labels, settlement and release.
    const t = await mintToken(h.server.store, { limitMicros: 1_000_000 });
    const headers = { 'x-bursar-session': 'tools-1', 'x-bursar-task': 'crawl' };
    const reserve = (body: unknown, extra: Record<string, string> = {}) => call<unknown>('POST', '/v1/bursar/reservations', { token: t.secret, body, headers: { ...headers, ...extra } });
    const fetchOne = ToolReservedJson.parse((await reserve({ tool: 'WebFetch', params: { url: 'https://example.com' } })).json);
    expect(fetchOne).toMatchObject({ estimate_basis: 'table', tightest: t.envelope, remaining_micros: 990_000, reservation: { amount_micros: 10_000, budget: t.envelope, status: 'open', labels: { tool: 'WebFetch', session: 'tools-1', task: 'crawl', token_id: t.id } } });
    const custom = ToolReservedJson.parse((await reserve({ tool: 'CustomTool', ttl_ms: 30_000 })).json);
    expect([custom.reservation.amount_micros, custom.estimate_basis]).toEqual([12_000, 'unknown']);
    expect(Date.parse(custom.reservation.expires_at) - Date.parse(custom.reservation.created_at)).toBe(30_000);
    const given = ToolReservedJson.parse((await reserve({ tool: 'Agent', estimate_micros: 250_000, labels: { session: 'body-wins' } })).json);
    expect([given.reservation.amount_micros, given.estimate_basis, given.reservation.labels.session]).toEqual([250_000, 'given', 'body-wins']);

    const settled = await call<unknown>('POST', `/v1/bursar/reservations/${fetchOne.reservation.id}/settle`, { token: t.secret, body: { actual_micros: 7_000 } });
    expect(SettleJson.parse(settled.json)).toMatchObject({ overrun_micros: 0, late_charge: false, reservation: { status: 'settled', actual_micros: 7_000 } });
    const voided = await call<unknown>('POST', `/v1/bursar/reservations/${custom.reservation.id}/void`, { token: t.secret });
    expect(VoidJson.parse(voided.json).reservation.status).toBe('voided');
    const settle = (await h.entries(['settle'])).at(-1);
    expect(settle).toMatchObject({ amountMicros: 7_000, session: 'tools-1', task: 'crawl', actor: `token:${t.id}` });
    const envelope = await h.server.store.getBudget(t.envelope);
    expect([envelope?.spentMicros, envelope?.reservedMicros]).toEqual([7_000, 250_000]);

    // A retry with the same Idempotency-Key answers like the first call and reserves nothing more.
    const first = ToolReservedJson.parse((await reserve({ tool: 'Read' }, { 'idempotency-key': 'step-7' })).json);
    const again = ToolReservedJson.parse((await reserve({ tool: 'Read' }, { 'idempotency-key': 'step-7' })).json);
    expect(again.reservation.id).toBe(first.reservation.id);
    expect((await h.server.store.getBudget(t.envelope))?.reservedMicros).toBe(251_000);

    const table = await call<unknown>('GET', '/v1/bursar/tools', { token: null });
    expect(ToolPricesJson.parse(table.json)).toMatchObject({ standard_micros: 10_000, unknown_markup_pct: 20, unknown_tool_micros: 12_000 });
  });

  it('refuses input it cannot read with 400 bad_request naming the field', async () => {
    // Proves validation of bodies, path parameters and headers on the tool-spend routes.
    const t = await mintToken(h.server.store);
    const cases: [unknown, string][] = [
      [{}, 'tool'],
      [{ tool: '' }, 'tool'],
      [{ tool: 'Read', estimate_micros: 0 }, 'estimate_micros'],
      [{ tool: 'Read', estimate_micros: -5 }, 'estimate_micros'],
      [{ tool: 'Read', ttl_ms: 0 }, 'ttl_ms'],
      [{ tool: 'Read', ttl_ms: 86_400_001 }, 'ttl_ms'],
      [{ tool: 'Read', params: { blob: 'x'.repeat(20_000) } }, 'params'],
      [{ tool: 'Read', amount_micros: 5 }, 'amount_micros'],
    ];
    for (const [body, param] of cases) refused(await call('POST', '/v1/bursar/reservations', { token: t.secret, body }), 400, 'bad_request', param);
    refused(await call('POST', '/v1/bursar/reservations/rsv_x/settle', { token: t.secret, body: { actual_micros: 1 } }), 400, 'bad_request', 'id');
    const r = await call<{ reservation: { id: string } }>('POST', '/v1/bursar/reservations', { token: t.secret, body: { tool: 'Read' } });
    refused(await call('POST', `/v1/bursar/reservations/${r.json.reservation.id}/settle`, { token: t.secret, body: { actual_micros: -1 } }), 400, 'bad_request', 'actual_micros');
    refused(await call('POST', `/v1/bursar/reservations/${r.json.reservation.id}/settle`, { token: t.secret, body: {} }), 400, 'bad_request', 'actual_micros');
    refused(await call('POST', `/v1/bursar/reservations/${r.json.reservation.id}/void`, { token: t.secret, body: { why: 'x' } }), 400, 'bad_request', 'why');
    refused(await call('POST', '/v1/bursar/reservations', { token: t.secret, body: { tool: 'Read' }, headers: { 'idempotency-key': 'k'.repeat(201) } }), 400, 'bad_request', 'idempotency-key');
    refused(await call('POST', '/v1/bursar/reservations', { token: null, body: {} }), 401, 'token_invalid');
  });

  it('lets a token reach only its own chain\'s reservations: another token\'s answers 404', async () => {
    // Proves isolation by envelope path: siblings cannot settle or void each other's spend, a parent can settle its child's, a child not its parent's.
    const a = await mintToken(h.server.store, { scopes: ['delegate'] });
    const b = await mintToken(h.server.store);
    const child = (await call<{ token: string }>('POST', '/v1/bursar/tokens', { token: a.secret, body: { max_spend_micros: 100_000 } })).json;
    const reserve = (secret: string) => call<{ reservation: { id: string } }>('POST', '/v1/bursar/reservations', { token: secret, body: { tool: 'Bash' } }).then((x) => x.json.reservation.id);
    const ofA = await reserve(a.secret);
    const ofChild = await reserve(child.token);
    refused(await call('POST', `/v1/bursar/reservations/${ofA}/settle`, { token: b.secret, body: { actual_micros: 0 } }), 404, 'unknown_reservation', 'id');
    refused(await call('POST', `/v1/bursar/reservations/${ofA}/void`, { token: b.secret }), 404, 'unknown_reservation', 'id');
    refused(await call('POST', `/v1/bursar/reservations/${ofA}/void`, { token: child.token }), 404, 'unknown_reservation', 'id');
    refused(await call('POST', '/v1/bursar/reservations/rsv_999999/void', { token: a.secret }), 404, 'unknown_reservation', 'id');
    expect((await call('POST', `/v1/bursar/reservations/${ofChild}/settle`, { token: a.secret, body: { actual_micros: 4_000 } })).status).toBe(200);
    expect((await h.server.store.getReservation(ofA))?.status).toBe('open');

    // Revoked while its tool ran: it may still settle what it reserved, but not reserve more.
    await h.server.store.revokeToken({ tokenId: a.id });
    refused(await call('POST', '/v1/bursar/reservations', { token: a.secret, body: { tool: 'Bash' } }), 401, 'token_revoked');
    const late = await call<{ reservation: { status: string } }>('POST', `/v1/bursar/reservations/${ofA}/settle`, { token: a.secret, body: { actual_micros: 9_000 } });
    expect([late.status, late.json.reservation.status]).toEqual([200, 'settled']);
    refused(await call('POST', `/v1/bursar/reservations/${ofA}/settle`, { token: 'bsr_ABCDEFGHIJKLMNOPQRSTUVWX', body: { actual_micros: 1 } }), 401, 'token_invalid');
  });

  it('refuses what the budget cannot take, and a second resolution', async () => {
    // Proves the ledger's refusals come through with their codes: 402 naming the budget and what it has left, 409 for a reservation already resolved.
    const t = await mintToken(h.server.store, { limitMicros: 50_000 });
    const over = await call('POST', '/v1/bursar/reservations', { token: t.secret, body: { tool: 'Agent' } });
    refused(over, 402, 'budget_exceeded');
    expect([over.json.error.budget, over.json.error.remaining_micros, over.json.error.type]).toEqual([t.envelope, 50_000, 'insufficient_quota']);
    const r = await call<{ reservation: { id: string } }>('POST', '/v1/bursar/reservations', { token: t.secret, body: { tool: 'MCP' } });
    const id = r.json.reservation.id;
    expect((await call('POST', `/v1/bursar/reservations/${id}/settle`, { token: t.secret, body: { actual_micros: 30_000 } })).status).toBe(200);
    refused(await call('POST', `/v1/bursar/reservations/${id}/settle`, { token: t.secret, body: { actual_micros: 1 } }), 409, 'already_settled');
    refused(await call('POST', `/v1/bursar/reservations/${id}/void`, { token: t.secret }), 409, 'already_settled');
    const overrun = (await h.entries(['overrun'])).at(-1);
    expect(overrun?.amountMicros).toBe(10_000);
  });
});

describe('GET /v1/bursar/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document listing every agent route with its errors', async () => {
    // Proves the agent routes are documented from the declarations they validate with, and the document cannot miss one.
    const res = await fetch(`${h.server.url}/v1/bursar/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown>; parameters?: { name: string }[] }>> };
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(agentApiSpecs.map((r) => `${r.method} ${r.path}`).sort());
    for (const r of [...agentApiSpecs.map((x) => `${x.method} ${x.path}`), 'GET /v1/bursar/balance', 'GET /v1/bursar/tools', 'GET /v1/bursar/openapi.json']) expect(documented).toContain(r);
    const reserve = doc.paths['/v1/bursar/reservations']?.post;
    expect(Object.keys(reserve?.responses ?? {})).toEqual(expect.arrayContaining(['201', '400', '401', '402', '403', '409', '429', '503']));
    expect(reserve?.security).toEqual([{ spendToken: [] }, { spendTokenHeader: [] }]);
    expect(reserve?.parameters?.map((p) => p.name)).toEqual(['x-bursar-session', 'x-bursar-task', 'idempotency-key']);
    expect(doc.paths['/v1/bursar/tools']?.get?.security).toEqual([]);
    expect(Object.keys(doc.paths['/v1/bursar/reservations/{id}/settle']?.post?.responses ?? {})).toEqual(expect.arrayContaining(['200', '404', '409']));
  });
});
