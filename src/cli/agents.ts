import type { Command } from 'commander';
import type { BudgetView } from '../core/index.js';
import { effectiveOf } from '../ops/index.js';
import { type BudgetFlags, byId, chainIn, createFromFlags, emitBudget, updateFromFlags } from './budget-ops.js';
import { addBudgetOptions } from './budget-options.js';
import type { CliContext } from './context.js';
import { unwrap } from './errors.js';
import { findAgentSuggesting } from './suggest.js';
import { budgetJson, table, usd } from './output.js';
import { usedPctOf } from '../contract/index.js';
import { parsePathArg } from './parse.js';

const createHelp = `
The agent gets period "month" when a limit is given and no --period.
Missing parents are refused; with --parents they are created without limits:
the first level as an org, the second as a team, deeper levels as plain budgets.
Agents hold at most 4 reservations in flight unless --max-inflight says otherwise.

Example:
  bursar agents create acme/research/market-researcher --budget-limit 5.00 --parents`;

const refHelp = 'agent path, or its bare name when only one agent has it';

/**
 * Adds `bursar agents list|create|update|pause|resume`: budgets of kind agent.
 *
 * @example
 * registerAgents(program, context);
 */
export function registerAgents(program: Command, context: CliContext): void {
  const agents = program.command('agents').description('agent budgets: list, create, update, pause, resume');

  agents
    .command('list')
    .description('list agents with spend, limit, use, reservations and in-flight requests')
    .argument('[path]', 'only agents under this budget', parsePathArg('path'))
    .action((under: string | undefined) => listAgents(context, under));

  const create = agents.command('create').description('create an agent budget').argument('<path>', 'where the agent sits, e.g. acme/research/bot', parsePathArg('path'));
  addBudgetOptions(create, 'create', '5.00');
  create
    .option('--parents', 'create missing parents (org, team, then plain budgets) without limits')
    .option('--reason <text>', 'why, recorded in the ledger')
    .addHelpText('after', createHelp)
    .action((path: string, flags: BudgetFlags) => createFromFlags(context, path, 'agent', flags));

  const update = agents
    .command('update')
    .description('change an agent\'s limit, period or policy (policy flags merge into its existing policy)')
    .argument('<path>', refHelp);
  addBudgetOptions(update, 'update', '50.00');
  update.option('--reason <text>', 'why, recorded in the ledger').action((ref: string, flags: BudgetFlags) => updateAgent(context, ref, flags));

  agents
    .command('pause')
    .description('pause an agent: new reservations are refused until it is resumed')
    .argument('<path>', refHelp)
    .option('--reason <text>', 'why, recorded in the ledger')
    .action((ref: string, flags: { reason?: string }) => setAgentStatus(context, ref, 'paused', flags.reason));

  agents
    .command('resume')
    .description('resume a paused agent')
    .argument('<path>', refHelp)
    .option('--reason <text>', 'why, recorded in the ledger')
    .action((ref: string, flags: { reason?: string }) => setAgentStatus(context, ref, 'active', flags.reason));
}

function inflightText(b: BudgetView, inflightMax: number | undefined): string {
  return `${b.inflight}/${inflightMax ?? '-'}`;
}

async function listAgents(context: CliContext, under: string | undefined): Promise<void> {
  const backend = await context.backend('read');
  const all = await backend.listBudgets();
  const index = byId(all);
  const agents = all.filter((b) => b.kind === 'agent' && (under === undefined || b.path === under || b.path.startsWith(`${under}/`)));
  const inflightMax = (b: BudgetView) => effectiveOf(chainIn(index, b)).inflightMax;
  await context.emit(
    () => ({ ok: true, agents: agents.map((b) => ({ ...budgetJson(b), inflight_max: inflightMax(b) ?? null })) }),
    () => {
      if (agents.length === 0) return 'No agents yet. Create one: bursar agents create acme/research/bot --budget-limit 5.00 --parents';
      const rows = agents.map((b) => {
        const pct = usedPctOf(b);
        const limit = b.limitMicros === null ? 'no limit' : usd(b.limitMicros) + (b.grantedMicros > 0 ? ` +${usd(b.grantedMicros)}` : '');
        return [b.path, b.status, `${usd(b.spentMicros)} / ${limit}`, pct === null ? '-' : `${pct}%`, usd(b.reservedMicros), inflightText(b, inflightMax(b)), b.period];
      });
      return table(
        [
          { header: 'PATH' },
          { header: 'STATUS' },
          { header: 'SPENT / LIMIT', align: 'right' },
          { header: 'USED', align: 'right' },
          { header: 'RESERVED', align: 'right' },
          { header: 'IN-FLIGHT', align: 'right' },
          { header: 'PERIOD' },
        ],
        rows,
      );
    },
  );
}

async function updateAgent(context: CliContext, ref: string, flags: BudgetFlags): Promise<void> {
  const input = updateFromFlags(ref, flags);
  const backend = await context.backend('write');
  const agent = await findAgentSuggesting(backend, ref);
  const { budget } = unwrap(await backend.updateBudget({ ...input, path: agent.path }));
  await emitBudget(context, 'Updated', budget);
}

async function setAgentStatus(context: CliContext, ref: string, status: 'active' | 'paused', reason: string | undefined): Promise<void> {
  const backend = await context.backend('write');
  const agent = await findAgentSuggesting(backend, ref);
  const { budget } = unwrap(await backend.setStatus({ path: agent.path, status, reason }));
  const hint = status === 'paused' ? [`  new reservations are refused until: bursar agents resume ${budget.path}`] : [];
  await emitBudget(context, status === 'paused' ? 'Paused' : 'Resumed', budget, { lines: hint });
}
