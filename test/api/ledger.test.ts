import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerFields } from '../../src/contract/index.js';
import { parseCsv } from '../cli/cli-harness.js';
import { startApi, type ApiServer } from './api-harness.js';

interface Entry {
  seq: number;
  kind: string;
  budget: string;
  amount_micros: number;
  session: string | null;
  task: string | null;
  model: string | null;
  ts_ms: number;
}

interface Page {
  entries: Entry[];
  next_cursor: string | null;
}

interface UsageRow {
  key: string | null;
  cost_micros: number;
  calls: number;
  tokens_in: number;
  tokens_out: number;
}

interface Usage {
  rows: UsageRow[];
  totals: { cost_micros: number; calls: number };
  truncated: boolean;
}

const t0 = Date.UTC(2026, 2, 10, 9, 15); // 2026-03-10T09:15Z
const hourMs = 3_600_000;

/** Amounts that catch float rounding and thousands separators: 1 micro, under a dollar, huge. */
const amounts = [1, 999_999, 123_456_789_012, 5_000_000, 7];

describe('ledger, usage and sessions', () => {
  let s: ApiServer;
  const clock = { ms: t0, now: () => clock.ms };

  /** Reserves and settles `actual` through the API, at the clock's current time. */
  async function spend(budget: string, actual: number, labels: Record<string, string>, usage: Record<string, number | string> = {}): Promise<void> {
    const r = await s.call<{ reservation: { id: string } }>('POST', '/api/reservations', { body: { budget, amount_micros: actual, labels } });
    expect(r.status, r.text).toBe(201);
    const settled = await s.call('POST', `/api/reservations/${r.json.reservation.id}/settle`, { body: { actual_micros: actual, usage } });
    expect(settled.status, settled.text).toBe(200);
  }

  beforeAll(async () => {
    s = await startApi({ clock });
    for (const [path, kind] of [['acme', 'org'], ['acme/research', 'team'], ['acme/research/bot', 'agent'], ['acme/sales', 'team'], ['acme/sales/closer', 'agent']] as const) {
      // Agents spend far past the default burn limit here: it is turned off.
      const a = await s.call('POST', '/api/budgets', { body: { path, kind, policy: kind === 'agent' ? { inflight_max: 100, burn_limits: [] } : undefined } });
      expect(a.status, a.text).toBe(201);
    }
    const token = await s.call<{ budget: string }>('POST', '/api/tokens', { body: { budget: 'acme/research/bot' } });
    for (const [i, amount] of amounts.entries()) {
      clock.ms = t0 + i * hourMs;
      await spend(i % 2 === 0 ? token.json.budget : 'acme/sales/closer', amount, { session: i < 3 ? 'run-a' : 'run-b', task: `t${i}`, model: i % 2 === 0 ? 'gpt-4o' : 'claude-sonnet-4' }, { model: i % 2 === 0 ? 'gpt-4o' : 'claude-sonnet-4', tokens_in: 100 * (i + 1), tokens_out: 10 });
    }
    clock.ms = t0 + 30 * hourMs;
    await spend('acme/research/bot', 3, {});
  });
  afterAll(async () => s.close());

  it('pages through the ledger with cursors and returns each entry once', async () => {
    // Proves cursor paging: small pages, walked to the end, equal one big page, in order, both directions.
    const all = (await s.call<Page>('GET', '/api/ledger?limit=1000')).json.entries;
    expect(all.length).toBeGreaterThan(15);
    const walk = async (order: string) => {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page: Page = (await s.call<Page>('GET', `/api/ledger?limit=3&order=${order}${cursor ? `&cursor=${cursor}` : ''}`)).json;
        seen.push(...page.entries.map((e) => e.seq));
        cursor = page.next_cursor;
      } while (cursor !== null);
      return seen;
    };
    expect(await walk('asc')).toEqual(all.map((e) => e.seq));
    expect(await walk('desc')).toEqual(all.map((e) => e.seq).reverse());
  });

  it('filters by budget subtree, agent name, session, task, model, kind and time', async () => {
    // Proves every filter narrows as documented, including ISO and epoch-ms times and a bare agent name.
    const q = async (qs: string) => (await s.call<Page>('GET', `/api/ledger?limit=1000&${qs}`)).json.entries;
    expect((await q('budget=acme%2Fsales&kind=settle')).map((e) => e.amount_micros)).toEqual([999_999, 5_000_000]);
    expect((await q('agent=bot&kind=settle')).map((e) => e.amount_micros)).toEqual([1, 123_456_789_012, 7, 3]);
    expect((await q('session=run-b&kind=settle')).map((e) => e.task)).toEqual(['t3', 't4']);
    expect((await q('task=t2')).map((e) => e.kind)).toEqual(['reserve', 'settle']);
    expect((await q('model=claude-sonnet-4&kind=settle')).length).toBe(2);
    expect((await q('kind=reserve,settle')).every((e) => e.kind === 'reserve' || e.kind === 'settle')).toBe(true);
    const since = new Date(t0 + 2 * hourMs).toISOString();
    expect((await q(`kind=settle&since=${since}&until=${t0 + 4 * hourMs}`)).map((e) => e.task)).toEqual(['t2', 't3']);

    const both = await s.call('GET', '/api/ledger?budget=acme&agent=bot');
    expect(both.status).toBe(400);
    expect(both.json.error.field).toBe('agent');
    const notAgent = await s.call('GET', '/api/ledger?agent=acme%2Fsales');
    expect(notAgent.json.error).toMatchObject({ code: 'bad_request', field: 'agent' });
    const unknown = await s.call('GET', '/api/ledger?budget=acme%2Fnope');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: 'unknown_budget', field: 'budget' });
    const badKind = await s.call('GET', '/api/ledger?kind=settle,refund');
    expect(badKind.json.error.field).toBe('kind.1');
    const badTime = await s.call('GET', '/api/ledger?since=yesterday');
    expect(badTime.json.error.field).toBe('since');
  });

  it('exports CSV that round-trips every amount exactly, by format=csv or Accept: text/csv', async () => {
    // Proves the CSV export: RFC 4180, the CLI's columns, integer micros and six-decimal USD equal to the JSON ledger.
    const json = (await s.call<Page>('GET', '/api/ledger?limit=1000')).json.entries;
    for (const how of [{ path: '/api/ledger?format=csv' }, { path: '/api/ledger', headers: { accept: 'text/csv' } }]) {
      const a = await s.call('GET', how.path, { headers: how.headers });
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(a.headers.get('content-disposition')).toMatch(/attachment; filename="bursar-ledger\.csv"/);
      const [header, ...rows] = parseCsv(a.text);
      expect(header).toEqual([...ledgerFields]);
      expect(rows).toHaveLength(json.length);
      const col = (name: string) => ledgerFields.indexOf(name as (typeof ledgerFields)[number]);
      rows.forEach((row, i) => {
        const entry = json[i];
        expect(Number(row[col('seq')])).toBe(entry?.seq);
        expect(Number(row[col('amount_micros')])).toBe(entry?.amount_micros);
        const [whole, frac] = (row[col('amount_usd')] ?? '').split('.');
        expect(Number(whole) * 1_000_000 + Number(frac)).toBe(entry?.amount_micros);
        expect(row[col('budget')]).toBe(entry?.budget);
      });
    }
    const settled = parseCsv((await s.call('GET', '/api/ledger?format=csv&kind=settle&budget=acme')).text).slice(1);
    expect(settled.map((r) => Number(r[ledgerFields.indexOf('amount_micros')]))).toEqual([...amounts, 3]);
  });

  it('streams a CSV export across many pages', async () => {
    // Proves the export reads every page (more entries than one ledger page holds) without losing or repeating one.
    const reservations = await Promise.all(Array.from({ length: 1_100 }, () => s.store.reserve({ path: 'acme/sales', amountMicros: 1 })));
    expect(reservations.every((r) => r.ok)).toBe(true);
    const a = await s.call('GET', '/api/ledger?format=csv&kind=reserve');
    const rows = parseCsv(a.text).slice(1);
    const seqs = rows.map((r) => Number(r[0]));
    expect(seqs.length).toBeGreaterThan(1_100);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    await Promise.all(reservations.flatMap((r) => (r.ok ? [s.store.void({ reservationId: r.reservation.id })] : [])));
  });

  it('groups usage by budget, agent, session, model, hour and day', async () => {
    // Proves usage aggregation over settlements: exact sums, counts, and time buckets in a time zone.
    const usage = async (qs: string) => (await s.call<Usage>('GET', `/api/usage?${qs}`)).json;
    const byAgent = await usage('group_by=agent');
    expect(byAgent.rows.map((r) => [r.key, r.cost_micros, r.calls])).toEqual([
      ['acme/research/bot', 1 + 123_456_789_012 + 7 + 3, 4],
      ['acme/sales/closer', 999_999 + 5_000_000, 2],
    ]);
    expect(byAgent.totals.cost_micros).toBe(amounts.reduce((a, b) => a + b, 0) + 3);
    expect(byAgent.truncated).toBe(false);

    const bySession = await usage('group_by=session');
    expect(bySession.rows.map((r) => [r.key, r.cost_micros])).toEqual([
      ['run-a', 1 + 999_999 + 123_456_789_012],
      ['run-b', 5_000_000 + 7],
      [null, 3],
    ]);
    const byModel = await usage('group_by=model&budget=acme%2Fsales');
    expect(byModel.rows).toEqual([{ key: 'claude-sonnet-4', cost_micros: 5_999_999, calls: 2, tokens_in: 200 + 400, tokens_out: 20, tokens_cached: 0 }]);
    const byBudget = await usage('group_by=budget&budget=acme%2Fsales');
    expect(byBudget.rows.map((r) => r.key)).toEqual(['acme/sales/closer']);

    const byHour = await usage(`group_by=hour&since=${t0}&until=${t0 + 3 * hourMs}`);
    expect(byHour.rows.map((r) => [r.key, r.cost_micros])).toEqual([
      ['2026-03-10T09:00:00.000Z', 1],
      ['2026-03-10T10:00:00.000Z', 999_999],
      ['2026-03-10T11:00:00.000Z', 123_456_789_012],
    ]);
    const byDay = await usage('group_by=day&timezone=America%2FNew_York');
    expect(byDay.rows.map((r) => r.key)).toEqual(['2026-03-10T00:00:00.000-04:00', '2026-03-11T00:00:00.000-04:00']);
    const bad = await s.call('GET', '/api/usage?group_by=day&timezone=Mars%2FOlympus');
    expect(bad.json.error.field).toBe('timezone');
  });

  it('lists recent sessions with their spend, tokens and agents, and exports one as CSV', async () => {
    // Proves sessions: most recently active first, totals from their own entries, and a per-session entry list and CSV.
    const list = await s.call<{ sessions: { id: string; cost_micros: number; calls: number; tokens_in: number; agents: string[]; started_at: string; ended_at: string }[] }>('GET', '/api/sessions?last=10');
    expect(list.json.sessions.map((x) => x.id)).toEqual(['run-b', 'run-a']);
    const runA = list.json.sessions[1];
    expect(runA).toMatchObject({ cost_micros: 1 + 999_999 + 123_456_789_012, calls: 3, tokens_in: 100 + 200 + 300, agents: ['acme/research/bot', 'acme/sales/closer'] });
    expect(runA?.started_at).toBe(new Date(t0).toISOString());
    expect(runA?.ended_at).toBe(new Date(t0 + 2 * hourMs).toISOString());
    expect((await s.call<{ sessions: unknown[] }>('GET', '/api/sessions?last=1')).json.sessions).toHaveLength(1);

    const one = await s.call<{ session: { id: string }; entries: Entry[] }>('GET', '/api/sessions/run-b');
    expect(one.json.session.id).toBe('run-b');
    expect(one.json.entries.map((e) => e.kind)).toEqual(['reserve', 'settle', 'reserve', 'settle']);
    const csv = parseCsv((await s.call('GET', '/api/sessions/run-b?format=csv')).text);
    expect(csv.slice(1).map((r) => r[ledgerFields.indexOf('kind')])).toEqual(['reserve', 'settle', 'reserve', 'settle']);
    const missing = await s.call('GET', '/api/sessions/never');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'not_found', field: 'id' });
  });

  it('lists a budget\'s closed periods after its period rolls over', async () => {
    // Proves closed periods: a day budget that spent, read after midnight, shows the closed day's totals.
    clock.ms = Date.UTC(2026, 2, 20, 12);
    await s.call('POST', '/api/budgets', { body: { path: 'daily', limit_micros: 1_000_000, period: 'day' } });
    await spend('daily', 400_000, {});
    clock.ms = Date.UTC(2026, 2, 21, 1);
    await spend('daily', 1, {});
    const periods = await s.call<{ periods: { start: string; end: string; spent_micros: number }[] }>('GET', '/api/budgets/daily/periods');
    expect(periods.json.periods).toEqual([{ start: '2026-03-20T00:00:00.000Z', end: '2026-03-21T00:00:00.000Z', spent_micros: 400_000, granted_micros: 0, overrun_micros: 0 }]);
  });
});
