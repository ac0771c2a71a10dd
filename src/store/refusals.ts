import type { RefusalRecord, RefusalWrite } from '../core/index.js';
import { decodeCursor, encodeCursor, type Row } from './rows.js';

/**
 * Refusals as both stores keep them: a bounded table beside the ledger, never part of it. A
 * refusal moves no money, so it is not hash-chained, touches no balance, and old rows are
 * deleted (by count and by age). A flood of the same refusal is one row with a count.
 */

/** What the refusals table keeps: at most `rowsMax` rows, none whose last refusal is before `keepSinceMs`. */
export interface RefusalRetention {
  rowsMax: number;
  keepSinceMs: number;
}

export type { RefusalRecord, RefusalWrite };

/** Filters for reading refusals. */
export interface RefusalQuery {
  /** Only rows of this agent path. */
  agent?: string;
  /** Only rows whose budget is this one or lies under it. */
  budget?: string;
  code?: string;
  /** Rows refusing at or after this time (their last refusal). */
  sinceMs?: number;
  /** Rows that began before this time. */
  untilMs?: number;
  cursor?: string;
  limit?: number;
  order?: 'asc' | 'desc';
}

export interface RefusalPage {
  refusals: RefusalRecord[];
  nextCursor: string | null;
}

export const refusalColumns = ['first_ms', 'last_ms', 'count', 'code', 'status', 'budget', 'agent', 'token_id_prefix', 'model', 'tool', 'amount_micros', 'message', 'request_id', 'route'] as const;

/** Column values of a row to write, in `refusalColumns` order. */
export function refusalValues(r: RefusalWrite): unknown[] {
  return [r.firstMs, r.lastMs, r.count, r.code, r.status, r.budget, r.agent, r.tokenIdPrefix, r.model, r.tool, r.amountMicros, r.message, r.requestId, r.route];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function refusalFromRow(r: Row): RefusalRecord {
  return {
    id: num(r.id),
    firstMs: num(r.first_ms),
    lastMs: num(r.last_ms),
    count: num(r.count),
    code: String(r.code),
    status: num(r.status),
    budget: strOrNull(r.budget),
    agent: strOrNull(r.agent),
    tokenIdPrefix: strOrNull(r.token_id_prefix),
    model: strOrNull(r.model),
    tool: strOrNull(r.tool),
    amountMicros: r.amount_micros === null || r.amount_micros === undefined ? null : num(r.amount_micros),
    message: String(r.message),
    requestId: strOrNull(r.request_id),
    route: strOrNull(r.route),
  };
}

/** Placeholder for the i-th (0-based) parameter: `?` for SQLite, `$n` for PostgreSQL. */
export type Placeholder = (i: number) => string;

/** The statements a store runs to write refusals, in its own placeholder style. */
export function refusalWriteSql(p: Placeholder): { insert: string; update: string; pruneAge: string; pruneCount: string } {
  const sets = refusalColumns.map((c, i) => `${c} = ${p(i)}`).join(', ');
  return {
    insert: `INSERT INTO refusals (${refusalColumns.join(', ')}) VALUES (${refusalColumns.map((_, i) => p(i)).join(', ')}) RETURNING id`,
    update: `UPDATE refusals SET ${sets} WHERE id = ${p(refusalColumns.length)}`,
    pruneAge: `DELETE FROM refusals WHERE last_ms < ${p(0)}`,
    // Everything older than the newest `rowsMax` rows (ids only grow).
    pruneCount: `DELETE FROM refusals WHERE id <= (SELECT id FROM refusals ORDER BY id DESC LIMIT 1 OFFSET ${p(0)})`,
  };
}

/**
 * A page read of the refusals table as SQL and its parameters; the caller fetches `limit + 1`
 * rows and passes them to `refusalPageOf`.
 */
export function refusalQuerySql(q: RefusalQuery, p: Placeholder, pageMax: number): { sql: string; args: unknown[]; limit: number } {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (value: unknown) => {
    args.push(value);
    return p(args.length - 1);
  };
  if (q.agent !== undefined) where.push(`agent = ${arg(q.agent)}`);
  if (q.budget !== undefined) {
    const path = arg(q.budget);
    // The budget itself, or one under it (a prefix compare: budget names may hold LIKE's wildcards).
    where.push(`(budget = ${path} OR substr(budget, 1, ${arg(q.budget.length + 1)}) = ${arg(`${q.budget}/`)})`);
  }
  if (q.code !== undefined) where.push(`code = ${arg(q.code)}`);
  if (q.sinceMs !== undefined) where.push(`last_ms >= ${arg(q.sinceMs)}`);
  if (q.untilMs !== undefined) where.push(`first_ms < ${arg(q.untilMs)}`);
  const desc = q.order === 'desc';
  const cursor = decodeCursor(q.cursor);
  if (cursor !== undefined) where.push(`id ${desc ? '<' : '>'} ${arg(Number.isNaN(cursor) ? 0 : cursor)}`);
  const limit = Math.min(Math.max(1, q.limit ?? pageMax), pageMax);
  const sql = `SELECT * FROM refusals ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT ${arg(limit + 1)}`;
  return { sql, args, limit };
}

/** The page from up to `limit + 1` rows read by `refusalQuerySql`. */
export function refusalPageOf(rows: readonly Row[], limit: number): RefusalPage {
  const refusals = rows.slice(0, limit).map(refusalFromRow);
  const last = refusals[refusals.length - 1];
  return { refusals, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
