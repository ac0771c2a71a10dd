import type pg from 'pg';
import {
  anchored,
  checkpointFromText,
  genesisHash,
  limits,
  replayLedger,
  reservationFromLedger,
  type AuditReport,
  type ReplayCheckpoint,
  type BudgetRecord,
  type ClosedPeriod,
  type LedgerEntry,
  type ReservationRecord,
} from '../../core/index.js';
import { budgetFromRow, closedFromRow, decodeCursor, encodeCursor, entryFromRow, type Row } from '../rows.js';
import type { LedgerPage, LedgerQuery } from '../store.js';
import { postgresLimits } from './postgres-limits.js';
import { resolvedKinds } from './postgres-sql.js';

/** A pool or a checked-out client: anything that answers a parameterised query. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
}

async function rows(q: Queryable, text: string, values: unknown[] = []): Promise<Row[]> {
  return (await q.query(text, values)).rows;
}

/**
 * The budget at `path`, or undefined.
 *
 * @example
 * const b = await budgetAt(pool, 'acme/research');
 */
export async function budgetAt(q: Queryable, path: string): Promise<BudgetRecord | undefined> {
  const [row] = await rows(q, 'SELECT * FROM budgets WHERE path = $1', [path]);
  return row ? budgetFromRow(row) : undefined;
}

/** Every budget, sorted by path as JavaScript compares strings (whatever the collation). */
export async function allBudgets(q: Queryable): Promise<BudgetRecord[]> {
  const out = (await rows(q, 'SELECT * FROM budgets')).map(budgetFromRow);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The model, tag and provider budgets, sorted by path. */
export async function crossBudgetsIn(q: Queryable): Promise<BudgetRecord[]> {
  const out = (await rows(q, "SELECT * FROM budgets WHERE kind IN ('model', 'tag', 'provider')")).map(budgetFromRow);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The budget at `path` and its ancestors, leaf first (a path's prefixes are its ancestors). */
export async function chainAt(q: Queryable, path: string): Promise<BudgetRecord[]> {
  const names = path.split('/');
  const prefixes = names.map((_, i) => names.slice(0, i + 1).join('/'));
  const byId = new Map((await rows(q, 'SELECT * FROM budgets WHERE path = ANY($1::text[])', [prefixes])).map((r) => {
    const b = budgetFromRow(r);
    return [b.id, b] as const;
  }));
  const out: BudgetRecord[] = [];
  let b = [...byId.values()].find((x) => x.path === path);
  while (b && out.length <= limits.pathDepthMax) {
    out.push(b);
    b = b.parentId === null ? undefined : byId.get(b.parentId);
  }
  return out;
}

/** A reservation rebuilt from its ledger entries, with its budget's current path. */
export async function reservationAt(q: Queryable, seq: number): Promise<{ record: ReservationRecord; path: string } | undefined> {
  const [row] = await rows(
    q,
    `SELECT (SELECT row_to_json(l) FROM ledger l WHERE l.seq = $1 AND l.kind = 'reserve') AS reserve,
            (SELECT row_to_json(x) FROM (SELECT * FROM ledger WHERE reservation_seq = $1 AND ${resolvedKinds} ORDER BY seq DESC LIMIT 1) x) AS resolution,
            (SELECT b.path FROM ledger l JOIN budgets b ON b.id = l.budget_id WHERE l.seq = $1) AS path`,
    [seq],
  );
  if (!row?.reserve) return undefined;
  const resolution = row.resolution ? entryFromRow(row.resolution as Row) : undefined;
  return { record: reservationFromLedger(entryFromRow(row.reserve as Row), resolution), path: typeof row.path === 'string' ? row.path : '' };
}

/**
 * One page of the ledger, filtered as `query` asks; budget filters cover the whole subtree.
 *
 * @example
 * const page = await ledgerPage(pool, { budget: 'acme', kinds: ['settle'], limit: 50 });
 */
export async function ledgerPage(q: Queryable, query: LedgerQuery): Promise<LedgerPage> {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (value: unknown): string => {
    args.push(value);
    return `$${args.length}`;
  };
  if (query.budget !== undefined) {
    const at = arg(query.budget);
    where.push(`budget_id IN (SELECT id FROM budgets WHERE path = ${at} OR starts_with(path, ${at} || '/'))`);
  }
  for (const [column, value] of [['session', query.session], ['task', query.task], ['model', query.model]] as const) {
    if (value !== undefined) where.push(`${column} = ${arg(value)}`);
  }
  if (query.kinds && query.kinds.length > 0) where.push(`kind = ANY(${arg(query.kinds)}::text[])`);
  if (query.sinceMs !== undefined) where.push(`ts_ms >= ${arg(query.sinceMs)}`);
  if (query.untilMs !== undefined) where.push(`ts_ms < ${arg(query.untilMs)}`);
  const desc = query.order === 'desc';
  const cursor = decodeCursor(query.cursor);
  if (cursor !== undefined) where.push(`seq ${desc ? '<' : '>'} ${arg(Number.isNaN(cursor) ? 0 : cursor)}`);
  const limit = Math.min(Math.max(1, query.limit ?? limits.ledgerPageDefault), limits.ledgerPageMax);
  const text = `SELECT * FROM ledger ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT ${arg(limit + 1)}`;
  const found = await rows(q, text, args);
  const entries = found.slice(0, limit).map(entryFromRow);
  const last = entries[entries.length - 1];
  return { entries, nextCursor: found.length > limit && last ? encodeCursor(last.seq) : null };
}

/** Ledger entries with `afterSeq < seq <= uptoSeq`, oldest first, at most `max`. */
export async function entriesBetween(q: Queryable, afterSeq: number, uptoSeq: number, max: number): Promise<LedgerEntry[]> {
  return (await rows(q, 'SELECT * FROM ledger WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3', [afterSeq, uptoSeq, max])).map(entryFromRow);
}

export async function closedPeriodsAt(q: Queryable, path: string): Promise<ClosedPeriod[]> {
  const found = await rows(q, 'SELECT p.* FROM budget_periods p JOIN budgets b ON b.id = p.budget_id WHERE b.path = $1 ORDER BY p.start_ms', [path]);
  return found.map(closedFromRow);
}

/**
 * Replays the whole ledger, read in pages by sequence inside one read-only snapshot, and
 * compares it with the stored budgets, closed periods, open reservations and head.
 *
 * @example
 * const report = await auditLedger(client); // report.ok, report.problems
 */
export async function auditLedger(client: Queryable, o: { full: boolean; nowMs: number }): Promise<AuditReport> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  let report: AuditReport;
  let checkpoint: ReplayCheckpoint | undefined;
  try {
    ({ report, checkpoint } = await replayFrom(client, o.full));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  if (checkpoint) {
    await client.query('INSERT INTO audit_checkpoints (seq, hash, state, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO UPDATE SET hash = EXCLUDED.hash, state = EXCLUDED.state, created_ms = EXCLUDED.created_ms', [checkpoint.seq, checkpoint.hash, JSON.stringify(checkpoint), o.nowMs]);
    await client.query('DELETE FROM audit_checkpoints WHERE seq < (SELECT min(seq) FROM (SELECT seq FROM audit_checkpoints ORDER BY seq DESC LIMIT 2) AS kept)');
  }
  return report;
}

/**
 * Replays the ledger, inside the caller's snapshot, from the last audit's checkpoint (when the
 * ledger still holds that entry with that hash) or from the first entry.
 */
async function replayFrom(client: Queryable, full: boolean): Promise<{ report: AuditReport; checkpoint: ReplayCheckpoint | undefined }> {
  const [saved] = full ? [] : await rows(client, 'SELECT seq, hash, state FROM audit_checkpoints ORDER BY seq DESC LIMIT 1');
  const mark = saved && { seq: Number(saved.seq), hash: String(saved.hash) };
  const around = mark ? await rows(client, 'SELECT * FROM ledger WHERE seq IN ($1, $2) ORDER BY seq', [mark.seq - 1, mark.seq]) : [];
  const entry = around.find((r) => Number(r.seq) === mark?.seq);
  const previous = around.find((r) => Number(r.seq) === (mark?.seq ?? 0) - 1);
  const holds = mark !== undefined && anchored(mark, entry && entryFromRow(entry), previous ? entryFromRow(previous).hash : genesisHash);
  const from = holds ? checkpointFromText(String(saved?.state)) : undefined;
  const replay = replayLedger(from);
  if (mark !== undefined && !holds) replay.unanchored(mark, entry ? String(entry.hash) : null);
  const pageRows = postgresLimits.ledgerFetchRowsMax;
  for (let after = from?.seq ?? 0; ; ) {
    const page = await rows(client, 'SELECT * FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2', [after, pageRows]);
    for (const row of page) replay.apply(entryFromRow(row));
    const last = page[page.length - 1];
    if (!last || page.length < pageRows) break;
    after = Number(last.seq);
  }
  const budgets = (await rows(client, 'SELECT * FROM budgets')).map(budgetFromRow);
  const closedPeriods = (await rows(client, 'SELECT * FROM budget_periods')).map(closedFromRow);
  const openReservations = (await rows(client, 'SELECT * FROM open_reservations')).map(openFromRow);
  const [head] = await rows(client, 'SELECT seq, hash FROM ledger_head WHERE id = 1');
  const report = replay.finish({ budgets, closedPeriods, openReservations, headSeq: Number(head?.seq), headHash: String(head?.hash) });
  const moved = report.ok && report.entries > (from?.entries ?? 0);
  return { report, checkpoint: moved ? replay.checkpoint() : undefined };
}

/** An open reservation as the `open_reservations` index stores it (no labels: those are in the ledger). */
function openFromRow(r: Row): ReservationRecord {
  return {
    seq: Number(r.seq),
    budgetId: Number(r.budget_id),
    amountMicros: Number(r.amount_micros),
    status: 'open',
    createdMs: 0,
    expiresMs: Number(r.expires_ms),
    resolvedMs: null,
    actualMicros: null,
    labels: {},
    // Only the amount and budget are compared by the audit; the rule is in the reserve entry.
    onExpiry: 'release',
  };
}
