import { Option, type Command } from 'commander';
import { alertOf, type AlertBasis, type AlertView } from '../core/index.js';
import { alertToJson } from '../contract/index.js';
import type { CliBackend } from './backend.js';
import { findBudget } from './budget-ops.js';
import type { CliContext } from './context.js';
import { isoSeconds, table, usd } from './output.js';
import { readHistory } from './paging.js';
import { historyListCommand } from './list-command.js';
import { parsePathArg, type HistoryFlags } from './parse.js';

type PathedAlert = AlertView & { budget: string };

interface AlertFlags extends HistoryFlags {
  budget?: string;
  basis?: AlertBasis;
}

/**
 * Adds `bursar alerts list`: the threshold alerts the ledger holds, each raised once per budget,
 * basis and period when spent (or spent + reserved) reached a percentage of the limit.
 *
 * @example
 * registerAlerts(program, context);
 */
export function registerAlerts(program: Command, context: CliContext): void {
  historyListCommand(program, context, 'alerts', 'threshold alerts: when a budget\'s spend reached 50, 75, 90, 100 % (or its own thresholds)')
    .option('--budget <path>', 'only this budget and everything under it', parsePathArg('--budget'))
    .addOption(new Option('--basis <basis>', 'spent, or committed (spent + reserved)').choices(['spent', 'committed']))
    .action((flags: AlertFlags) => listAlerts(context, flags));
}

/** The alerts `--limit` and `--since` ask for, read from the ledger's `alert` entries. */
function readAlerts(backend: CliBackend, flags: AlertFlags): Promise<{ items: PathedAlert[]; more: boolean; footer: string }> {
  return readHistory(async ({ cursor, limit, order }) => {
    const page = await backend.ledgerPage({ kinds: ['alert'], budget: flags.budget, sinceMs: flags.since, cursor, limit, order });
    const items: PathedAlert[] = [];
    for (const e of page.entries) {
      const alert = alertOf(e);
      if (alert && (flags.basis === undefined || alert.basis === flags.basis)) items.push({ ...alert, budget: e.budget });
    }
    return { items, nextCursor: page.nextCursor };
  }, flags);
}

function alertRows(alerts: readonly PathedAlert[]): string {
  return table(
    [{ header: 'TIME' }, { header: 'BUDGET' }, { header: 'REACHED' }, { header: 'AMOUNT', align: 'right' }, { header: 'LIMIT', align: 'right' }, { header: 'PERIOD FROM' }],
    alerts.map((a) => [
      isoSeconds(a.tsMs),
      a.budget,
      `${a.thresholdPct}% ${a.basis === 'spent' ? 'spent' : 'spent + reserved'}`,
      usd(a.valueMicros),
      a.grantedMicros > 0 ? `${usd(a.limitMicros)}+${usd(a.grantedMicros)}` : usd(a.limitMicros),
      isoSeconds(a.periodStartMs),
    ]),
  );
}

async function listAlerts(context: CliContext, flags: AlertFlags): Promise<void> {
  const backend = await context.backend('read');
  if (flags.budget !== undefined) await findBudget(backend, flags.budget);
  const { items: alerts, more, footer } = await readAlerts(backend, flags);
  await context.emit(
    () => ({ ok: true, alerts: alerts.map(alertToJson), more }),
    () => (alerts.length === 0 ? 'No alerts. A budget raises one when its spend reaches 50, 75, 90 or 100 % of its limit (or its own alert thresholds).' : `${alertRows(alerts)}${footer}`),
  );
}
