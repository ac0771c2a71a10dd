import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callWorstCaseMicros } from '../../src/cli/demo-runaway.js';
import type { ForecastReport, PreflightReport } from '../../src/contract/index.js';
import { adminKey, startApi, type ApiServer } from '../api/api-harness.js';
import { fixedClock, repoRoot, runInProcess, spend, tempDb, type TempDb } from './cli-harness.js';

/**
 * `bursar preflight`, `bursar forecast` and `bursar usage --reservations`, run in this process on
 * real SQLite files: the case study's tree as `bursar demo` leaves it, the retrospective's
 * runaway plan, and the same commands through a server's admin API (--url).
 */

const runaway = join(repoRoot, 'docs/plans/runaway.json');
const review = join(repoRoot, 'docs/plans/review.json');

describe('bursar preflight on the tree bursar demo builds', () => {
  let dir: string;
  let db: string;
  const cli = (...args: string[]) => runInProcess(['--db', db, ...args]);
  const planFile = (name: string, plan: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof plan === 'string' ? plan : JSON.stringify(plan));
    return file;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bursar-preflight-'));
    db = join(dir, 'demo.db');
    const demo = await runInProcess(['--db', db, '--json', 'demo']);
    expect(demo.code, demo.stderr).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses the retrospective\'s runaway plan with ✗ and exit 1, even with --yes', async () => {
    const run = await cli('preflight', '--plan', runaway);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Pre-flight: TrafficControl backlog, 03:00 start');
    expect(run.stdout).toContain('Estimated $96.60 at most for 420 calls, 15 at once');
    expect(run.stdout).toContain('  ✗ budget availability: the plan needs $96.60 on dennis/tech-talent/test-writer, which has $50.00 left this period\n');
    expect(run.stdout).toContain('  ✗ in flight: 15 calls at once through dennis/tech-talent/test-writer, which allows 4 in flight (0 open now): 11 would be refused with too_many_inflight; lower the concurrency to 4\n');
    expect(run.stdout).toContain('  ⚠ test-like titles: 4 titles look like test data');
    expect(run.stdout).toContain('  ⚠ queue size: 420 calls in 4 items: more than 100');
    // Budgets with burn limits fail a third check (15 calls at once); the two above fail on any tree.
    expect(run.stdout).toMatch(/✗ Not cleared: [23] checks failed\./);
    expect(run.stderr).toMatch(/^bursar: preflight_failed: [23] check\(s\) failed; the plan is not cleared\n$/);
    const confirmed = await cli('--json', 'preflight', '--plan', runaway, '--yes');
    expect(confirmed.code).toBe(1);
    expect(JSON.parse(confirmed.stdout)).toMatchObject({ verdict: 'fail', confirmed: true, proceed: false });
  });

  it('clears the nightly review plan with exit 0', async () => {
    const run = await cli('preflight', '--plan', review);
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toContain('  ✓ budget availability: every budget can take it; the tightest, dennis/tech-talent/code-reviewer, keeps $');
    expect(run.stdout.trimEnd().endsWith('✓ Cleared.')).toBe(true);
  });

  it('refuses an estimate above the confirmation threshold until --yes, at the threshold it is given', async () => {
    const file = planFile('big.json', { items: [{ title: 'Re-review the backlog', budget: 'dennis/tech-talent/code-reviewer', model: 'gpt-4o', input_tokens: 10_000, max_output_tokens: 4_000, count: 200 }] });
    const asked = await cli('preflight', '--plan', file);
    expect(asked.code).toBe(1);
    expect(asked.stdout).toContain('⚠ Not cleared: the estimate ($13.00) is above $10.00. Run again with --yes to confirm it.');
    expect(asked.stderr).toBe('bursar: confirmation_required: the estimate $13.00 is above $10.00; run again with --yes to confirm\n');
    const yes = await cli('preflight', '--plan', file, '--yes');
    expect([yes.code, yes.stderr]).toEqual([0, '']);
    expect(yes.stdout).toContain('✓ confirmation: estimated $13.00, above $10.00: confirmed');
    expect((await cli('preflight', '--plan', file, '--confirm-over', '20')).code).toBe(0);
    expect((await runInProcess(['--db', db, 'preflight', '--plan', file], { BURSAR_PREFLIGHT_CONFIRM_OVER: '20.00' })).code).toBe(0);
    expect((await cli('preflight', '--plan', file, '--yes', '--queue-max', '150')).code).toBe(1);
  });

  it('names what is wrong with a bad plan (exit 2) and an unknown budget (exit 1)', async () => {
    const item = { budget: 'dennis/tech-talent/code-reviewer', model: 'gpt-4o-mini', input_tokens: 100 };
    const cases: [string, unknown, number, (file: string) => string][] = [
      ['unknown.json', { items: [{ ...item, colour: 'red' }] }, 2, (f) => `bursar: invalid_plan: ${f}: unknown field items.0.colour\n`],
      ['negative.json', [item, { ...item, count: -1 }], 2, (f) => `bursar: invalid_plan: ${f}: items.1.count: must be a whole number from 1 to 1000000\n`],
      ['model.json', [{ ...item, model: 'gpt-4o-mimi' }], 2, () => 'bursar: bad_request: items.0.model: model "gpt-4o-mimi" has no price in the catalog, so its cost cannot be bounded; did you mean gpt-4o-mini?\n'],
      ['budget.json', [{ ...item, budget: 'dennis/tech-talent/code-reviewr' }], 1, () => 'bursar: unknown_budget: items.0.budget: no budget at dennis/tech-talent/code-reviewr; did you mean dennis/tech-talent/code-reviewer?\n'],
    ];
    for (const [name, plan, code, line] of cases) {
      const file = planFile(name, plan);
      const run = await cli('preflight', '--plan', file);
      expect([run.code, run.stdout, run.stderr], name).toEqual([code, '', line(file)]);
    }
    const broken = await cli('preflight', '--plan', planFile('broken.json', '{"items": ['));
    expect([broken.code, broken.stderr.startsWith(`bursar: invalid_plan: --plan: ${join(dir, 'broken.json')} is not valid JSON (`)]).toEqual([2, true]);
    const missing = await cli('--json', 'preflight', '--plan', join(dir, 'nope.json'));
    expect([missing.code, JSON.parse(missing.stderr)]).toEqual([2, { ok: false, code: 'invalid_plan', message: `--plan: cannot read ${join(dir, 'nope.json')} (ENOENT)`, field: '--plan' }]);
  });

  it('reports the gateway\'s reservations of the demo: one settlement each, at the share of the worst case the mock used', async () => {
    const report = JSON.parse((await cli('--json', 'usage', '--by', 'agent', '--reservations')).stdout) as { reservations: { rows: { key: string; model: string; reservations: number; settled: number; reserve_to_settle: number; estimate_accuracy: number }[] } };
    const researcher = report.reservations.rows.find((r) => r.key === 'dennis/marketing-talent/market-researcher');
    const worst = callWorstCaseMicros();
    // The mock writes 12,000 of the 16,000 output tokens each call asks for: 4,000 fewer at $10 per million.
    expect(researcher).toMatchObject({ model: 'gpt-4o', reserve_to_settle: 1, estimate_accuracy: Math.round(((worst - 40_000) / worst) * 1_000) / 1_000 });
    expect(researcher?.reservations).toBe(researcher?.settled);
    const human = await cli('usage', '--by', 'agent', '--reservations');
    expect(human.stdout).toMatch(/dennis\/marketing-talent\/market-researcher +gpt-4o +\d+ +\d+ +0 +0 +0 +1\.00 +0\.75/);
  });
});

describe('bursar preflight, forecast and usage through a server (--url)', () => {
  let t: TempDb;
  let server: ApiServer;
  const env = () => ({ BURSAR_URL: server.url, BURSAR_ADMIN_KEY: adminKey });

  beforeAll(async () => {
    t = tempDb();
    const hour = 3_600_000;
    const nowMs = Date.now();
    // The budgets and spend are written on clocks set in the past (a store never writes behind its last entry).
    const setup = t.store(fixedClock(nowMs - 24 * hour));
    await setup.createBudget({ path: 'acme', kind: 'org', limitMicros: null, period: 'none' });
    await setup.createBudget({ path: 'acme/research', kind: 'team', limitMicros: null, period: 'none' });
    // A plain budget: an agent may get a default burn limit smaller than the $4 spent below.
    await setup.createBudget({ path: 'acme/research/bot', kind: 'budget', limitMicros: 50_000_000, period: 'none' });
    await setup.close();
    for (const [ageMs, micros] of [[23 * hour, 4_000_000], [50 * 60_000, 2_000_000], [3 * 60_000, 1_000_000]] as const) {
      const store = t.store(fixedClock(nowMs - ageMs));
      await spend(store, 'acme/research/bot', micros, { model: 'gpt-4o' });
      await store.close();
    }
    server = await startApi({ db: t.db });
  });
  afterAll(async () => {
    await server.close();
    t.remove();
  });

  it('prints the same pre-flight on a server as on the local file', async () => {
    const local = await t.cli('preflight', '--plan', join(repoRoot, 'docs/plans/review.json'));
    const plan = JSON.stringify({ items: [{ title: 'Summarise filings', budget: 'acme/research/bot', model: 'gpt-4o-mini', input_tokens: 12_000, max_output_tokens: 1_000, count: 60 }] });
    writeFileSync(join(t.dir, 'plan.json'), plan);
    const here = await t.cli('--json', 'preflight', '--plan', join(t.dir, 'plan.json'));
    const there = await runInProcess(['--json', 'preflight', '--plan', join(t.dir, 'plan.json')], env());
    expect([there.code, there.stderr]).toEqual([0, '']);
    expect(JSON.parse(there.stdout)).toEqual(JSON.parse(here.stdout) as PreflightReport);
    const remoteMissing = await runInProcess(['preflight', '--plan', join(repoRoot, 'docs/plans/review.json')], env());
    expect([remoteMissing.code, remoteMissing.stderr]).toEqual([local.code, local.stderr]);
    const pricing = await runInProcess(['preflight', '--plan', join(t.dir, 'plan.json'), '--pricing', join(t.dir, 'prices.json')], env());
    expect([pricing.code, pricing.stderr]).toEqual([2, 'bursar: usage: --pricing prices a plan on a local ledger; a server (--url) prices with its own catalog\n']);
  });

  it('forecasts burn rates and run-out times, locally and through the server alike', async () => {
    const here = JSON.parse((await t.cli('--json', 'forecast')).stdout) as ForecastReport;
    const there = JSON.parse((await runInProcess(['--json', 'forecast'], env())).stdout) as ForecastReport;
    for (const report of [here, there]) {
      const bot = report.budgets.find((b) => b.budget === 'acme/research/bot');
      expect(bot?.windows.map((w) => [w.window, w.spent_micros, w.outlook])).toEqual([
        ['5m', 1_000_000, 'runs_out'],
        ['1h', 3_000_000, 'runs_out'],
        ['24h', 7_000_000, 'runs_out'],
      ]);
      // $43 left at $1 per 5 minutes.
      expect(Date.parse(bot?.windows[0]?.runs_out_at ?? '') - Date.parse(report.now)).toBe(215 * 60_000);
    }
    const human = await runInProcess(['forecast', '--budget', 'acme/research'], env());
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^acme\/research\/bot +\$43\.00 +\$12\.00\/h +\$3\.00\/h +\$0\.29\/h +in 3h 35m +in 14h 20m +in 6d 3h$/m);
    expect(human.stdout).not.toContain('acme  ');
    const unknown = await runInProcess(['forecast', '--budget', 'acme/nope'], env());
    expect([unknown.code, unknown.stderr]).toEqual([1, 'bursar: unknown_budget: no budget at acme/nope\n']);
  });

  it('reports usage with the reserve-to-settle ratio the same way on both', async () => {
    const here = await t.cli('usage', '--by', 'budget', '--reservations');
    const there = await runInProcess(['usage', '--by', 'budget', '--reservations'], env());
    expect([there.code, there.stderr]).toEqual([0, '']);
    expect(there.stdout).toBe(here.stdout);
    // Each spend reserved 1,000 micros more than it cost.
    expect(here.stdout).toMatch(/acme\/research\/bot +gpt-4o +3 +3 +0 +0 +0 +1\.00 +1\.00/);
    const json = JSON.parse((await t.cli('--json', 'usage', '--reservations')).stdout) as { reservations: { totals: Record<string, number> } };
    expect(json.reservations.totals).toMatchObject({ reservations: 3, settled: 3, settled_reserved_micros: 7_003_000, settled_actual_micros: 7_000_000 });
  });
});
