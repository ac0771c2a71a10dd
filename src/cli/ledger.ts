import { Option, type Command } from 'commander';
import { limits } from '../core/index.js';
import type { LedgerQuery } from '../store/index.js';
import type { CliBackend, CliLedgerEntry } from './backend.js';
import { findBudget } from './budget-ops.js';
import type { CliContext } from './context.js';
import { csvLine, ledgerFields, ledgerRow, writeChunk } from './output.js';
import { parsePathArg, parseTimeArg } from './parse.js';

export type ExportFormat = 'csv' | 'json' | 'jsonl';

export interface ExportFlags {
  format: ExportFormat;
  since?: number;
  until?: number;
  budget?: string;
  session?: string;
  task?: string;
  model?: string;
}

const exportHelp = `
Formats:
  csv    RFC 4180, a header row, CRLF line ends; fields with commas, quotes or line breaks quoted
  json   one JSON array of objects (parse it whole)
  jsonl  JSON Lines: one object per line (stream it)
Every row has amount_micros (integer micro-USD, exact) and amount_usd (six decimals, exact),
ts (ISO 8601 UTC) and ts_ms, and the budget's current path. data, the facts of some kinds (a new
budget's settings, an alert's threshold), is an object in JSON and JSON Lines, and its JSON text
(as hashed) in CSV. Rows come oldest first. The export is a snapshot: entries written after it
starts are left out.

Example:
  bursar ledger export --format csv --since 7d --budget acme/research > research.csv`;

/**
 * Adds `bursar ledger export`: every matching ledger entry, streamed page by page.
 *
 * @example
 * registerLedger(program, context);
 */
export function registerLedger(program: Command, context: CliContext): void {
  const ledger = program.command('ledger').description('the append-only ledger');
  ledger
    .command('export')
    .description('write every matching ledger entry to stdout as CSV, a JSON array, or JSON Lines')
    .addOption(new Option('--format <format>', 'csv, json or jsonl').choices(['csv', 'json', 'jsonl']).default('csv'))
    .option('--since <when>', 'entries at or after: a span ago (24h, 7d) or an ISO date/time', parseTimeArg('--since', context.nowMs))
    .option('--until <when>', 'entries before: a span ago or an ISO date/time', parseTimeArg('--until', context.nowMs))
    .option('--budget <path>', 'only this budget and everything under it', parsePathArg('--budget'))
    .option('--session <id>', 'only entries of this session')
    .option('--task <id>', 'only entries of this task')
    .option('--model <id>', 'only entries for this model')
    .addHelpText('after', exportHelp)
    .action((flags: ExportFlags) => exportLedger(context, flags));
}

/** Sequence of the newest entry now: the export stops there. */
async function headSeq(backend: CliBackend): Promise<number> {
  const page = await backend.ledgerPage({ order: 'desc', limit: 1 });
  return page.entries[0]?.seq ?? 0;
}

/** Reads pages oldest first up to `lastSeq`, handing each to `onPage`; stops when it says false. */
async function eachPage(backend: CliBackend, query: LedgerQuery, lastSeq: number, onPage: (entries: CliLedgerEntry[]) => Promise<boolean>): Promise<void> {
  let cursor: string | undefined;
  for (;;) {
    const page = await backend.ledgerPage({ ...query, cursor, limit: limits.ledgerPageMax, order: 'asc' });
    const entries = page.entries.filter((e) => e.seq <= lastSeq);
    if (entries.length > 0 && !(await onPage(entries))) return;
    if (page.nextCursor === null || entries.length < page.entries.length) return;
    cursor = page.nextCursor;
  }
}

/** An entry as a JSON export writes it: the CSV row, with `data` as the object it holds (CSV keeps its JSON text). */
function jsonRow(e: CliLedgerEntry): Record<string, unknown> {
  return { ...ledgerRow(e), data: e.data === null ? null : (JSON.parse(e.data) as unknown) };
}

/** Turns pages into text chunks for one format: a head, each page, and a tail. */
function encoder(format: ExportFormat): { head: string; page: (entries: CliLedgerEntry[], first: boolean) => string; tail: (any: boolean) => string } {
  if (format === 'csv') {
    return { head: csvLine(ledgerFields), page: (entries) => entries.map((e) => csvLine(ledgerFields.map((f) => ledgerRow(e)[f]))).join(''), tail: () => '' };
  }
  if (format === 'jsonl') {
    return { head: '', page: (entries) => entries.map((e) => `${JSON.stringify(jsonRow(e))}\n`).join(''), tail: () => '' };
  }
  return {
    head: '[',
    page: (entries, first) => (first ? '\n' : ',\n') + entries.map((e) => JSON.stringify(jsonRow(e))).join(',\n'),
    tail: (any) => (any ? '\n]\n' : ']\n'),
  };
}

/**
 * Writes every entry matching `flags` to stdout in one format, page by page, up to the entry
 * that was newest when it began (also `bursar sessions show <id> --format csv`).
 *
 * @example
 * await exportLedger(context, { format: 'csv', session: 'run-42' });
 */
export async function exportLedger(context: CliContext, flags: ExportFlags): Promise<void> {
  const backend = await context.backend('read');
  if (flags.budget !== undefined) await findBudget(backend, flags.budget);
  const query: LedgerQuery = { budget: flags.budget, sinceMs: flags.since, untilMs: flags.until, session: flags.session, task: flags.task, model: flags.model };
  const lastSeq = await headSeq(backend);
  const out = context.streams.stdout;
  const encode = encoder(flags.format);
  let any = false;
  if (!(await writeChunk(out, encode.head))) return;
  await eachPage(backend, query, lastSeq, async (entries) => {
    const chunk = encode.page(entries, !any);
    any = true;
    return writeChunk(out, chunk);
  });
  await writeChunk(out, encode.tail(any));
}
