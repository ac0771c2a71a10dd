import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startApi, viewerKey, type ApiServer } from './api-harness.js';

/**
 * GET /api/activity and GET /api/me: what the dashboard reads besides budgets and the ledger,
 * on a real SQLite file with a simulated clock.
 */

const dayMs = 86_400_000;
const t0 = Date.UTC(2026, 0, 15, 10, 0, 30);

interface ActivityAnswer {
  head_seq: number;
  now: string;
  agents: { agent: string; last_request_at: string | null; recent_costs_micros: number[]; session: { id: string; cost_micros: number; calls: number; tokens_in: number; tokens_out: number } | null; period: { cost_micros: number; calls: number; tokens_in: number; tokens_out: number } }[];
  burn: { start: string; minutes: number; roots: { root: string; cost_micros: number[] }[] };
  truncated: boolean;
}

describe('GET /api/activity', () => {
  let s: ApiServer;
  let nowMs = t0 - dayMs;

  async function spend(budget: string, actualMicros: number, session?: string): Promise<void> {
    const r = await s.call<{ reservation: { id: string } }>('POST', '/api/reservations', { body: { budget, amount_micros: 100_000, labels: session ? { session } : {} } });
    expect(r.status, r.text).toBe(201);
    const settled = await s.call('POST', `/api/reservations/${r.json.reservation.id}/settle`, { body: { actual_micros: actualMicros, usage: { tokens_in: 100, tokens_out: 10 } } });
    expect(settled.status, settled.text).toBe(200);
  }

  beforeAll(async () => {
    s = await startApi({ clock: { now: () => nowMs } });
    const budgets = [
      { path: 'acme', kind: 'org', limit_micros: 100_000_000, period: 'month' },
      { path: 'acme/t', kind: 'team', limit_micros: null },
      { path: 'acme/t/a', kind: 'agent', limit_micros: 10_000_000, period: 'day' },
      { path: 'acme/t/b', kind: 'agent', limit_micros: 10_000_000, period: 'month' },
      { path: 'globex', kind: 'org', limit_micros: null },
      { path: 'globex/x', kind: 'agent', limit_micros: null },
    ];
    for (const b of budgets) expect((await s.call('POST', '/api/budgets', { body: b })).status).toBe(201);
    await spend('acme/t/a', 5_000, 'old'); // yesterday: outside a's day period and the burn window
    nowMs = t0 - 30 * 60_000;
    await spend('globex/x', 500);
    nowMs = t0;
    for (let i = 1; i <= 12; i += 1) await spend('acme/t/a', i * 1_000, i <= 10 ? 's1' : 's2');
    await spend('acme/t/b', 7_000);
  });
  afterAll(async () => s.close());

  it('gives each agent its last request, last 10 costs, current session and period totals', async () => {
    // Proves the per-agent figures: the newest settlement picks the session, the trend keeps 10 costs oldest first, the period starts at the agent's own boundary.
    const a = await s.call<ActivityAnswer>('GET', '/api/activity', { key: viewerKey });
    expect(a.status, a.text).toBe(200);
    expect(a.json.agents.map((x) => x.agent)).toEqual(['acme/t/a', 'acme/t/b', 'globex/x']);
    const [agentA, agentB, agentX] = a.json.agents;
    expect(agentA).toEqual({
      agent: 'acme/t/a',
      last_request_at: new Date(t0).toISOString(),
      recent_costs_micros: [3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000, 10_000, 11_000, 12_000],
      session: { id: 's2', cost_micros: 23_000, calls: 2, tokens_in: 200, tokens_out: 20, tokens_cached: 0 },
      period: { cost_micros: 78_000, calls: 12, tokens_in: 1_200, tokens_out: 120, tokens_cached: 0 },
    });
    expect(agentB?.session).toBeNull();
    expect(agentB?.recent_costs_micros).toEqual([7_000]);
    expect(agentX?.period.cost_micros).toBe(500);
  });

  it('sums spend per minute per org over the window, oldest minute first', async () => {
    // Proves the burn series: each org's settlements land in their minute; older ones fall outside.
    const a = await s.call<ActivityAnswer>('GET', '/api/activity?minutes=60');
    expect(a.json.burn.minutes).toBe(60);
    expect(Date.parse(a.json.burn.start)).toBe(Math.floor(t0 / 60_000) * 60_000 - 59 * 60_000);
    const acme = a.json.burn.roots.find((r) => r.root === 'acme')?.cost_micros ?? [];
    const globex = a.json.burn.roots.find((r) => r.root === 'globex')?.cost_micros ?? [];
    expect(acme).toHaveLength(60);
    expect(acme[59]).toBe(78_000 + 7_000);
    expect(acme.slice(0, 59).every((m) => m === 0)).toBe(true);
    expect(globex[29]).toBe(500);
    expect(globex.reduce((x, y) => x + y, 0)).toBe(500);
  });

  it('names the newest entry it covers, so a live client resumes the event stream after it', async () => {
    // Proves head_seq is the ledger's head at the time of the report.
    const a = await s.call<ActivityAnswer>('GET', '/api/activity');
    const head = await s.call<{ entries: { seq: number }[] }>('GET', '/api/ledger?order=desc&limit=1');
    expect(a.json.head_seq).toBe(head.json.entries[0]?.seq);
    expect(a.json.now).toBe(new Date(t0).toISOString());
  });
});

describe('GET /api/me', () => {
  let s: ApiServer;
  beforeAll(async () => {
    s = await startApi();
  });
  afterAll(async () => s.close());

  it('tells an admin key from a viewer key, and refuses no key', async () => {
    // Proves the dashboard can show exactly the controls a key may use.
    expect((await s.call<{ role: string }>('GET', '/api/me', { key: adminKey })).json.role).toBe('admin');
    expect((await s.call<{ role: string }>('GET', '/api/me', { key: viewerKey })).json.role).toBe('viewer');
    expect((await s.call('GET', '/api/me', { key: null })).status).toBe(401);
  });
});
