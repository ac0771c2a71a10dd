import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditMicros, demoTree } from '../../src/cli/demo.js';
import type { ForecastReport, PreflightReport, ReservationReport } from '../../src/contract/index.js';
import { repoRoot } from '../cli/cli-harness.js';
import { OffsetClock } from '../support/offset-clock.js';
import { startApi, type ApiServer, type ErrorAnswer } from './api-harness.js';

/**
 * Pre-flight, forecast and the reservation metrics through the admin API, on a real server over
 * a real SQLite file: the case study's tree, the retrospective's runaway plan, bad plans, and
 * burn rates measured on a clock the test moves.
 */

const testWriter = 'dennis/tech-talent/test-writer';
const reviewer = 'dennis/tech-talent/code-reviewer';
const minute = 60_000;
const hour = 60 * minute;

function plan(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(repoRoot, 'docs/plans', name), 'utf8')) as Record<string, unknown>;
}

function checkOf(r: PreflightReport, name: string) {
  return r.checks.find((c) => c.name === name);
}

async function reserveAndSettle(s: ApiServer, budget: string, amountMicros: number, actualMicros: number | 'void', model = 'gpt-4o'): Promise<void> {
  const reserved = await s.call<{ reservation: { id: string } }>('POST', '/api/reservations', { body: { budget, amount_micros: amountMicros, labels: { model } } });
  expect(reserved.status, reserved.text).toBe(201);
  const id = reserved.json.reservation.id;
  const done = actualMicros === 'void' ? await s.call('POST', `/api/reservations/${id}/void`) : await s.call('POST', `/api/reservations/${id}/settle`, { body: { actual_micros: actualMicros } });
  expect(done.status, done.text).toBe(200);
}

describe('POST /api/preflight on the case study\'s tree', () => {
  let s: ApiServer;
  beforeAll(async () => {
    s = await startApi();
    for (const b of demoTree) {
      const created = await s.call('POST', '/api/budgets', { body: { path: b.path, kind: b.kind, limit_micros: b.credits * creditMicros, period: 'month' } });
      expect(created.status, created.text).toBe(201);
    }
  });
  afterAll(() => s.close());

  it('fails the retrospective\'s runaway plan: 15 agents on test data cannot fit the test writer\'s $50 or its 4 in flight', async () => {
    const a = await s.call<PreflightReport>('POST', '/api/preflight', { body: { ...plan('runaway.json'), confirmed: true } });
    expect(a.status, a.text).toBe(200);
    const r = a.json;
    expect(r).toMatchObject({ verdict: 'fail', proceed: false, calls: 420, concurrency: 15, total_micros: 96_600_000, confirmation_required: true, confirmed: true });
    expect(r.items[0]).toMatchObject({ model: 'claude-opus-4-5', call_micros: 350_000, total_micros: 21_000_000, tightest: { budget: testWriter, remaining_micros: 50_000_000 } });
    expect(checkOf(r, 'budget_availability')).toMatchObject({ status: 'fail', budget: testWriter, message: 'the plan needs $96.60 on dennis/tech-talent/test-writer, which has $50.00 left this period' });
    expect(checkOf(r, 'inflight')).toMatchObject({ status: 'fail', budget: testWriter });
    // An agent's default burn limit (2 USD a minute) cannot take 15 calls of $0.35 at once.
    expect(checkOf(r, 'burn_limits')).toMatchObject({ status: 'fail', budget: testWriter, message: expect.stringContaining('15 calls at once reserve up to $5.25 within 1m') as unknown });
    expect(checkOf(r, 'test_titles')).toMatchObject({ status: 'warn', items: [0, 1, 2, 3] });
    expect(checkOf(r, 'queue_size')?.status).toBe('warn');
    expect(r.budgets.map((b) => [b.budget, b.remaining_micros, b.planned_micros, b.share_pct])).toEqual([
      ['dennis', 1_000_000_000, 96_600_000, 10],
      ['dennis/tech-talent', 400_000_000, 96_600_000, 25],
      [testWriter, 50_000_000, 96_600_000, 194],
    ]);
  });

  it('clears the nightly review plan, counting input text with the model\'s tokenizer', async () => {
    const a = await s.call<PreflightReport>('POST', '/api/preflight', { body: plan('review.json') });
    expect(a.status, a.text).toBe(200);
    expect(a.json).toMatchObject({ verdict: 'pass', proceed: true, confirmation_required: false, calls: 41 });
    expect(a.json.checks.every((c) => c.status === 'pass')).toBe(true);
    expect(a.json.items[1]?.input_tokens).toBeGreaterThan(20);
    expect(a.json.items[1]?.call_micros).toBe(Math.ceil(((a.json.items[1]?.input_tokens ?? 0) * 2_500_000) / 1_000_000) + 20_000);
  });

  it('reads what budgets have left now: spend and holds on the path shrink it', async () => {
    // Small amounts: an agent may have a burn limit of a few dollars a minute.
    await reserveAndSettle(s, reviewer, 1_500_000, 1_200_000);
    const held = await s.call<{ reservation: { id: string } }>('POST', '/api/reservations', { body: { budget: reviewer, amount_micros: 400_000 } });
    expect(held.status, held.text).toBe(201);
    const a = await s.call<PreflightReport>('POST', '/api/preflight', { body: plan('review.json') });
    expect(a.json.budgets.find((b) => b.budget === reviewer)).toMatchObject({ remaining_micros: 78_400_000, inflight: 1, planned_concurrency: 2 });
    await s.call('POST', `/api/reservations/${held.json.reservation.id}/void`);
  });

  it('asks for confirmation above the threshold, and the threshold is the caller\'s', async () => {
    const body = { items: [{ title: 'Re-review the backlog', budget: reviewer, model: 'gpt-4o', input_tokens: 10_000, max_output_tokens: 4_000, count: 100 }] };
    const asked = await s.call<PreflightReport>('POST', '/api/preflight', { body });
    expect(asked.json).toMatchObject({ total_micros: 6_500_000, confirmation_required: false, proceed: true });
    const lower = await s.call<PreflightReport>('POST', '/api/preflight', { body: { ...body, confirm_over_micros: 5_000_000 } });
    expect(lower.json).toMatchObject({ verdict: 'warn', confirmation_required: true, proceed: false });
    const confirmed = await s.call<PreflightReport>('POST', '/api/preflight', { body: { ...body, confirm_over_micros: 5_000_000, confirmed: true } });
    expect(confirmed.json).toMatchObject({ confirmation_required: true, proceed: true });
    expect(checkOf(confirmed.json, 'confirmation')?.status).toBe('pass');
  });

  it('prices a token\'s calls on its envelope and fails a revoked token', async () => {
    const minted = await s.call<{ id: string; budget: string }>('POST', '/api/tokens', { body: { budget: reviewer, max_spend_micros: 100_000, models: ['gpt-4o-mini'] } });
    expect(minted.status, minted.text).toBe(201);
    const id = minted.json.id;
    const body = { items: [{ token: id, model: 'gpt-4o', input_tokens: 1_000, max_output_tokens: 1_000 }] };
    const before = await s.call<PreflightReport>('POST', '/api/preflight', { body });
    expect(before.json.items[0]).toMatchObject({ token: id, budget: minted.json.budget, tightest: { budget: minted.json.budget, remaining_micros: 100_000 } });
    expect(checkOf(before.json, 'model_policy')).toMatchObject({ status: 'fail', budget: minted.json.budget });
    await s.call('POST', `/api/tokens/${id}/revoke`);
    const after = await s.call<PreflightReport>('POST', '/api/preflight', { body });
    expect(checkOf(after.json, 'budget_status')).toMatchObject({ status: 'fail', message: expect.stringContaining(`token ${id} is revoked`) as unknown });
  });

  it('refuses bad plans with a 400 naming the field, and unknown budgets and tokens with a 404', async () => {
    const item = { budget: reviewer, model: 'gpt-4o-mini', input_tokens: 100 };
    const cases: [unknown, number, string, string][] = [
      [{ items: [{ ...item, colour: 'red' }] }, 400, 'bad_request', 'items.0.colour'],
      [{ items: [item, { ...item, count: -2 }] }, 400, 'bad_request', 'items.1.count'],
      [{ items: [item], concurrency: 0 }, 400, 'bad_request', 'concurrency'],
      [{ items: [{ ...item, model: 'gpt-4o-mimi' }] }, 400, 'bad_request', 'items.0.model'],
      [{ items: [{ ...item, max_output_tokens: 50_000 }] }, 400, 'bad_request', 'items.0.max_output_tokens'],
      [{ items: [item], confirm_over_micros: -1 }, 400, 'bad_request', 'confirm_over_micros'],
      [{ items: [item], queue_calls_warn: 10, queue_calls_max: 5 }, 400, 'bad_request', 'queue_calls_warn'],
      [{ items: [{ ...item, budget: 'dennis/tech-talent/code-reviewr' }] }, 404, 'unknown_budget', 'items.0.budget'],
      [{ items: [{ ...item, budget: undefined, token: 'tok_missing0001' }] }, 404, 'unknown_token', 'items.0.token'],
      [{ items: [] }, 400, 'bad_request', 'items'],
    ];
    for (const [body, status, code, field] of cases) {
      const a = await s.call<ErrorAnswer>('POST', '/api/preflight', { body });
      expect([a.status, a.json.error.code, a.json.error.field], JSON.stringify(body)).toEqual([status, code, field]);
    }
    const typo = await s.call<ErrorAnswer>('POST', '/api/preflight', { body: { items: [{ ...item, budget: 'dennis/tech-talent/code-reviewr' }] } });
    expect(typo.json.error.message).toBe('items.0.budget: no budget at dennis/tech-talent/code-reviewr; did you mean dennis/tech-talent/code-reviewer?');
  });

  it('takes a plan larger than other admin bodies, up to its own bound', async () => {
    const items = Array.from({ length: 1_000 }, (_, i) => ({ title: `Summarise filing number ${i} of the quarter`, budget: reviewer, model: 'gpt-4o-mini', input_tokens: 100, max_output_tokens: 10 }));
    const body = { items, queue_calls_max: 2_000 };
    expect(JSON.stringify(body).length).toBeGreaterThan(64 * 1024);
    const big = await s.call<PreflightReport>('POST', '/api/preflight', { body });
    expect([big.status, big.json.calls]).toEqual([200, 1_000]);
    const huge = await s.call<ErrorAnswer>('POST', '/api/preflight', { body: { items: [{ ...items[0], input: 'x'.repeat(3 * 1024 * 1024) }] } });
    expect([huge.status, huge.json.error.code, huge.json.error.message]).toEqual([413, 'payload_too_large', 'the request body is larger than 2097152 bytes']);
    const budget = await s.call<ErrorAnswer>('POST', '/api/budgets', { body: { path: 'acme', limit_micros: 1, period: 'month', reason: 'x'.repeat(70 * 1024) } });
    expect([budget.status, budget.json.error.message]).toEqual([413, 'the request body is larger than 65536 bytes']);
  });
});

describe('GET /api/forecast on a moving clock', () => {
  let s: ApiServer;
  let clock: OffsetClock;
  beforeAll(async () => {
    clock = new OffsetClock();
    s = await startApi({ clock });
    for (const [path, limit, period] of [['acme', 1_000_000_000, 'day'], ['acme/bot', 50_000_000, 'none'], ['acme/idle', 5_000_000, 'none']] as const) {
      const created = await s.call('POST', '/api/budgets', { body: { path, limit_micros: limit, period } });
      expect(created.status, created.text).toBe(201);
    }
    // $4 a day ago, $2 53 minutes ago, $1 3 minutes ago.
    await reserveAndSettle(s, 'acme/bot', 5_000_000, 4_000_000);
    clock.advance(23 * hour);
    await reserveAndSettle(s, 'acme/bot', 5_000_000, 2_000_000);
    clock.advance(50 * minute);
    await reserveAndSettle(s, 'acme/bot', 5_000_000, 1_000_000);
    clock.advance(3 * minute);
  });
  afterAll(() => s.close());

  it('rates the last 5 minutes, hour and day, and says when each budget runs out at each rate', async () => {
    const a = await s.call<ForecastReport>('GET', '/api/forecast');
    expect(a.status, a.text).toBe(200);
    const nowMs = Date.parse(a.json.now);
    const bot = a.json.budgets.find((b) => b.budget === 'acme/bot');
    expect(bot?.remaining_micros).toBe(43_000_000);
    expect(bot?.windows.map((w) => [w.window, w.spent_micros, w.rate_micros_per_hour, w.outlook])).toEqual([
      ['5m', 1_000_000, 12_000_000, 'runs_out'],
      ['1h', 3_000_000, 3_000_000, 'runs_out'],
      ['24h', 7_000_000, Math.round(7_000_000 / 24), 'runs_out'],
    ]);
    // $43 left at $1 per 5 minutes: 215 minutes; at $3 an hour: 14 h 20 min.
    expect(bot?.windows.map((w) => Date.parse(w.runs_out_at ?? '') - nowMs).slice(0, 2)).toEqual([215 * minute, 14 * hour + 20 * minute]);
    const org = a.json.budgets.find((b) => b.budget === 'acme');
    expect(org?.windows.map((w) => w.outlook)).toEqual(['not_this_period', 'not_this_period', 'not_this_period']);
    expect(a.json.budgets.find((b) => b.budget === 'acme/idle')?.windows.map((w) => w.outlook)).toEqual(['no_burn', 'no_burn', 'no_burn']);
    expect(a.json.budgets[0]?.budget).toBe('acme/bot');
  });

  it('forgets spend as it leaves each window', async () => {
    clock.advance(10 * minute);
    const a = await s.call<ForecastReport>('GET', '/api/forecast?budget=acme%2Fbot');
    expect(a.json.budgets.map((b) => b.budget)).toEqual(['acme/bot']);
    expect(a.json.budgets[0]?.windows.map((w) => w.spent_micros)).toEqual([0, 1_000_000, 3_000_000]);
    const missing = await s.call<ErrorAnswer>('GET', '/api/forecast?budget=acme%2Fnope');
    expect([missing.status, missing.json.error.code]).toEqual([404, 'unknown_budget']);
  });
});

describe('GET /api/usage?metrics=reservations', () => {
  let s: ApiServer;
  beforeAll(async () => {
    s = await startApi();
    await s.call('POST', '/api/budgets', { body: { path: 'acme/bot', limit_micros: 50_000_000, period: 'month', create_parents: true } });
    await reserveAndSettle(s, 'acme/bot', 1_000_000, 250_000);
    await reserveAndSettle(s, 'acme/bot', 1_000_000, 250_000);
    await reserveAndSettle(s, 'acme/bot', 1_000_000, 'void');
    await reserveAndSettle(s, 'acme/bot', 2_000_000, 1_000_000, 'claude-haiku-4-5');
  });
  afterAll(() => s.close());

  it('gives each budget and model its reserve-to-settle ratio and estimate accuracy', async () => {
    const a = await s.call<{ rows: unknown[]; reservations: ReservationReport }>('GET', '/api/usage?group_by=budget&metrics=reservations');
    expect(a.status, a.text).toBe(200);
    expect(a.json.reservations.rows).toEqual([
      expect.objectContaining({ key: 'acme/bot', model: 'gpt-4o', reservations: 3, settled: 2, voided: 1, reserved_micros: 3_000_000, settled_reserved_micros: 2_000_000, settled_actual_micros: 500_000, reserve_to_settle: 1.5, estimate_accuracy: 0.25 }),
      expect.objectContaining({ key: 'acme/bot', model: 'claude-haiku-4-5', reservations: 1, settled: 1, reserve_to_settle: 1, estimate_accuracy: 0.5 }),
    ]);
    expect(a.json.reservations.totals).toMatchObject({ reservations: 4, settled: 3, voided: 1, reserve_to_settle: 1.333 });
    const plain = await s.call<Record<string, unknown>>('GET', '/api/usage?group_by=model');
    expect(plain.json.reservations).toBeUndefined();
    const bad = await s.call<ErrorAnswer>('GET', '/api/usage?group_by=model&metrics=ratios');
    expect([bad.status, bad.json.error.field]).toEqual([400, 'metrics']);
  });
});
