import { Option, type Command } from 'commander';
import { groupings, type GroupBy } from '../contract/index.js';
import { groupThousands } from '../core/index.js';
import type { UsageAnswer } from './backend.js';
import { findBudget } from './budget-ops.js';
import type { CliContext } from './context.js';
import { reservationsText } from './guards-view.js';
import { table, usd } from './output.js';
import { parsePathArg, parseTimeArg, parseTimezoneArg } from './parse.js';

interface Flags {
  by: GroupBy;
  since?: number;
  until?: number;
  budget?: string;
  timezone?: string;
  reservations?: boolean;
}

const help = `
Spend (settlements, late charges and charged expiries, less refunds) grouped by budget, agent,
session, model, hour or day. --reservations adds, per group and model, what became of the
reservations made in the range: settled, voided, expired (released) or charged at their TTL;
RESERVE:SETTLE (reservations per settlement: well above 1 means retries or abandoned calls) and
ACCURACY (actual cost over what the settled calls reserved).

Examples:
  bursar usage --by agent --since 24h
  bursar usage --by budget --reservations --since 7d
  bursar usage --by day --since 30d --timezone Europe/Amsterdam --json`;

function usageText(r: UsageAnswer): string {
  const rows = r.rows.map((row) => [row.key ?? '-', groupThousands(row.calls), groupThousands(row.tokens_in), groupThousands(row.tokens_out), usd(row.cost_micros)]);
  if (r.other) rows.push([`(${r.other.calls} calls in further groups)`, groupThousands(r.other.calls), groupThousands(r.other.tokens_in), groupThousands(r.other.tokens_out), usd(r.other.cost_micros)]);
  rows.push(['TOTAL', groupThousands(r.totals.calls), groupThousands(r.totals.tokens_in), groupThousands(r.totals.tokens_out), usd(r.totals.cost_micros)]);
  const parts = [table([{ header: r.group_by.toUpperCase() }, { header: 'CALLS', align: 'right' }, { header: 'TOKENS IN', align: 'right' }, { header: 'TOKENS OUT', align: 'right' }, { header: 'COST', align: 'right' }], rows)];
  if (r.across.length > 0) {
    const across = r.across.map((row) => [row.key ?? '-', row.kind, groupThousands(row.calls), groupThousands(row.tokens_in), groupThousands(row.tokens_out), usd(row.cost_micros)]);
    parts.push('', 'Across the tree (the same spend, on the model, tag and provider budgets its calls reserved on):');
    parts.push(table([{ header: 'BUDGET' }, { header: 'KIND' }, { header: 'CALLS', align: 'right' }, { header: 'TOKENS IN', align: 'right' }, { header: 'TOKENS OUT', align: 'right' }, { header: 'COST', align: 'right' }], across));
  }
  if (r.truncated) parts.push(`Only the newest ${r.scan_limit} settlement entries were read; the figures are complete since ${r.complete_since ?? '?'} (narrow with --since/--until).`);
  if (r.reservations) {
    parts.push('', 'Reservations:', reservationsText(r.reservations.rows, r.group_by));
    if (r.reservations.truncated) parts.push(`Only the newest ${r.reservations.scan_limit} reservation entries were read; complete since ${r.reservations.complete_since ?? '?'}.`);
  }
  return parts.join('\n');
}

/**
 * Adds `bursar usage`: spend grouped like the admin API's `GET /api/usage`, and with
 * `--reservations` the reserve-to-settle ratio and estimate accuracy.
 *
 * @example
 * registerUsage(program, context);
 */
export function registerUsage(program: Command, context: CliContext): void {
  program
    .command('usage')
    .description('spend grouped by budget, agent, session, model, hour or day; --reservations for the reserve-to-settle ratio')
    .addOption(new Option('--by <group>', 'how to group').choices(groupings).default('budget'))
    .option('--since <when>', 'from a span ago (24h, 7d) or an ISO date/time', parseTimeArg('--since', context.nowMs))
    .option('--until <when>', 'until a span ago or an ISO date/time', parseTimeArg('--until', context.nowMs))
    .option('--budget <path>', 'only spend under this budget', parsePathArg('--budget'))
    .option('--timezone <zone>', 'time zone of hour and day buckets (default UTC)', parseTimezoneArg)
    .option('--reservations', 'add what became of the reservations: reserve-to-settle ratio and estimate accuracy per group and model')
    .addHelpText('after', help)
    .action(async (flags: Flags) => {
      const backend = await context.backend('read');
      if (flags.budget !== undefined) await findBudget(backend, flags.budget);
      const report = await backend.usage({ groupBy: flags.by, sinceMs: flags.since, untilMs: flags.until, budget: flags.budget, timezone: flags.timezone, reservations: flags.reservations === true });
      await context.emit(
        () => report,
        () => usageText(report),
      );
    });
}
