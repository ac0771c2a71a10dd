import type { Command } from 'commander';
import { limits, type BudgetView, type EntryKind } from '../core/index.js';
import type { CliBackend, CliLedgerEntry } from './backend.js';
import { resolveAgentRefSuggesting } from './suggest.js';
import type { CliContext } from './context.js';
import { clip, isoSeconds, ledgerRow, table, usd } from './output.js';
import { historyOptions, type HistoryFlags } from './parse.js';
import { cliLimits } from './limits.js';

/** Entry kinds whose amount is not money (pause, move, …): their amount column is blank. */
const plainKinds: ReadonlySet<EntryKind> = new Set<EntryKind>(['policy_change', 'budget_moved', 'pause', 'resume', 'close', 'token_revoked', 'breaker_closed']);

/**
 * Adds `bursar credits history`: what an agent (and everything under it) spent and why.
 *
 * @example
 * registerCredits(program, context);
 */
export function registerCredits(program: Command, context: CliContext): void {
  const credits = program.command('credits').description('spending history');
  historyOptions(credits.command('history'), context.nowMs, 'entries')
    .description('ledger entries of an agent and everything under it (its envelopes), newest first')
    .requiredOption('--agent <path>', 'agent path (or any budget path), or an agent\'s bare name when unique')
    .action((flags: HistoryFlags & { agent: string }) => history(context, flags));
}


/** Reads up to `max` entries newest first, page by page; says whether more remained. */
async function readNewest(backend: CliBackend, budget: string, sinceMs: number | undefined, max: number): Promise<{ entries: CliLedgerEntry[]; more: boolean }> {
  const entries: CliLedgerEntry[] = [];
  let cursor: string | undefined;
  for (;;) {
    const limit = Math.min(limits.ledgerPageMax, max - entries.length + 1);
    const page = await backend.ledgerPage({ budget, sinceMs, cursor, limit, order: 'desc' });
    entries.push(...page.entries);
    if (entries.length > max) return { entries: entries.slice(0, max), more: true };
    if (page.nextCursor === null) return { entries, more: false };
    cursor = page.nextCursor;
  }
}

function relativePath(agent: BudgetView, path: string): string {
  const base = agent.path.slice(0, agent.path.length - agent.name.length);
  return path.startsWith(base) ? path.slice(base.length) : path;
}

function tokensCell(e: CliLedgerEntry): string {
  if (e.tokensIn === null && e.tokensOut === null) return '';
  return `${e.tokensIn ?? '-'}/${e.tokensOut ?? '-'}`;
}

function historyTable(agent: BudgetView, entries: readonly CliLedgerEntry[]): string {
  return table(
    [
      { header: 'TIME (UTC)' },
      { header: 'KIND' },
      { header: 'AMOUNT', align: 'right' },
      { header: 'BUDGET' },
      { header: 'MODEL' },
      { header: 'TOKENS IN/OUT', align: 'right' },
      { header: 'TASK' },
      { header: 'SESSION' },
      { header: 'REASON' },
    ],
    entries.map((e) => [
      isoSeconds(e.tsMs),
      e.kind,
      plainKinds.has(e.kind) ? '' : usd(e.amountMicros),
      relativePath(agent, e.budget),
      e.model ?? '',
      tokensCell(e),
      clip(e.task, cliLimits.labelCellCharsMax),
      clip(e.session, cliLimits.labelCellCharsMax),
      clip(e.reason, cliLimits.reasonCellCharsMax),
    ]),
  );
}

async function history(context: CliContext, flags: HistoryFlags & { agent: string }): Promise<void> {
  const backend = await context.backend('read');
  const agent = await resolveAgentRefSuggesting(backend, flags.agent);
  const max = flags.limit ?? cliLimits.historyLimitDefault;
  const { entries, more } = await readNewest(backend, agent.path, flags.since, max);
  await context.emit(
    () => ({ ok: true, agent: agent.path, since: flags.since === undefined ? null : new Date(flags.since).toISOString(), entries: entries.map(ledgerRow), more }),
    () => {
      if (entries.length === 0) return `No ledger entries for ${agent.path}${flags.since === undefined ? '' : ` since ${isoSeconds(flags.since)}`}.`;
      const footer = more ? `\nShowing the newest ${entries.length}; more with --limit or --since.` : '';
      return historyTable(agent, entries) + footer;
    },
  );
}
