import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../src/api/index.js';
import { adminKey, startApi, viewerKey, type Answer, type ApiServer, type ErrorAnswer } from './api-harness.js';

/**
 * Every route the admin API registers, driven from one table: a valid call, an invalid one
 * (a 400 naming the field), and wrong credentials. A route added without a row here fails the
 * first test, so no route goes untested.
 */

interface Call {
  method?: string;
  path: string;
  body?: unknown;
}

interface Sample {
  /** Prepares what the call needs and returns it with the status it should get. */
  valid(s: ApiServer): Promise<Call & { status: number; check?: (a: Answer<Record<string, unknown>>) => void }>;
  /** A call with one bad field, and the field the 400 must name. */
  invalid: Call & { field: string };
  /** Streams never end: the valid call is tested in events.test.ts. */
  stream?: boolean;
}

const bot = 'acme%2Fresearch%2Fbot';

async function create(s: ApiServer, path: string, extra: Record<string, unknown> = {}): Promise<void> {
  const a = await s.call('POST', '/api/budgets', { body: { path, limit_micros: 10_000_000, period: 'month', ...extra } });
  expect(a.status, a.text).toBe(201);
}

async function reserve(s: ApiServer, amountMicros = 1_000): Promise<string> {
  const a = await s.call<{ reservation: { id: string } }>('POST', '/api/reservations', { body: { budget: 'acme/research/bot', amount_micros: amountMicros, labels: { session: 's1', model: 'gpt-4o' } } });
  expect(a.status, a.text).toBe(201);
  return a.json.reservation.id;
}

async function mint(s: ApiServer): Promise<{ id: string; secret: string }> {
  const a = await s.call<{ id: string; token: string }>('POST', '/api/tokens', { body: { budget: 'acme/research/bot', max_spend_micros: 1_000_000, scopes: ['delegate'] } });
  expect(a.status, a.text).toBe(201);
  return { id: a.json.id, secret: a.json.token };
}

async function webhook(s: ApiServer, url = 'https://example.com/hook'): Promise<string> {
  const a = await s.call<{ webhook: { id: string } }>('POST', '/api/webhooks', { body: { url } });
  expect(a.status, a.text).toBe(201);
  return a.json.webhook.id;
}

const samples: Record<string, Sample> = {
  listBudgets: {
    valid: async () => ({ path: '/api/budgets?under=acme&kind=agent', status: 200, check: (a) => expect(a.json.budgets).toMatchObject([{ path: 'acme/research/bot' }]) }),
    invalid: { path: '/api/budgets?kind=robot', field: 'kind' },
  },
  createBudget: {
    valid: async () => ({ method: 'POST', path: '/api/budgets', body: { path: 'acme/new1', kind: 'team', limit_micros: 1_000_000, period: 'day', policy: { models: ['gpt-4o'] } }, status: 201, check: (a) => expect(a.json.budget).toMatchObject({ path: 'acme/new1', limit_micros: 1_000_000, policy: { models: ['gpt-4o'] } }) }),
    invalid: { method: 'POST', path: '/api/budgets', body: { path: 'acme/new2', limit_micros: -1 }, field: 'limit_micros' },
  },
  budgetTree: {
    valid: async () => ({ path: '/api/tree?root=acme', status: 200, check: (a) => expect(a.json.budgets).toMatchObject([{ path: 'acme', children: expect.arrayContaining([expect.objectContaining({ path: 'acme/research' })]) as unknown }]) }),
    invalid: { path: '/api/tree?root=a%20b', field: 'root' },
  },
  getBudget: {
    valid: async () => ({ path: `/api/budgets/${bot}`, status: 200, check: (a) => expect(a.json).toMatchObject({ budget: { path: 'acme/research/bot' }, chain: [{ path: 'acme' }, { path: 'acme/research' }, { path: 'acme/research/bot' }] }) }),
    invalid: { path: '/api/budgets/bad%20name', field: 'path' },
  },
  updateBudget: {
    valid: async (s) => {
      await create(s, 'acme/u1');
      return { method: 'PATCH', path: '/api/budgets/acme%2Fu1', body: { limit_micros: 6_000_000, policy: { request_cap_micros: 1_000_000 } }, status: 200, check: (a) => expect(a.json.budget).toMatchObject({ limit_micros: 6_000_000, policy: { request_cap_micros: 1_000_000 } }) };
    },
    invalid: { method: 'PATCH', path: `/api/budgets/${bot}`, body: { policy: { inflight_max: 0 } }, field: 'policy.inflight_max' },
  },
  pauseBudget: {
    valid: async (s) => {
      await create(s, 'acme/p1');
      return { method: 'POST', path: '/api/budgets/acme%2Fp1/pause', body: { reason: 'runaway' }, status: 200, check: (a) => expect(a.json.budget).toMatchObject({ status: 'paused' }) };
    },
    invalid: { method: 'POST', path: '/api/budgets/acme/pause', body: { reason: 5 }, field: 'reason' },
  },
  resumeBudget: {
    valid: async (s) => {
      await create(s, 'acme/r1');
      await s.call('POST', '/api/budgets/acme%2Fr1/pause');
      return { method: 'POST', path: '/api/budgets/acme%2Fr1/resume', status: 200, check: (a) => expect(a.json.budget).toMatchObject({ status: 'active' }) };
    },
    invalid: { method: 'POST', path: '/api/budgets/acme/resume', body: { why: 'x' }, field: 'why' },
  },
  closeBudget: {
    valid: async (s) => {
      await create(s, 'acme/c1');
      return { method: 'POST', path: '/api/budgets/acme%2Fc1/close', status: 200, check: (a) => expect(a.json.budget).toMatchObject({ status: 'closed' }) };
    },
    invalid: { method: 'POST', path: '/api/budgets/acme%2F%2Fx/close', field: 'path' },
  },
  grantBudget: {
    valid: async (s) => {
      await create(s, 'acme/g1');
      return { method: 'POST', path: '/api/budgets/acme%2Fg1/grant', body: { amount_micros: 250_000 }, status: 200, check: (a) => expect(a.json).toMatchObject({ granted_micros: 250_000, budget: { granted_micros: 250_000, remaining_micros: 10_250_000 } }) };
    },
    invalid: { method: 'POST', path: '/api/budgets/acme/grant', body: { amount_micros: 0 }, field: 'amount_micros' },
  },
  moveBudget: {
    valid: async (s) => {
      await create(s, 'acme/m1');
      return { method: 'POST', path: '/api/budgets/acme%2Fm1/move', body: { parent: 'acme/research' }, status: 200, check: (a) => expect(a.json.budget).toMatchObject({ path: 'acme/research/m1' }) };
    },
    invalid: { method: 'POST', path: '/api/budgets/acme/move', body: { parent: 'a b' }, field: 'parent' },
  },
  resetBreaker: {
    valid: async (s) => {
      await create(s, 'acme/b1', { kind: 'agent', policy: { burn_limits: [{ amount_micros: 1_000, window_ms: 60_000 }] } });
      const first = await s.call('POST', '/api/reservations', { body: { budget: 'acme/b1', amount_micros: 600 } });
      expect(first.status, first.text).toBe(201);
      const tripped = await s.call<ErrorAnswer>('POST', '/api/reservations', { body: { budget: 'acme/b1', amount_micros: 600 } });
      expect([tripped.status, tripped.json.error.code, tripped.headers.get('retry-after')]).toEqual([429, 'burn_limit', '60']);
      return { method: 'POST', path: '/api/budgets/acme%2Fb1/reset-breaker', body: { reason: 'checked' }, status: 200, check: (a) => expect(a.json.budget).toMatchObject({ breaker: 'closed', tripped_until: null, burn: [{ amount_micros: 1_000, window_ms: 60_000, burn_micros: 0 }] }) };
    },
    invalid: { method: 'POST', path: '/api/budgets/acme/reset-breaker', body: { reason: 5 }, field: 'reason' },
  },
  listClosedPeriods: {
    valid: async () => ({ path: '/api/budgets/acme/periods', status: 200, check: (a) => expect(a.json).toEqual({ budget: 'acme', periods: [] }) }),
    invalid: { path: '/api/budgets/-bad/periods', field: 'path' },
  },
  setModelLimit: {
    valid: async () => ({ method: 'POST', path: '/api/budgets/acme%2Fresearch/model-limits', body: { model: 'gpt-4o*', limit_micros: 2_000_000, period: 'day' }, status: 200, check: (a) => expect(a.json).toMatchObject({ created: true, budget: { path: 'acme/research/model:gpt-4o*', kind: 'model' } }) }),
    invalid: { method: 'POST', path: '/api/budgets/acme/model-limits', body: { model: 'gpt-4o', limit_micros: -1 }, field: 'limit_micros' },
  },
  setTagLimit: {
    valid: async () => ({ method: 'POST', path: '/api/tags', body: { tag: 'product:chat-bot', limit_micros: 1_000_000 }, status: 200, check: (a) => expect(a.json).toMatchObject({ created: true, budget: { path: 'tags/product:chat-bot', kind: 'tag', period: 'month' } }) }),
    invalid: { method: 'POST', path: '/api/tags', body: { tag: 'no spaces', limit_micros: 1 }, field: 'tag' },
  },
  setProviderLimit: {
    valid: async () => ({ method: 'POST', path: '/api/providers', body: { provider: 'anthropic', limit_micros: 5_000_000, period: 'week' }, status: 200, check: (a) => expect(a.json).toMatchObject({ created: true, budget: { path: 'providers/anthropic', kind: 'provider', period: 'week' } }) }),
    invalid: { method: 'POST', path: '/api/providers', body: { provider: 'openai', limit_micros: 1, colour: 'red' }, field: 'colour' },
  },
  listTokens: {
    valid: async () => ({ path: '/api/tokens?budget=acme&status=active', status: 200, check: (a) => expect((a.json.tokens as unknown[]).length).toBeGreaterThan(0) }),
    invalid: { path: '/api/tokens?status=gone', field: 'status' },
  },
  mintToken: {
    valid: async () => ({
      method: 'POST',
      path: '/api/tokens',
      body: { budget: 'acme/research/bot', max_spend_micros: 2_000_000, models: ['gpt-4o'], expires_in_ms: 3_600_000, labels: { task: 't1' } },
      status: 201,
      check: (a) => {
        expect(a.json.token).toMatch(/^bsr_[A-Za-z0-9]{24}$/);
        expect(a.json).toMatchObject({ budget: expect.stringMatching(/^acme\/research\/bot\/tok_/) as unknown, scopes: [], labels: { task: 't1' } });
        expect(a.json).not.toHaveProperty('secret');
        expect(a.json.envelope).toMatchObject({ kind: 'envelope', limit_micros: 2_000_000, policy: { models: ['gpt-4o'] } });
        expect(a.headers.get('cache-control')).toBe('no-store');
      },
    }),
    invalid: { method: 'POST', path: '/api/tokens', body: { budget: 'acme/research/bot', scopes: ['admin'] }, field: 'scopes.0' },
  },
  getToken: {
    valid: async (s) => {
      const { id } = await mint(s);
      return { path: `/api/tokens/${id}`, status: 200, check: (a) => expect(a.json).toMatchObject({ token: { id, status: 'active' }, envelope: { kind: 'envelope' } }) };
    },
    invalid: { path: '/api/tokens/nope', field: 'id' },
  },
  revokeToken: {
    valid: async (s) => {
      const { id } = await mint(s);
      return { method: 'POST', path: `/api/tokens/${id}/revoke`, body: { reason: 'leaked' }, status: 200, check: (a) => expect(a.json).toEqual({ revoked: [id] }) };
    },
    invalid: { method: 'POST', path: '/api/tokens/tok_1/revoke', field: 'id' },
  },
  reserve: {
    valid: async () => ({ method: 'POST', path: '/api/reservations', body: { budget: 'acme/research/bot', amount_micros: 1_000, ttl_ms: 60_000, labels: { tool: 'search' } }, status: 201, check: (a) => expect(a.json).toMatchObject({ reservation: { status: 'open', amount_micros: 1_000, labels: { tool: 'search' } }, tightest: 'acme/research/bot' }) }),
    invalid: { method: 'POST', path: '/api/reservations', body: { budget: 'acme/research/bot', amount_micros: 1_000, ttl_ms: 5 }, field: 'ttl_ms' },
  },
  getReservation: {
    valid: async (s) => {
      const id = await reserve(s);
      return { path: `/api/reservations/${id}`, status: 200, check: (a) => expect(a.json.reservation).toMatchObject({ id, status: 'open' }) };
    },
    invalid: { path: '/api/reservations/x1', field: 'id' },
  },
  settle: {
    valid: async (s) => {
      const id = await reserve(s);
      return { method: 'POST', path: `/api/reservations/${id}/settle`, body: { actual_micros: 1_200, usage: { tokens_in: 100, tokens_out: 20 } }, status: 200, check: (a) => expect(a.json).toMatchObject({ reservation: { status: 'settled', actual_micros: 1_200 }, overrun_micros: 200, late_charge: false }) };
    },
    invalid: { method: 'POST', path: '/api/reservations/rsv_1/settle', body: { actual_micros: '900' }, field: 'actual_micros' },
  },
  voidReservation: {
    valid: async (s) => {
      const id = await reserve(s);
      return { method: 'POST', path: `/api/reservations/${id}/void`, status: 200, check: (a) => expect(a.json.reservation).toMatchObject({ status: 'voided' }) };
    },
    invalid: { method: 'POST', path: '/api/reservations/rsv_0/void', field: 'id' },
  },
  listLedger: {
    valid: async () => ({ path: '/api/ledger?budget=acme&kind=settle,reserve&limit=10&order=desc', status: 200, check: (a) => expect((a.json.entries as { kind: string }[]).every((e) => ['settle', 'reserve'].includes(e.kind))).toBe(true) }),
    invalid: { path: '/api/ledger?limit=0', field: 'limit' },
  },
  listAlerts: {
    valid: async (s) => {
      await create(s, 'acme/a1', { limit_micros: 1_000 });
      const held = await s.call('POST', '/api/reservations', { body: { budget: 'acme/a1', amount_micros: 600 } });
      expect(held.status, held.text).toBe(201);
      return { path: '/api/alerts?budget=acme%2Fa1&basis=committed&since=2000-01-01', status: 200, check: (a) => expect(a.json).toMatchObject({ alerts: [{ budget: 'acme/a1', threshold_pct: 50, basis: 'committed', value_micros: 600, limit_micros: 1_000, reserved_micros: 600 }], next_cursor: null }) };
    },
    invalid: { path: '/api/alerts?basis=forecast', field: 'basis' },
  },
  listRefusals: {
    valid: async (s) => {
      await create(s, 'acme/refused1', { kind: 'agent', limit_micros: 1_000 });
      const refused = await s.call('POST', '/api/reservations', { body: { budget: 'acme/refused1', amount_micros: 5_000, labels: { tool: 'Search' } } });
      expect(refused.status, refused.text).toBe(402);
      return { path: '/api/refusals?agent=refused1&code=budget_exceeded&since=2000-01-01', status: 200, check: (a) => expect(a.json).toMatchObject({ refusals: [{ code: 'budget_exceeded', status: 402, budget: 'acme/refused1', agent: 'acme/refused1', tool: 'Search', amount_micros: 5_000, count: 1 }], next_cursor: null }) };
    },
    invalid: { path: '/api/refusals?code=Budget%20Exceeded', field: 'code' },
  },
  usage: {
    valid: async () => ({ path: '/api/usage?group_by=model&since=2000-01-01', status: 200, check: (a) => expect(a.json).toMatchObject({ group_by: 'model', truncated: false }) }),
    invalid: { path: '/api/usage?group_by=planet', field: 'group_by' },
  },
  preflight: {
    valid: async () => ({ method: 'POST', path: '/api/preflight', body: { items: [{ title: 'digest', budget: 'acme/research/bot', model: 'gpt-4o-mini', input_tokens: 1_000, max_output_tokens: 500, count: 2 }] }, status: 200, check: (a) => expect(a.json).toMatchObject({ total_micros: 900, verdict: 'pass', proceed: true }) }),
    invalid: { method: 'POST', path: '/api/preflight', body: { items: [{ budget: 'acme/research/bot', model: 'gpt-4o-mini', input_tokens: 1_000, count: -1 }] }, field: 'items.0.count' },
  },
  forecast: {
    valid: async () => ({ path: '/api/forecast?budget=acme', status: 200, check: (a) => expect(a.json).toMatchObject({ truncated: false, budgets: expect.arrayContaining([expect.objectContaining({ budget: 'acme/research/bot' })]) as unknown }) }),
    invalid: { path: '/api/forecast?budget=a%20b', field: 'budget' },
  },
  listWebhooks: {
    valid: async (s) => {
      await webhook(s, 'https://example.com/listed');
      return { path: '/api/webhooks', status: 200, check: (a) => expect(a.json.webhooks).toEqual(expect.arrayContaining([expect.objectContaining({ url: 'https://example.com/listed', events: null })])) };
    },
    invalid: { path: '/api/webhooks?x=1', field: 'x' },
  },
  addWebhook: {
    valid: async () => ({ method: 'POST', path: '/api/webhooks', body: { url: 'https://example.com/added', events: ['alert'] }, status: 201, check: (a) => expect(a.json).toMatchObject({ webhook: { url: 'https://example.com/added', events: ['alert'] }, secret: expect.stringMatching(/^whsec_/) as unknown }) }),
    invalid: { method: 'POST', path: '/api/webhooks', body: { url: 'ftp://example.com/x' }, field: 'url' },
  },
  removeWebhook: {
    valid: async (s) => ({ method: 'DELETE', path: `/api/webhooks/${await webhook(s)}`, status: 200, check: (a) => expect(a.json).toMatchObject({ dropped_pending: 0 }) }),
    invalid: { method: 'DELETE', path: '/api/webhooks/nope', field: 'id' },
  },
  testWebhook: {
    // Port 1 is one fetch never connects to: the receiver's failure is reported, fast.
    valid: async (s) => ({ method: 'POST', path: `/api/webhooks/${await webhook(s, 'http://127.0.0.1:1/hook')}/test`, status: 200, check: (a) => expect(a.json).toMatchObject({ delivered: false, status: null }) }),
    invalid: { method: 'POST', path: '/api/webhooks/nope/test', field: 'id' },
  },
  listWebhookDeliveries: {
    valid: async (s) => ({ path: `/api/webhooks/${await webhook(s)}/deliveries?state=failed&limit=5`, status: 200, check: (a) => expect(a.json).toEqual({ deliveries: [] }) }),
    invalid: { path: '/api/webhooks/wh_AAAAAAAAAAAA/deliveries?state=lost', field: 'state' },
  },
  listSessions: {
    valid: async () => ({ path: '/api/sessions?last=5', status: 200, check: (a) => expect(a.json.sessions).toMatchObject([{ id: 's1' }]) }),
    invalid: { path: '/api/sessions?last=0', field: 'last' },
  },
  getSession: {
    valid: async () => ({ path: '/api/sessions/s1?limit=5', status: 200, check: (a) => expect(a.json.session).toMatchObject({ id: 's1', agents: ['acme/research/bot'] }) }),
    invalid: { path: '/api/sessions/s1?limit=abc', field: 'limit' },
  },
  whoami: {
    valid: async () => ({ path: '/api/me', status: 200, check: (a) => expect(a.json).toEqual({ role: 'viewer', key_id: expect.stringMatching(/^[0-9a-f]{8}$/) as unknown }) }),
    invalid: { path: '/api/me?role=admin', field: 'role' },
  },
  activity: {
    valid: async () => ({ path: '/api/activity?minutes=5', status: 200, check: (a) => expect(a.json).toMatchObject({ agents: [{ agent: 'acme/research/bot', session: { id: 's1' } }], burn: { minutes: 5, roots: [{ root: 'acme' }] }, truncated: false }) }),
    invalid: { path: '/api/activity?minutes=0', field: 'minutes' },
  },
  events: {
    valid: async () => ({ path: '/api/events', status: 200 }),
    invalid: { path: '/api/events?last_event_id=abc', field: 'last_event_id' },
    stream: true,
  },
  audit: {
    valid: async () => ({ path: '/api/audit', status: 200, check: (a) => expect(a.json).toMatchObject({ ok: true, problems: [] }) }),
    invalid: { path: '/api/audit?verbose=1', field: 'verbose' },
  },
  openapi: {
    valid: async () => ({ path: '/api/openapi.json', status: 200, check: (a) => expect(a.json.openapi).toBe('3.1.0') }),
    invalid: { path: '/api/openapi.json?format=yaml', field: 'format' },
  },
  healthz: {
    valid: async () => ({ path: '/healthz', status: 200, check: (a) => expect(a.json).toEqual({ ok: true, status: 'up' }) }),
    invalid: { path: '/healthz?x=1', field: 'x' },
  },
  readyz: {
    valid: async () => ({ path: '/readyz', status: 200, check: (a) => expect(a.json).toEqual({ ok: true, status: 'ready', store: 'sqlite' }) }),
    invalid: { path: '/readyz?x=1', field: 'x' },
  },
  metrics: {
    valid: async () => ({ path: '/metrics', status: 200, check: (a) => expect(a.text).toContain('# TYPE bursar_requests_total counter') }),
    invalid: { path: '/metrics?x=1', field: 'x' },
  },
};

/** A concrete URL for a route's path template (auth is checked before anything is looked up). */
function anyUrl(path: string): string {
  return path
    .replace('{path}', 'acme')
    .replace(/\/api\/tokens\/\{id\}/, '/api/tokens/tok_AAAAAAAAAAAA')
    .replace(/\/api\/reservations\/\{id\}/, '/api/reservations/rsv_1')
    .replace(/\/api\/sessions\/\{id\}/, '/api/sessions/s1')
    .replace(/\/api\/webhooks\/\{id\}/, '/api/webhooks/wh_AAAAAAAAAAAA');
}

describe('admin API routes', () => {
  let s: ApiServer;
  let spendSecret: string;

  beforeAll(async () => {
    s = await startApi();
    await create(s, 'acme', { kind: 'org', limit_micros: 100_000_000 });
    await create(s, 'acme/research', { kind: 'team', limit_micros: null, period: 'none' });
    await create(s, 'acme/research/bot', { kind: 'agent', limit_micros: 5_000_000 });
    spendSecret = (await mint(s)).secret;
    const id = await reserve(s, 2_000);
    await s.call('POST', `/api/reservations/${id}/settle`, { body: { actual_micros: 900, usage: { model: 'gpt-4o', tokens_in: 10, tokens_out: 5 } } });
  });
  afterAll(async () => s.close());

  it('has a sample for every registered route', () => {
    // Proves the table covers the registry: a new route without a sample fails here.
    expect(apiRoutes.map((r) => r.operationId).filter((id) => !samples[id])).toEqual([]);
  });

  for (const r of apiRoutes) {
    const sample = samples[r.operationId];
    if (!sample) continue;

    it(`${r.method} ${r.path} answers a valid call`, async () => {
      // Proves the route does what it says with good input, and its body matches its declared schema (checked by the server).
      if (sample.stream) {
        const res = await fetch(`${s.url}${anyUrl(r.path)}`, { headers: { authorization: `Bearer ${viewerKey}` } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        await res.body?.cancel();
        return;
      }
      const call = await sample.valid(s);
      const a = await s.call<Record<string, unknown>>(call.method ?? r.method, call.path, { body: call.body, key: r.access === 'admin' ? adminKey : viewerKey });
      expect(a.status, a.text).toBe(call.status);
      call.check?.(a);
    });

    it(`${r.method} ${r.path} refuses a bad field with a 400 naming it`, async () => {
      // Proves input validation: a stable code, the field, and a message that names it.
      const call = sample.invalid;
      const a = await s.call<ErrorAnswer>(call.method ?? r.method, call.path, { body: call.body });
      expect(a.status, a.text).toBe(400);
      expect(a.json.error.code).toBe('bad_request');
      expect(a.json.error.field).toBe(call.field);
      expect(a.json.error.message).toContain(call.field);
    });

    if (r.access === 'public') continue;

    it(`${r.method} ${r.path} refuses missing, unknown and spend-token credentials`, async () => {
      // Proves authentication comes first: 401 without a key, with an unknown key, and with a real spend token.
      const url = anyUrl(r.path);
      for (const key of [null, 'not-a-key-but-long-enough', spendSecret]) {
        const a = await s.call(r.method, url, { key });
        expect(a.status, `${String(key)}: ${a.text}`).toBe(401);
        expect(a.json.error.code).toBe('unauthorized');
        expect(a.headers.get('x-bursar-code')).toBe('unauthorized');
      }
      const spend = await s.call(r.method, url, { key: spendSecret });
      expect(spend.json.error.message).toMatch(/admin routes need an admin key/);
    });

    it(`${r.method} ${r.path} ${r.access === 'admin' ? 'refuses' : 'lets in'} a viewer key`, async () => {
      // Proves roles: a viewer key reads but every write (and the audit) answers 403 forbidden.
      if (sample.stream) return; // the valid call above already streams with a viewer key
      const a = await s.call(r.method, anyUrl(r.path), { key: viewerKey, body: r.method === 'GET' ? undefined : {} });
      if (r.access === 'admin') {
        expect(a.status, a.text).toBe(403);
        expect(a.json.error.code).toBe('forbidden');
      } else {
        expect([401, 403]).not.toContain(a.status);
      }
    });
  }
});
