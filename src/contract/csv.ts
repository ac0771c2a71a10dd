import type { LedgerEntry } from '../core/index.js';
import { entryToJson, usdExact } from './codecs.js';

/**
 * The ledger as CSV (RFC 4180): the same columns from `GET /api/ledger?format=csv` and from
 * `bursar ledger export --format csv`, so an export reads the same whichever made it.
 */

/** The columns of a ledger export, in order; JSON export rows use the same names. */
export const ledgerFields = [
  'seq',
  'ts',
  'ts_ms',
  'kind',
  'budget',
  'amount_micros',
  'amount_usd',
  'reservation_seq',
  'model',
  'tokens_in',
  'tokens_out',
  'tokens_cached',
  'tokens_cache_write',
  'request_id',
  'session',
  'task',
  'actor',
  'reason',
  'data',
  'hash',
] as const;

export type LedgerRow = Record<(typeof ledgerFields)[number], string | number | null>;

/**
 * A ledger entry as an export row: integer micros plus an exact six-decimal USD string.
 *
 * @example
 * ledgerRow({ ...entry, budget: 'acme/bot' }).amount_usd // '0.000900'
 */
export function ledgerRow(e: LedgerEntry & { budget: string }): LedgerRow {
  const json = entryToJson(e, e.budget);
  return Object.fromEntries(ledgerFields.map((f) => [f, f === 'amount_usd' ? usdExact(e.amountMicros) : json[f]])) as LedgerRow;
}

/**
 * One CSV field per RFC 4180: quoted when it holds a comma, quote, or line break, with quotes
 * doubled. Null is an empty field.
 *
 * @example
 * csvField('a "b", c') // '"a ""b"", c"'
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * One CSV record, CRLF-terminated as RFC 4180 asks.
 *
 * @example
 * csvLine([1, null, 'a,b']) // '1,,"a,b"\r\n'
 */
export function csvLine(values: readonly (string | number | null)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/**
 * A ledger entry as one CSV record in `ledgerFields` order.
 *
 * @example
 * ledgerCsvLine({ ...entry, budget: 'acme' }) // '7,2026-…,…\r\n'
 */
export function ledgerCsvLine(e: LedgerEntry & { budget: string }): string {
  const row = ledgerRow(e);
  return csvLine(ledgerFields.map((f) => row[f]));
}
