import { Option, type Command } from 'commander';
import type { BudgetKind, BudgetView } from '../core/index.js';
import { type BudgetFlags, createFromFlags, emitBudget, findBudget, parentKindAt, updateFromFlags } from './budget-ops.js';
import { addBudgetOptions } from './budget-options.js';
import type { CliContext } from './context.js';
import { unwrap, usageError } from './errors.js';
import { isoSeconds, table, usageBar, usd } from './output.js';
import { parsePathArg, parseUsdArg } from './parse.js';
import { showBudget } from './budget-show.js';
import { treeLines, treeJson } from './budget-tree.js';
import { registerModelLimit } from './scoped.js';

const createHelp = `
Without --kind, a budget at the first level is an org, at the second a team, deeper a plain
budget. With a limit and no --period the period is "month". Missing parents are refused;
--parents creates them without limits (org, team, then plain budgets).
Agents are created with "bursar agents create"; envelopes by minting spend tokens.

Example:
  bursar budgets create acme --budget-limit 1000.00
  bursar budgets create acme/research --budget-limit 200.00 --period week`;

/**
 * Adds `bursar budgets create|show|update|grant|pause|resume|close|move|tree|reset-breaker|limit-model`: any budget of
 * the tree, whatever its kind.
 *
 * @example
 * registerBudgets(program, context);
 */
export function registerBudgets(program: Command, context: CliContext): void {
  const budgets = program.command('budgets').description('the budget tree: create, show, grant, close, move, tree, reset-breaker, limit-model');
  registerCreate(budgets, context);

  budgets
    .command('show')
    .description('a budget and every budget above it, with what each can still take')
    .argument('<path>', 'budget path', parsePathArg('path'))
    .action((path: string) => showBudget(context, path));

  const update = budgets.command('update').description('change a budget\'s limit, period or policy (policy flags merge into its existing policy)').argument('<path>', 'budget path', parsePathArg('path'));
  addBudgetOptions(update, 'update', '50.00');
  update.option('--reason <text>', 'why, recorded in the ledger').action((path: string, flags: BudgetFlags) => updateBudget(context, path, flags));

  budgets
    .command('grant')
    .description('top up a budget for its current period (the extra allowance ends with the period)')
    .argument('<path>', 'budget path', parsePathArg('path'))
    .argument('<usd>', 'amount in USD, e.g. 2.50', parseUsdArg('amount', { positive: true }))
    .option('--reason <text>', 'why, recorded in the ledger')
    .action((path: string, amountMicros: number, flags: { reason?: string }) => grantBudget(context, path, amountMicros, flags.reason));

  for (const [name, status, description] of [
    ['pause', 'paused', 'pause a budget: everything under it is refused new reservations until resumed'],
    ['resume', 'active', 'resume a paused budget'],
    ['close', 'closed', 'close a budget for good: it takes no new reservations and cannot be reopened'],
  ] as const) {
    budgets
      .command(name)
      .description(description)
      .argument('<path>', 'budget path', parsePathArg('path'))
      .option('--reason <text>', 'why, recorded in the ledger')
      .action((path: string, flags: { reason?: string }) => setBudgetStatus(context, path, status, flags.reason));
  }

  budgets
    .command('reset-breaker')
    .description('close a budget\'s tripped burn-limit breaker by hand and empty its burn windows')
    .argument('<path>', 'budget path', parsePathArg('path'))
    .option('--reason <text>', 'why, recorded in the ledger')
    .action((path: string, flags: { reason?: string }) => resetBreaker(context, path, flags.reason));

  budgets
    .command('move')
    .description('move a budget, with everything under it, to a new parent (refused while it holds reservations)')
    .argument('<path>', 'budget path', parsePathArg('path'))
    .addOption(new Option('--to <parent>', 'new parent path').argParser(parsePathArg('--to')).conflicts('root'))
    .option('--root', 'make it a root budget')
    .option('--reason <text>', 'why, recorded in the ledger')
    .action((path: string, flags: { to?: string; root?: boolean; reason?: string }) => moveBudget(context, path, flags));

  registerModelLimit(budgets, context);

  budgets
    .command('tree')
    .description('the budget tree with spent, reserved and limit, a usage bar and status')
    .argument('[path]', 'show only this budget and what is under it', parsePathArg('path'))
    .action((path: string | undefined) => showTree(context, path));
}

function registerCreate(budgets: Command, context: CliContext): void {
  const create = budgets.command('create').description('create a budget (org, team or plain budget)').argument('<path>', 'budget path, e.g. acme/research', parsePathArg('path'));
  create.addOption(new Option('--kind <kind>', 'kind of budget (default: org at the first level, team at the second, else budget)').choices(['org', 'team', 'budget']));
  addBudgetOptions(create, 'create', '1000.00');
  create
    .option('--parents', 'create missing parents (org, team, then plain budgets) without limits')
    .option('--reason <text>', 'why, recorded in the ledger')
    .addHelpText('after', createHelp)
    .action((path: string, flags: BudgetFlags & { kind?: BudgetKind }) => createFromFlags(context, path, flags.kind ?? parentKindAt(path.split('/').length), flags));
}

async function updateBudget(context: CliContext, path: string, flags: BudgetFlags): Promise<void> {
  const input = updateFromFlags(path, flags);
  const backend = await context.backend('write');
  const { budget } = unwrap(await backend.updateBudget(input));
  await emitBudget(context, 'Updated', budget);
}

async function grantBudget(context: CliContext, path: string, amountMicros: number, reason: string | undefined): Promise<void> {
  const backend = await context.backend('write');
  const { budget } = unwrap(await backend.grant({ path, amountMicros, reason }));
  const until = budget.periodEndMs === null ? 'for good (the budget has no period)' : `until the period ends at ${isoSeconds(budget.periodEndMs)}`;
  await emitBudget(context, `Granted ${usd(amountMicros)} to`, budget, {
    lines: [`  ${until}; remaining now ${usd(budget.remainingMicros)}`],
    json: { granted_micros: amountMicros },
  });
}

async function setBudgetStatus(context: CliContext, path: string, status: 'active' | 'paused' | 'closed', reason: string | undefined): Promise<void> {
  const backend = await context.backend('write');
  const { budget } = unwrap(await backend.setStatus({ path, status, reason }));
  const verb = { active: 'Resumed', paused: 'Paused', closed: 'Closed' }[status];
  await emitBudget(context, verb, budget);
}

async function resetBreaker(context: CliContext, path: string, reason: string | undefined): Promise<void> {
  const backend = await context.backend('write');
  const before = await findBudget(backend, path);
  const { budget } = unwrap(await backend.resetBreaker({ path, reason }));
  const was = before.breaker === 'closed' ? 'it was not tripped; nothing changed' : `it was ${before.breaker === 'open' ? 'open' : 'half-open'}; its burn windows and loop counts start empty`;
  await emitBudget(context, 'Closed the breaker of', budget, { lines: [`  ${was}`], json: { was: before.breaker } });
}

async function moveBudget(context: CliContext, path: string, flags: { to?: string; root?: boolean; reason?: string }): Promise<void> {
  if (flags.to === undefined && flags.root !== true) throw usageError('usage', 'say where to move it: --to <parent> or --root');
  const backend = await context.backend('write');
  const { budget } = unwrap(await backend.moveBudget({ path, parent: flags.to ?? null, reason: flags.reason }));
  await emitBudget(context, `Moved ${path} →`, budget);
}

async function showTree(context: CliContext, root: string | undefined): Promise<void> {
  const backend = await context.backend('read');
  const all = await backend.listBudgets();
  if (root !== undefined) await findBudget(backend, root);
  await context.emit(
    () => ({ ok: true, budgets: treeJson(all, root) }),
    () => (all.length === 0 ? 'No budgets yet. Create one: bursar budgets create acme --budget-limit 100.00' : treeTable(treeLines(all, root))),
  );
}

function limitCell(b: BudgetView): string {
  if (b.limitMicros === null) return '-';
  const granted = b.grantedMicros > 0 ? `+${usd(b.grantedMicros)}` : '';
  return `${usd(b.limitMicros)}${granted}${b.period === 'none' ? '' : `/${b.period}`}`;
}

function statusCell(b: BudgetView): string {
  const loop = b.breakerCode === 'loop_detected' ? ' (loop)' : '';
  const breaker = b.breaker === 'open' ? `, TRIPPED${loop}` : b.breaker === 'half_open' ? `, half-open${loop}` : '';
  return `${b.status === 'active' ? 'active' : b.status.toUpperCase()}${breaker}`;
}

function treeTable(lines: readonly { budget: BudgetView; label: string }[]): string {
  return table(
    [
      { header: 'BUDGET' },
      { header: 'KIND' },
      { header: 'SPENT', align: 'right' },
      { header: 'RESERVED', align: 'right' },
      { header: 'LIMIT', align: 'right' },
      { header: 'USED' },
      { header: 'STATUS' },
    ],
    lines.map(({ budget: b, label }) => [label, b.kind, usd(b.spentMicros), usd(b.reservedMicros), limitCell(b), usageBar(b) || '(no limit)', statusCell(b)]),
  );
}
