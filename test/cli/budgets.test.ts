import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spend, tempDb, type TempDb } from './cli-harness.js';

interface BudgetJson {
  path: string;
  kind: string;
  status: string;
  limit_micros: number | null;
  granted_micros: number;
  spent_micros: number;
  reserved_micros: number;
  remaining_micros: number | null;
  used_pct: number | null;
}

interface TreeNode extends BudgetJson {
  children: TreeNode[];
}

async function seedTree(t: TempDb): Promise<void> {
  await t.ok('budgets', 'create', 'acme', '--budget-limit', '100');
  await t.ok('budgets', 'create', 'acme/research', '--budget-limit', '10');
  await t.ok('agents', 'create', 'acme/research/bot', '--budget-limit', '5.00', '--burn-limit', 'none');
  await t.ok('budgets', 'create', 'acme/sales');
}

describe('bursar budgets', () => {
  let t: TempDb;
  beforeEach(() => {
    t = tempDb();
  });
  afterEach(() => t.remove());

  it('draws the tree with spent, reserved, limit, a usage bar and status', async () => {
    // Proves the tree view: indentation, amounts from real spend, bars rounded down, and status markers.
    await seedTree(t);
    const store = t.store();
    await spend(store, 'acme/research/bot', 2_600_000, { model: 'gpt-4o' });
    await store.close();
    await t.ok('budgets', 'pause', 'acme/sales');

    const lines = (await t.ok('budgets', 'tree')).stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^BUDGET\s+KIND\s+SPENT\s+RESERVED\s+LIMIT\s+USED\s+STATUS$/);
    expect(lines[1]).toMatch(/^acme\s+org\s+\$2\.60\s+\$0\.00\s+\$100\.00\/month\s+░{10}\s+2%\s+active$/);
    expect(lines[2]).toMatch(/^├─ research\s+team\s+\$2\.60\s+\$0\.00\s+\$10\.00\/month\s+██░{8}\s+26%\s+active$/);
    expect(lines[3]).toMatch(/^│ {2}└─ bot\s+agent\s+\$2\.60\s+\$0\.00\s+\$5\.00\/month\s+█████░{5}\s+52%\s+active$/);
    expect(lines[4]).toMatch(/^└─ sales\s+team\s+\$0\.00\s+\$0\.00\s+-\s+\(no limit\)\s+PAUSED$/);

    const { budgets } = await t.json<{ budgets: TreeNode[] }>('budgets', 'tree');
    const bot = budgets[0]?.children[0]?.children[0];
    expect(bot).toMatchObject({ path: 'acme/research/bot', spent_micros: 2_600_000, limit_micros: 5_000_000, used_pct: 52 });
  });

  it('shows the chain with what each level can still spend and which level binds', async () => {
    // Proves `budgets show`: every ancestor listed root first with its remaining, the tightest one named.
    await seedTree(t);
    const store = t.store();
    await spend(store, 'acme/research/bot', 1_000_000);
    await store.close();
    await t.ok('budgets', 'update', 'acme/research', '--budget-limit', '3');
    const shown = await t.ok('budgets', 'show', 'acme/research/bot');
    expect(shown.stdout).toMatch(/^acme\s+org\s+active\s+\$100\.00\s+-\s+\$1\.00\s+\$0\.00\s+\$99\.00/m);
    expect(shown.stdout).toMatch(/^acme\/research \*\s+team\s+active\s+\$3\.00\s+-\s+\$1\.00\s+\$0\.00\s+\$2\.00/m);
    expect(shown.stdout).toContain('acme/research/bot can spend $2.00 more this period (* the tightest level: acme/research)');
    const json = await t.json<{ chain: BudgetJson[]; remaining_micros: number; tightest: string }>('budgets', 'show', 'acme/research/bot');
    expect(json.chain.map((b) => [b.path, b.remaining_micros])).toEqual([
      ['acme', 99_000_000],
      ['acme/research', 2_000_000],
      ['acme/research/bot', 4_000_000],
    ]);
    expect([json.remaining_micros, json.tightest]).toEqual([2_000_000, 'acme/research']);
  });

  it('grants a top-up for the current period and refuses one on a budget without a limit', async () => {
    // Proves grant: USD amount added exactly to the allowance; unlimited budgets refuse with a code.
    await seedTree(t);
    const granted = await t.json<{ budget: BudgetJson; granted_micros: number }>('budgets', 'grant', 'acme/research/bot', '2.000001', '--reason', 'q4, "push"');
    expect(granted.granted_micros).toBe(2_000_001);
    expect(granted.budget).toMatchObject({ granted_micros: 2_000_001, remaining_micros: 7_000_001 });
    const human = await t.ok('budgets', 'grant', 'acme/research/bot', '1');
    expect(human.stdout).toContain('Granted $1.00 to acme/research/bot');
    const refused = await t.cli('budgets', 'grant', 'acme/sales', '1');
    expect([refused.code, refused.stderr]).toEqual([1, 'bursar: budget_unlimited: budget acme/sales has no limit to top up; set one first\n']);
  });

  it('moves a budget, refuses a cycle with tree_cycle, and makes a root with --root', async () => {
    // Proves move: subtree paths follow the move; moving under itself is refused; usage needs --to or --root.
    await seedTree(t);
    const cycle = await t.cli('budgets', 'move', 'acme/research', '--to', 'acme/research/bot');
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toMatch(/^bursar: tree_cycle: cannot move acme\/research under acme\/research\/bot/);
    const cycleJson = await t.cli('--json', 'budgets', 'move', 'acme', '--to', 'acme/sales');
    expect(JSON.parse(cycleJson.stderr)).toMatchObject({ ok: false, code: 'tree_cycle' });

    const moved = await t.json<{ budget: BudgetJson }>('budgets', 'move', 'acme/research', '--to', 'acme/sales');
    expect(moved.budget.path).toBe('acme/sales/research');
    await t.ok('budgets', 'show', 'acme/sales/research/bot');
    const root = await t.json<{ budget: BudgetJson }>('budgets', 'move', 'acme/sales/research', '--root');
    expect(root.budget.path).toBe('research');

    const neither = await t.cli('budgets', 'move', 'research');
    expect([neither.code, neither.stderr]).toEqual([2, 'bursar: usage: say where to move it: --to <parent> or --root\n']);
  });

  it('creates orgs and teams by depth, closes a budget for good', async () => {
    // Proves kind defaults of `budgets create` and that a closed budget refuses new children.
    const org = await t.json<{ budget: BudgetJson }>('budgets', 'create', 'acme', '--budget-limit', '1000.00');
    const team = await t.json<{ budget: BudgetJson }>('budgets', 'create', 'acme/research');
    const pool = await t.json<{ budget: BudgetJson }>('budgets', 'create', 'acme/research/pool', '--kind', 'budget');
    expect([org.budget.kind, team.budget.kind, pool.budget.kind]).toEqual(['org', 'team', 'budget']);
    const closed = await t.ok('budgets', 'close', 'acme/research/pool');
    expect(closed.stdout).toContain('Closed acme/research/pool (budget, closed)');
    const refused = await t.cli('agents', 'create', 'acme/research/pool/bot');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('budget_closed');
  });
});
