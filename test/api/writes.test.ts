import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiLimits } from '../../src/api/index.js';
import { startApi, viewerKey, type ApiServer, type ErrorAnswer } from './api-harness.js';

interface BudgetAnswer {
  budget: { path: string; status: string; limit_micros: number | null; remaining_micros: number | null; policy: Record<string, unknown> };
}

interface LedgerAnswer {
  entries: { kind: string; actor: string | null; reason: string | null; amount_micros: number }[];
  next_cursor: string | null;
}

describe('admin API writes', () => {
  let s: ApiServer;
  beforeEach(async () => {
    s = await startApi();
  });
  afterEach(async () => s.close());

  const create = (body: Record<string, unknown>, headers: Record<string, string> = {}) => s.call<BudgetAnswer & ErrorAnswer>('POST', '/api/budgets', { body, headers });

  it('maps each ledger refusal to its status in one place, keeping code, field, budget and remaining', async () => {
    // Proves the refusal mapping: 409 conflicts, 403 widenings, 404 unknowns, 402 over budget with what remains, field names in snake_case.
    expect((await create({ path: 'acme', limit_micros: 10_000_000, policy: { models: ['gpt-4o'] } })).status).toBe(201);
    const exists = await create({ path: 'acme' });
    expect(exists.status).toBe(409);
    expect(exists.json.error).toMatchObject({ code: 'budget_exists', field: 'path', budget: 'acme' });

    const orphan = await create({ path: 'nowhere/bot' });
    expect(orphan.status).toBe(409);
    expect(orphan.json.error.code).toBe('parent_missing');

    const wide = await create({ path: 'acme/bot', kind: 'agent', policy: { models: ['o1'] } });
    expect(wide.status).toBe(403);
    expect(wide.json.error).toMatchObject({ code: 'policy_widens', field: 'policy.models', budget: 'acme' });

    const unknown = await s.call('POST', '/api/budgets/acme%2Fnope/grant', { body: { amount_micros: 1 } });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: 'unknown_budget', field: 'path' });

    expect((await create({ path: 'free' })).status).toBe(201);
    const unlimited = await s.call('POST', '/api/budgets/free/grant', { body: { amount_micros: 1 } });
    expect(unlimited.status).toBe(409);
    expect(unlimited.json.error.code).toBe('budget_unlimited');

    const over = await s.call('POST', '/api/reservations', { body: { budget: 'acme', amount_micros: 10_000_001 } });
    expect(over.status).toBe(402);
    expect(over.json.error).toMatchObject({ code: 'budget_exceeded', budget: 'acme', remaining_micros: 10_000_000 });

    await s.call('POST', '/api/budgets/free/close');
    const reopen = await s.call('POST', '/api/budgets/free/resume');
    expect(reopen.status).toBe(409);
    expect(reopen.json.error.code).toBe('invalid_status');

    expect((await create({ path: 'acme/research' })).status).toBe(201);
    const cycle = await s.call('POST', '/api/budgets/acme/move', { body: { parent: 'acme/research' } });
    expect(cycle.status).toBe(409);
    expect(cycle.json.error).toMatchObject({ code: 'tree_cycle', field: 'parent' });

    const paused = await s.call('POST', '/api/budgets/acme/pause');
    expect(paused.status).toBe(200);
    const refused = await s.call('POST', '/api/reservations', { body: { budget: 'acme/research', amount_micros: 1 } });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ code: 'budget_paused', budget: 'acme' });
  });

  it('refuses bad guard policies with a 400 naming the field: a zero window, a negative amount, thresholds over 1000 %', async () => {
    // Proves edge validation of burn limits and alert thresholds on create and on a policy patch, before the ledger.
    expect((await create({ path: 'acme', kind: 'agent' })).status).toBe(201);
    const cases: [Record<string, unknown>, string][] = [
      [{ burn_limits: [{ amount_micros: 1_000, window_ms: 0 }] }, 'policy.burn_limits.0.window_ms'],
      [{ burn_limits: [{ amount_micros: -1, window_ms: 60_000 }] }, 'policy.burn_limits.0.amount_micros'],
      [{ burn_limits: [{ amount_micros: 1_000, window_ms: 60_000, per: 'minute' }] }, 'policy.burn_limits.0.per'],
      [{ burn_limits: [{ amount_micros: 1_000, window_ms: 60_000 }, { amount_micros: 5, window_ms: 60_000 }] }, 'policy.burn_limits'],
      [{ alert_thresholds_pct: [50, 1_001] }, 'policy.alert_thresholds_pct.1'],
      [{ alert_thresholds_pct: [0] }, 'policy.alert_thresholds_pct.0'],
    ];
    for (const [policy, field] of cases) {
      const made = await create({ path: 'acme/x', policy });
      expect([made.status, made.json.error.code, made.json.error.field], JSON.stringify(policy)).toEqual([400, 'bad_request', field]);
      const patched = await s.call<ErrorAnswer>('PATCH', '/api/budgets/acme', { body: { policy } });
      expect([patched.status, patched.json.error.field], JSON.stringify(policy)).toEqual([400, field]);
    }
    const wide = await create({ path: 'acme/x', policy: { burn_limits: [{ amount_micros: 3_000_000, window_ms: 60_000 }] } });
    expect([wide.status, wide.json.error.code, wide.json.error.field]).toEqual([403, 'policy_widens', 'policy.burn_limits.0.amount_micros']);
    const set = await s.call<BudgetAnswer>('PATCH', '/api/budgets/acme', { body: { policy: { burn_limits: [{ amount_micros: 500_000, window_ms: 60_000 }], alert_thresholds_pct: [80] } } });
    expect(set.json.budget.policy).toMatchObject({ burn_limits: [{ amount_micros: 500_000, window_ms: 60_000 }], alert_thresholds_pct: [80] });
  });

  it('patches policy atomically: values set fields, null removes them, absent ones stay', async () => {
    // Proves PATCH semantics and that an empty patch is a 400 rather than a silent no-op.
    await create({ path: 'acme', kind: 'agent', limit_micros: 1_000_000, policy: { models: ['gpt-4o'], request_cap_micros: 500 } });
    const first = await s.call<BudgetAnswer>('PATCH', '/api/budgets/acme', { body: { policy: { inflight_max: 2, models: null } } });
    expect(first.status).toBe(200);
    // An agent keeps the default burn limit and loop limit it was created with.
    expect(first.json.budget.policy).toEqual({ request_cap_micros: 500, inflight_max: 2, burn_limits: [{ amount_micros: 2_000_000, window_ms: 60_000 }], loop_limit: { repeats: 20, window_ms: 600_000 } });
    const limitless = await s.call<BudgetAnswer>('PATCH', '/api/budgets/acme', { body: { limit_micros: null, period: 'day' } });
    expect(limitless.json.budget).toMatchObject({ limit_micros: null, remaining_micros: null });
    const empty = await s.call('PATCH', '/api/budgets/acme', { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.json.error.message).toMatch(/nothing to update/);
  });

  it('records who made a change: x-bursar-actor when given, else the key\'s role and id', async () => {
    // Proves attribution: every write carries an actor in the ledger, and the reason given.
    await create({ path: 'acme', limit_micros: 1_000_000, reason: 'new org' }, { 'x-bursar-actor': 'alice@example.com' });
    await s.call('POST', '/api/budgets/acme/pause', { body: { reason: 'loop' } });
    const ledger = await s.call<LedgerAnswer>('GET', '/api/ledger');
    expect(ledger.json.entries.map((e) => [e.kind, e.actor, e.reason])).toEqual([
      ['budget_created', 'alice@example.com', 'new org'],
      ['pause', expect.stringMatching(/^api:admin:[0-9a-f]{8}$/) as unknown, 'loop'],
    ]);
  });

  it('answers a retry with the same Idempotency-Key like the first call, writing nothing more', async () => {
    // Proves idempotent writes over HTTP: same key, same answer, one ledger entry.
    await create({ path: 'acme', limit_micros: 1_000_000 });
    const grant = () => s.call<BudgetAnswer>('POST', '/api/budgets/acme/grant', { body: { amount_micros: 250_000 }, headers: { 'idempotency-key': 'grant-1' } });
    const [a, b] = [await grant(), await grant()];
    expect(a.status).toBe(200);
    expect(b.json).toEqual(a.json);
    const grants = await s.call<LedgerAnswer>('GET', '/api/ledger?kind=grant');
    expect(grants.json.entries).toHaveLength(1);
  });

  it('refuses malformed requests with clear 4xx answers before they reach the ledger', async () => {
    // Proves the edge: bad JSON 400, non-JSON 415, too large 413, body where none is taken 400, unknown route 404.
    const badJson = await s.call('POST', '/api/budgets', { raw: '{"path": ', headers: { 'content-type': 'application/json' } });
    expect(badJson.status).toBe(400);
    expect(badJson.json.error).toMatchObject({ code: 'bad_request' });
    expect(badJson.json.error.message).toMatch(/not valid JSON/);

    const form = await s.call('POST', '/api/budgets', { raw: 'path=acme', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.json.error.code).toBe('unsupported_media_type');

    const huge = await s.call('POST', '/api/budgets', { body: { path: 'acme', reason: 'x'.repeat(apiLimits.bodyBytesMax) } });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe('payload_too_large');

    const array = await s.call('POST', '/api/budgets', { body: [1, 2] });
    expect(array.status).toBe(400);
    expect(array.json.error.message).toMatch(/^request body: /);

    const missing = await s.call('POST', '/api/budgets', { body: {} });
    expect(missing.json.error).toMatchObject({ code: 'bad_request', field: 'path' });

    const notFound = await s.call('GET', '/api/nothing-here');
    expect(notFound.status).toBe(404);
    expect(notFound.json.error.code).toBe('not_found');
    const rawSlashes = await s.call('GET', '/api/budgets/acme/research/bot');
    expect(rawSlashes.status).toBe(404);
    expect(rawSlashes.json.error.message).toMatch(/one URL-encoded segment: \/api\/budgets\/acme%2Fresearch/);

    const viewerNotFound = await s.call('DELETE', '/api/budgets/acme', { key: viewerKey });
    expect(viewerNotFound.status).toBe(404);
  });

  it('mints tokens under a budget and delegates from a token, only narrowing', async () => {
    // Proves token minting by an admin: the token once, delegation needs the delegate scope and cannot widen.
    await create({ path: 'acme/bot', kind: 'agent', limit_micros: 5_000_000, create_parents: true });
    const parent = await s.call<{ id: string; token: string }>('POST', '/api/tokens', { body: { budget: 'acme/bot', max_spend_micros: 2_000_000, scopes: ['delegate'], expires_in_ms: 3_600_000 } });
    expect(parent.status).toBe(201);
    const plain = await s.call<{ id: string }>('POST', '/api/tokens', { body: { budget: 'acme/bot', max_spend_micros: 1_000 } });

    const child = await s.call<{ parent_token_id: string; budget: string; envelope: { limit_micros: number } }>('POST', '/api/tokens', {
      body: { parent_token_id: parent.json.id, max_spend_micros: 500_000, expires_in_ms: 60_000 },
    });
    expect(child.status, child.text).toBe(201);
    expect(child.json.parent_token_id).toBe(parent.json.id);
    expect(child.json.budget.startsWith(`acme/bot/${parent.json.id}/`)).toBe(true);

    const greedy = await s.call('POST', '/api/tokens', { body: { parent_token_id: parent.json.id, max_spend_micros: 3_000_000, expires_in_ms: 60_000 } });
    expect(greedy.status).toBe(403);
    expect(greedy.json.error).toMatchObject({ code: 'policy_widens', field: 'max_spend_micros', remaining_micros: 2_000_000 });

    const noScope = await s.call('POST', '/api/tokens', { body: { parent_token_id: plain.json.id, max_spend_micros: 1 } });
    expect(noScope.status).toBe(400);
    expect(noScope.json.error).toMatchObject({ code: 'invalid_token', field: 'parent_token_id' });

    const both = await s.call('POST', '/api/tokens', { body: { budget: 'acme/bot', parent_token_id: parent.json.id } });
    expect(both.json.error).toMatchObject({ code: 'bad_request', field: 'budget' });

    const revoked = await s.call<{ revoked: string[] }>('POST', `/api/tokens/${parent.json.id}/revoke`);
    expect(revoked.json.revoked).toHaveLength(2);
    const listed = await s.call<{ tokens: { status: string }[] }>('GET', '/api/tokens?status=revoked');
    expect(listed.json.tokens).toHaveLength(2);
    expect(parent.json.token).toMatch(/^bsr_/);
    expect(listed.text).not.toContain(parent.json.token);
  });

  it('runs a tool reservation through reserve, settle with an overrun, and refuses a second settlement', async () => {
    // Proves the two-phase flow for non-LLM spend, with the ledger's codes for repeated resolutions.
    await create({ path: 'acme', limit_micros: 1_000_000 });
    const r = await s.call<{ reservation: { id: string } }>('POST', '/api/reservations', { body: { budget: 'acme', amount_micros: 1_000, labels: { tool: 'web-search', session: 'run-1' } } });
    const id = r.json.reservation.id;
    const settled = await s.call<{ overrun_micros: number }>('POST', `/api/reservations/${id}/settle`, { body: { actual_micros: 1_500 } });
    expect(settled.json.overrun_micros).toBe(500);
    const again = await s.call('POST', `/api/reservations/${id}/settle`, { body: { actual_micros: 1 } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('already_settled');
    const voided = await s.call('POST', `/api/reservations/${id}/void`);
    expect(voided.json.error.code).toBe('already_settled');
    const missing = await s.call('GET', '/api/reservations/rsv_999999');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'unknown_reservation', field: 'id' });
    const budget = await s.call<BudgetAnswer>('GET', '/api/budgets/acme');
    expect(budget.json.budget.remaining_micros).toBe(998_500);
  });
});
