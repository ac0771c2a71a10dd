import { formatWindow, type AuditProblem, type BudgetView, type Policy } from '../core/index.js';
import { budgetToJson, ledgerRow as apiLedgerRow, usedPctOf, type LedgerRow } from '../contract/index.js';
import type { CliLedgerEntry } from './backend.js';
import { usd } from './report.js';

export { failureJson, failureLine, usd, writeChunk, type CliStreams, type Failure } from './report.js';

export type Align = 'left' | 'right';

export interface TableColumn {
  header: string;
  align?: Align;
}

/**
 * Lays out rows under headers with every column padded to its widest cell, two spaces apart.
 * Trailing spaces are trimmed.
 *
 * @example
 * table([{ header: 'PATH' }, { header: 'SPENT', align: 'right' }], [['acme', '$1.00']])
 * // 'PATH  SPENT\nacme  $1.00'
 */
export function table(columns: readonly TableColumn[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(displayWidth(c.header), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    columns
      .map((c, i) => pad(cells[i] ?? '', widths[i] ?? 0, c.align ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

/** Width of text in terminal cells; every character the CLI prints is one cell wide. */
function displayWidth(text: string): number {
  return [...text].length;
}

function pad(text: string, width: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

export { usdExact } from '../contract/index.js';

/**
 * What a budget may use this period: its limit plus grants; null without a limit.
 *
 * @example
 * allowanceMicros({ limitMicros: 5_000_000, grantedMicros: 1_000_000 }) // 6_000_000
 */
export function allowanceMicros(b: Pick<BudgetView, 'limitMicros' | 'grantedMicros'>): number | null {
  return b.limitMicros === null ? null : b.limitMicros + b.grantedMicros;
}

export const barWidthCells = 10;

/**
 * A text bar of a budget's use: `█` spent, `▒` reserved, `░` free, then the percentage.
 * Empty for a budget without a limit.
 *
 * @example
 * usageBar({ limitMicros: 100, grantedMicros: 0, spentMicros: 50, reservedMicros: 2 }) // '█████░░░░░  52%'
 */
export function usageBar(b: Pick<BudgetView, 'limitMicros' | 'grantedMicros' | 'spentMicros' | 'reservedMicros'>, widthCells = barWidthCells): string {
  const allowance = allowanceMicros(b);
  const pct = usedPctOf(b);
  if (allowance === null || pct === null) return '';
  const cells = (micros: number) => (allowance <= 0 ? widthCells : Math.floor((Math.max(0, micros) * widthCells) / allowance));
  const spent = Math.min(widthCells, cells(b.spentMicros));
  const reserved = Math.min(widthCells - spent, cells(b.spentMicros + b.reservedMicros) - spent);
  const bar = '█'.repeat(spent) + '▒'.repeat(reserved) + '░'.repeat(widthCells - spent - reserved);
  return `${bar} ${`${pct}%`.padStart(4)}`;
}

/**
 * A time as UTC ISO 8601 to the second, the form every human-facing CLI time takes.
 *
 * @example
 * isoSeconds(Date.UTC(2026, 0, 2, 3, 4, 5)) // '2026-01-02T03:04:05Z'
 */
export function isoSeconds(ms: number | null): string {
  if (ms === null) return '-';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Text for a table cell: on one line, cut to `max` characters with an ellipsis; empty for null.
 *
 * @example
 * clip('a long\nreason', 8) // 'a long …'
 */
export function clip(text: string | null, max: number): string {
  if (text === null) return '';
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * One line describing a policy: `models gpt-4o,claude-*; cap $0.50; in-flight 4`.
 *
 * @example
 * policyText({ models: ['gpt-4o'], inflightMax: 4 }) // 'models gpt-4o; in-flight max 4'
 */
export function policyText(policy: Policy): string {
  const parts: string[] = [];
  if (policy.models) parts.push(`models ${policy.models.length > 0 ? policy.models.join(',') : '(none)'}`);
  if (policy.requestCapMicros !== undefined) parts.push(`request cap ${usd(policy.requestCapMicros)}`);
  if (policy.inflightMax !== undefined) parts.push(`in-flight max ${policy.inflightMax}`);
  if (policy.maxOutputTokens !== undefined) parts.push(`max output tokens ${policy.maxOutputTokens}`);
  if (policy.alertThresholdsPct) parts.push(`alerts at ${policy.alertThresholdsPct.join('/')}%`);
  if (policy.burnLimits) parts.push(`burn limit ${policy.burnLimits.length > 0 ? policy.burnLimits.map((l) => `${usd(l.amountMicros)}/${formatWindow(l.windowMs)}`).join(', ') : 'none'}`);
  if (policy.loopLimit !== undefined) parts.push(`loop limit ${policy.loopLimit === 'off' ? 'off' : `${policy.loopLimit.repeats}/${formatWindow(policy.loopLimit.windowMs)}`}`);
  if (policy.onExpiry !== undefined) parts.push(`on expiry ${policy.onExpiry}`);
  if (policy.requiredTags) parts.push(`requires tags ${policy.requiredTags.join(',')}`);
  if (policy.brownout) parts.push(`brownout ${policy.brownout.map((t) => `${t.atPct}%:${t.from}→${t.to}`).join(', ')}`);
  if (policy.fallbacks) parts.push(`fallbacks ${policy.fallbacks.map((r) => `${r.from}→${r.to.join(',')}`).join('; ')}`);
  return parts.length > 0 ? parts.join('; ') : 'none';
}

/**
 * A budget in the JSON form every `--json` command uses: the admin API's snake_case fields,
 * amounts as integer micros, times as ISO 8601 UTC.
 *
 * @example
 * budgetJson(view).limit_micros // 5000000
 */
export function budgetJson(b: BudgetView): Record<string, unknown> {
  const { id: _id, parent_id: _parentId, ...json } = budgetToJson(b);
  return json;
}

/** The ledger export's columns and CSV encoding are the admin API's, so both exports match. */
export { csvField, csvLine, ledgerFields, type LedgerRow } from '../contract/index.js';

/**
 * A ledger entry as an export row: integer micros plus an exact six-decimal USD string.
 *
 * @example
 * ledgerRow(entry).amount_usd // '0.000900'
 */
export function ledgerRow(e: CliLedgerEntry): LedgerRow {
  return apiLedgerRow(e);
}

/**
 * An audit problem in one line: where it is, then what differs.
 *
 * @example
 * problemText({ seq: 7, field: 'hash', message: 'entry 7 does not match its hash' }) // 'seq 7: entry 7 does not match its hash [hash: …]'
 */
export function problemText(p: AuditProblem): string {
  const where = [p.seq !== undefined ? `seq ${p.seq}` : '', p.budget !== undefined ? `budget ${p.budget}` : ''].filter(Boolean).join(', ');
  const diff = p.field !== undefined ? ` [${p.field}: expected ${cell(p.expected)}, found ${cell(p.actual)}]` : '';
  return `${where ? `${where}: ` : ''}${p.message}${diff}`;
}

function cell(value: string | number | null | undefined): string {
  if (value === undefined) return '?';
  if (value === null) return 'null';
  const text = String(value);
  return text.length > 20 ? `${text.slice(0, 16)}…` : text;
}

/**
 * An audit problem in the API's JSON form.
 *
 * @example
 * problemJson({ seq: 7, message: 'altered' }) // { seq: 7, budget: null, field: null, expected: null, actual: null, message: 'altered' }
 */
export function problemJson(p: AuditProblem): Record<string, unknown> {
  return { seq: p.seq ?? null, budget: p.budget ?? null, field: p.field ?? null, expected: p.expected ?? null, actual: p.actual ?? null, message: p.message };
}
