import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDb, type TempDb } from './cli-harness.js';

interface BudgetJson {
  path: string;
  kind: string;
  status: string;
  limit_micros: number | null;
  spent_micros: number;
  period: string;
  inflight: number;
  policy: { models?: string[]; inflight_max?: number; request_cap_micros?: number };
}

describe('bursar agents', () => {
  let t: TempDb;
  beforeEach(() => {
    t = tempDb();
  });
  afterEach(() => t.remove());

  it('creates, lists, updates, pauses and resumes an agent', async () => {
    // Proves the agent lifecycle end to end through the CLI: USD in, micros stored, table and JSON out.
    const created = await t.ok('agents', 'create', 'acme/research/market-researcher', '--budget-limit', '5.00', '--models', 'gpt-4o,claude-*', '--request-cap', '0.50', '--parents');
    expect(created.stdout).toContain('Created acme/research/market-researcher (agent, active): limit $5.00 per month');
    expect(created.stdout).toContain('also created acme (org), acme/research (team) without limits');

    const list = await t.ok('agents', 'list');
    const [header, row] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^PATH\s+STATUS\s+SPENT \/ LIMIT\s+USED\s+RESERVED\s+IN-FLIGHT\s+PERIOD$/);
    expect(row).toMatch(/^acme\/research\/market-researcher\s+active\s+\$0\.00 \/ \$5\.00\s+0%\s+\$0\.00\s+0\/4\s+month$/);

    await t.ok('agents', 'update', 'acme/research/market-researcher', '--budget-limit', '50.00', '--max-inflight', '8');
    const { agents } = await t.json<{ agents: BudgetJson[] }>('agents', 'list');
    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatchObject({ limit_micros: 50_000_000, period: 'month', policy: { models: ['gpt-4o', 'claude-*'], inflight_max: 8, request_cap_micros: 500_000 } });

    const paused = await t.ok('agents', 'pause', 'acme/research/market-researcher', '--reason', 'runaway loop');
    expect(paused.stdout).toContain('Paused acme/research/market-researcher (agent, paused)');
    expect((await t.ok('agents', 'list')).stdout).toMatch(/market-researcher\s+paused/);
    const resumed = await t.json<{ budget: BudgetJson }>('agents', 'resume', 'acme/research/market-researcher');
    expect(resumed.budget.status).toBe('active');
  });

  it('merges policy changes into the existing policy and removes a limit with --no-limit', async () => {
    // Proves update semantics: flags not given keep their values, --no-* flags remove them.
    await t.ok('agents', 'create', 'acme/bot', '--budget-limit', '1', '--models', 'gpt-4o', '--parents');
    const first = await t.json<{ budget: BudgetJson }>('agents', 'update', 'acme/bot', '--request-cap', '0.25');
    // The agent's default burn limit and loop limit stay as they were.
    const burn = { burn_limits: [{ amount_micros: 2_000_000, window_ms: 60_000 }], loop_limit: { repeats: 20, window_ms: 600_000 } };
    expect(first.budget.policy).toEqual({ models: ['gpt-4o'], inflight_max: 4, request_cap_micros: 250_000, ...burn });
    const second = await t.json<{ budget: BudgetJson }>('agents', 'update', 'acme/bot', '--no-models', '--no-limit');
    expect(second.budget.policy).toEqual({ inflight_max: 4, request_cap_micros: 250_000, ...burn });
    expect(second.budget.limit_micros).toBeNull();
  });

  it('refuses a missing parent with a hint to use --parents, and writes nothing', async () => {
    // Proves the parents rule: refused without --parents (exit 1, code parent_missing), nothing created.
    const refused = await t.cli('agents', 'create', 'acme/research/bot', '--budget-limit', '5');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^bursar: parent_missing: parent budget acme\/research does not exist; .*--parents to create acme \(org\), acme\/research \(team\)/);
    const tree = await t.json<{ budgets: unknown[] }>('budgets', 'tree');
    expect(tree.budgets).toEqual([]);
  });

  it('refuses, before creating parents, a policy the existing ancestors do not allow', async () => {
    // Proves --parents leaves nothing behind when the agent itself would be refused.
    await t.ok('budgets', 'create', 'acme', '--models', 'gpt-4o');
    const refused = await t.cli('agents', 'create', 'acme/research/bot', '--models', 'claude-*', '--parents');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('policy_widens');
    const { budgets } = await t.json<{ budgets: { path: string; children: unknown[] }[] }>('budgets', 'tree');
    expect(budgets.map((b) => b.path)).toEqual(['acme']);
    expect(budgets[0]?.children).toEqual([]);
  });

  it('finds an agent by its bare name, and refuses non-agents, unknown and ambiguous names', async () => {
    // Proves agent addressing: `agents update market-researcher` works when the name is unique, and is refused clearly otherwise.
    await t.ok('agents', 'create', 'acme/research/market-researcher', '--parents');
    await t.ok('agents', 'update', 'market-researcher', '--budget-limit', '5000');
    expect((await t.json<{ agents: BudgetJson[] }>('agents', 'list')).agents[0]?.limit_micros).toBe(5_000_000_000);

    const org = await t.cli('agents', 'pause', 'acme');
    expect([org.code, org.stderr]).toEqual([1, expect.stringMatching(/^bursar: not_an_agent: acme is a budget of kind org/)]);
    const unknown = await t.cli('agents', 'pause', 'nobody');
    expect([unknown.code, unknown.stderr]).toEqual([1, 'bursar: unknown_budget: no agent at nobody\n']);

    await t.ok('agents', 'create', 'acme/sales/market-researcher', '--parents');
    const ambiguous = await t.cli('agents', 'pause', 'market-researcher');
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain('ambiguous_name: 2 agents are named market-researcher');
  });
});
