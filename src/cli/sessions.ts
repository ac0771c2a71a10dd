import { Option, type Command } from 'commander';
import { contractLimits } from '../contract/index.js';
import { groupThousands, limits } from '../core/index.js';
import type { CliLedgerEntry, SessionsReport, SessionSummary } from './backend.js';
import { findBudget } from './budget-ops.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { exportLedger } from './ledger.js';
import { csvLine, isoSeconds, ledgerRow, table, usd, usdExact, writeChunk } from './output.js';
import { parseCountArg, parsePathArg, parseTimeArg } from './parse.js';
import { cliLimits } from './limits.js';

/**
 * `bursar sessions list|show`: calls labelled with x-bursar-session (or the SDK's `session`),
 * grouped. Totals come from the admin API's own report code on a local database and from
 * `GET /api/sessions` through a server, so both print the same.
 */

type Format = 'table' | 'csv';

interface ListFlags {
  last?: number;
  since?: number;
  budget?: string;
  format: Format;
}

interface ShowFlags {
  limit?: number;
  format: Format;
}

const sessionCsvFields = ['session', 'started_at', 'ended_at', 'calls', 'tokens_in', 'tokens_out', 'tokens_cached', 'cost_micros', 'cost_usd', 'agents', 'models', 'entries'] as const;

const listHelp = `
A session is the x-bursar-session label of calls through the gateway, of tool reservations
(POST /v1/bursar/reservations) and of the SDK's calls (Bursar.remote({ session })). Cost is
what was settled; agents are the agent budgets the session spent on.

Examples:
  bursar sessions list --last 10
  bursar sessions list --since 24h --format csv > sessions.csv
  bursar sessions show run-42`;

/**
 * Adds `bursar sessions list|show`.
 *
 * @example
 * registerSessions(program, context);
 */
export function registerSessions(program: Command, context: CliContext): void {
  const sessions = program.command('sessions').description('calls grouped by their x-bursar-session label');
  sessions
    .command('list')
    .description('the most recently active sessions: start, end, calls, tokens in/out, cost, agents')
    .option('--last <n>', `how many sessions (default ${contractLimits.sessionsListDefault}, at most ${contractLimits.sessionsListMax})`, parseCountArg('--last', contractLimits.sessionsListMax, 'invalid_limit'))
    .option('--since <when>', 'only sessions active since a span ago (24h, 7d) or an ISO date/time', parseTimeArg('--since', context.nowMs))
    .option('--budget <path>', 'only spend under this budget', parsePathArg('--budget'))
    .addOption(new Option('--format <format>', 'table, or csv for a spreadsheet').choices(['table', 'csv']).default('table'))
    .addHelpText('after', listHelp)
    .action((flags: ListFlags) => listSessions(context, flags));
  sessions
    .command('show')
    .description('one session: its totals and its ledger entries, oldest first (csv: every entry)')
    .argument('<id>', 'the session label')
    .option('--limit <n>', `most entries to show (default ${cliLimits.historyLimitDefault}, at most ${limits.ledgerPageMax})`, parseCountArg('--limit', limits.ledgerPageMax, 'invalid_limit'))
    .addOption(new Option('--format <format>', 'table, or csv for every entry in the ledger export\'s columns').choices(['table', 'csv']).default('table'))
    .action((id: string, flags: ShowFlags) => showSession(context, id, flags));
}

function sessionCsv(s: SessionSummary): string {
  return csvLine([s.id, s.started_at, s.ended_at, s.calls, s.tokens_in, s.tokens_out, s.tokens_cached, s.cost_micros, usdExact(s.cost_micros), s.agents.join(';'), s.models.join(';'), s.entries]);
}

function isoText(iso: string): string {
  return isoSeconds(Date.parse(iso));
}

function sessionsTable(report: SessionsReport): string {
  if (report.sessions.length === 0) return 'No sessions yet. Label calls with the x-bursar-session header (or the SDK\'s session option) to group them.';
  const rows = report.sessions.map((s) => [s.id, isoText(s.started_at), isoText(s.ended_at), String(s.calls), groupThousands(s.tokens_in), groupThousands(s.tokens_out), usd(s.cost_micros), s.agents.join(', ') || '-']);
  const body = table(
    [{ header: 'SESSION' }, { header: 'STARTED (UTC)' }, { header: 'ENDED (UTC)' }, { header: 'CALLS', align: 'right' }, { header: 'TOKENS IN', align: 'right' }, { header: 'TOKENS OUT', align: 'right' }, { header: 'COST', align: 'right' }, { header: 'AGENTS' }],
    rows,
  );
  return report.truncated ? `${body}\nOnly the newest ${report.scan_limit} ledger entries were read; narrow with --since for older sessions.` : body;
}

async function listSessions(context: CliContext, flags: ListFlags): Promise<void> {
  const backend = await context.backend('read');
  if (flags.budget !== undefined) await findBudget(backend, flags.budget);
  const report = await backend.sessions({ last: flags.last ?? contractLimits.sessionsListDefault, sinceMs: flags.since, budget: flags.budget });
  if (flags.format === 'csv') {
    await writeChunk(context.streams.stdout, csvLine(sessionCsvFields) + report.sessions.map(sessionCsv).join(''));
    return;
  }
  await context.emit(
    () => report,
    () => sessionsTable(report),
  );
}

const moneyKinds = new Set(['reserve', 'settle', 'void', 'expire', 'expire_charged', 'expiry_refund', 'late_charge', 'overrun']);

function entriesTable(entries: readonly CliLedgerEntry[]): string {
  return table(
    [{ header: 'TIME (UTC)' }, { header: 'KIND' }, { header: 'AMOUNT', align: 'right' }, { header: 'BUDGET' }, { header: 'MODEL' }, { header: 'TOKENS IN/OUT', align: 'right' }, { header: 'TASK' }],
    entries.map((e) => [isoSeconds(e.tsMs), e.kind, moneyKinds.has(e.kind) ? usd(e.amountMicros) : '', e.budget, e.model ?? '', e.tokensIn === null && e.tokensOut === null ? '' : `${e.tokensIn ?? '-'}/${e.tokensOut ?? '-'}`, e.task ?? '']),
  );
}

function summaryText(s: SessionSummary): string {
  return [
    `Session ${s.id}`,
    `  started   ${isoText(s.started_at)}`,
    `  ended     ${isoText(s.ended_at)}`,
    `  calls     ${s.calls}   tokens in/out ${groupThousands(s.tokens_in)}/${groupThousands(s.tokens_out)}   cost ${usd(s.cost_micros)}`,
    `  agents    ${s.agents.join(', ') || '-'}`,
    `  models    ${s.models.join(', ') || '-'}`,
    `  entries   ${s.entries}${s.truncated ? ' (more than one summary reads; totals are partial)' : ''}`,
  ].join('\n');
}

async function showSession(context: CliContext, id: string, flags: ShowFlags): Promise<void> {
  const backend = await context.backend('read');
  const summary = await backend.session(id);
  if (!summary) throw new CliError({ code: 'not_found', message: `no ledger entries for session ${id}`, field: 'id' }, 1);
  if (flags.format === 'csv') return exportLedger(context, { format: 'csv', session: id });
  const max = flags.limit ?? cliLimits.historyLimitDefault;
  const page = await backend.ledgerPage({ session: id, order: 'asc', limit: max });
  const more = page.nextCursor !== null;
  await context.emit(
    () => ({ ok: true, session: summary, entries: page.entries.map(ledgerRow), more }),
    () => `${summaryText(summary)}\n\n${entriesTable(page.entries)}${more ? `\nShowing the first ${page.entries.length}; more with --limit or: bursar sessions show ${id} --format csv` : ''}`,
  );
}
