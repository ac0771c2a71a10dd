import {
  budgetFromRow,
  entryFromRow,
  tokenFromRow,
  budgetColumns,
  budgetValues,
  entryValues,
  guardColumns,
  ledgerColumns,
  tokenColumns,
  tokenValues,
  type Row,
} from '../rows.js';
import { assert, parseReservationId, reservationFromLedger, resolutionKindsSql, idempotencyKeyOf, limits, type BudgetRecord, type Command, type IdempotencyRecord, type LedgerEntry, type ReservationRecord, type TokenRecord } from '../../core/index.js';
import type { PgHead } from './postgres-cache.js';
import type { PgLoaded, PgTx } from './postgres-tx.js';
import { outboxEventsOf } from '../webhooks.js';

/** Entry kinds that resolve a reservation (must match the `ledger_resolution` index). */
export const resolvedKinds = resolutionKindsSql;

/** Takes the ledger head lock: the first statement of every write batch. */
export const lockHeadSql = 'BEGIN; SELECT seq, hash, ts_ms, version, budget_id_max FROM ledger_head WHERE id = 1 FOR UPDATE';

/**
 * Everything a batch needs besides the head, sent right behind the head lock (it runs once the
 * lock is held, so it reads what the previous writer committed): budgets written since the
 * cached version, the reservations its settles and voids name (reserve entry and latest
 * resolution), the open reservations due at the batch's time (the later of `$3`, this
 * process's clock, and the head's time), the tokens it names with their delegation subtrees,
 * and its idempotency keys.
 */
export const loadSql = `
SELECT
  (SELECT coalesce(json_agg(b), '[]'::json) FROM budgets b WHERE b.updated_version > $1) AS budgets,
  (SELECT coalesce(json_agg(l), '[]'::json) FROM ledger l WHERE l.seq = ANY($2::bigint[]) AND l.kind = 'reserve') AS reserves,
  (SELECT coalesce(json_agg(x), '[]'::json) FROM (
     SELECT DISTINCT ON (reservation_seq) * FROM ledger
     WHERE reservation_seq = ANY($2::bigint[]) AND ${resolvedKinds}
     ORDER BY reservation_seq, seq DESC) x) AS resolutions,
  (SELECT coalesce(json_agg(l ORDER BY d.expires_ms, d.seq), '[]'::json) FROM (
     SELECT seq, expires_ms FROM open_reservations
     WHERE expires_ms <= GREATEST($3::bigint, (SELECT ts_ms FROM ledger_head WHERE id = 1))
     ORDER BY expires_ms, seq LIMIT $4) d
     JOIN ledger l ON l.seq = d.seq) AS due,
  (WITH RECURSIVE tree AS (
     SELECT * FROM tokens WHERE id = ANY($5::text[])
     UNION
     SELECT c.* FROM tokens c JOIN tree p ON c.parent_token_id = p.id)
   SELECT coalesce(json_agg(tree), '[]'::json) FROM tree) AS tokens,
  (SELECT coalesce(json_agg(i), '[]'::json) FROM idempotency i WHERE i.key = ANY($6::text[])) AS keys`;

function columnList(columns: readonly string[]): string {
  return columns.join(', ');
}

const budgetUpdates = ['parent_id', 'path', 'status', 'limit_micros', 'period', 'timezone', 'period_start_ms', 'period_end_ms', 'spent_micros', 'reserved_micros', 'granted_micros', 'overrun_micros', 'inflight', 'policy', ...guardColumns, 'updated_version'];
const budgetAll = [...budgetColumns, 'updated_version'];
const closedColumns = ['budget_id', 'start_ms', 'end_ms', 'spent_micros', 'granted_micros', 'overrun_micros'];

/**
 * A batch's writes as one statement: each table's rows arrive as one JSON array, the head
 * moves, and `pg_notify` tells other processes (delivered only if the transaction commits).
 * Events among the entries go to the webhook outbox, one row per subscribed webhook.
 */
export const writeSql = `
WITH
  l AS (INSERT INTO ledger (${columnList(ledgerColumns)}) SELECT ${columnList(ledgerColumns)} FROM json_populate_recordset(NULL::ledger, $1::json)),
  bi AS (INSERT INTO budgets (${columnList(budgetAll)}) SELECT ${columnList(budgetAll)} FROM json_populate_recordset(NULL::budgets, $2::json)),
  bu AS (UPDATE budgets b SET ${budgetUpdates.map((c) => `${c} = u.${c}`).join(', ')} FROM json_populate_recordset(NULL::budgets, $3::json) u WHERE b.id = u.id),
  ri AS (INSERT INTO open_reservations (seq, budget_id, amount_micros, expires_ms) SELECT seq, budget_id, amount_micros, expires_ms FROM json_populate_recordset(NULL::open_reservations, $4::json)),
  rd AS (DELETE FROM open_reservations WHERE seq = ANY($5::bigint[])),
  ti AS (INSERT INTO tokens (${columnList(tokenColumns)}) SELECT ${columnList(tokenColumns)} FROM json_populate_recordset(NULL::tokens, $6::json)),
  tu AS (UPDATE tokens t SET status = u.status, revoked_ms = u.revoked_ms FROM json_populate_recordset(NULL::tokens, $7::json) u WHERE t.id = u.id),
  ii AS (INSERT INTO idempotency (key, fingerprint, result) SELECT key, fingerprint, result FROM json_populate_recordset(NULL::idempotency, $8::json)),
  cp AS (INSERT INTO budget_periods (${columnList(closedColumns)}) SELECT ${columnList(closedColumns)} FROM json_populate_recordset(NULL::budget_periods, $9::json)),
  wo AS (INSERT INTO webhook_outbox (webhook_id, event_id, kind, facts, created_ms, next_attempt_ms)
    SELECT w.id, e.event_id, e.kind, e.facts, e.created_ms, e.created_ms FROM json_populate_recordset(NULL::webhook_outbox, $16::json) e
    JOIN webhooks w ON w.events IS NULL OR e.kind = ANY(w.events) ON CONFLICT DO NOTHING),
  h AS (UPDATE ledger_head SET seq = $10, hash = $11, ts_ms = $12, version = $13, budget_id_max = $14 WHERE id = 1)
SELECT pg_notify($15, $10::text)`;

/** The keys a batch must look up before the machine runs. */
export interface BatchNeeds {
  reservationSeqs: number[];
  tokenIds: string[];
  keys: string[];
}

/** Collects what the commands will read, plus whatever an earlier attempt found missing. */
export function needsOf(cmds: readonly (Command | null)[], extra: BatchNeeds): BatchNeeds {
  const seqs = new Set(extra.reservationSeqs);
  const tokens = new Set(extra.tokenIds);
  const keys = new Set(extra.keys);
  for (const cmd of cmds) {
    if (cmd === null) continue;
    const key = idempotencyKeyOf(cmd);
    if (key !== undefined) keys.add(key);
    if (cmd.type === 'settle' || cmd.type === 'void') {
      const seq = parseReservationId(cmd.reservationId);
      if (seq !== undefined) seqs.add(seq);
    } else if (cmd.type === 'mintToken') {
      if (typeof cmd.tokenId === 'string') tokens.add(cmd.tokenId);
      if (typeof cmd.parentTokenId === 'string') tokens.add(cmd.parentTokenId);
    } else if (cmd.type === 'revokeToken' && typeof cmd.tokenId === 'string') {
      tokens.add(cmd.tokenId);
    }
  }
  return { reservationSeqs: [...seqs], tokenIds: [...tokens], keys: [...keys] };
}

/** Parameters of `loadSql`. */
export function loadParams(version: number, needs: BatchNeeds, nowMs: number): unknown[] {
  return [version, needs.reservationSeqs, nowMs, limits.expirePerBatchMax, needs.tokenIds, needs.keys];
}

/** The load query's one row: each column a JSON array (parsed by the driver). */
interface LoadRow {
  budgets: Row[];
  reserves: Row[];
  resolutions: Row[];
  due: Row[];
  tokens: Row[];
  keys: IdempotencyRecord[];
}

function isLoadRow(row: Row | undefined): row is Row & LoadRow {
  return row !== undefined && ['budgets', 'reserves', 'resolutions', 'due', 'tokens', 'keys'].every((k) => Array.isArray(row[k]));
}

/** Turns the load query's answer into budgets for the cache and the batch's other state. */
export function parseLoaded(answer: Row | undefined, needs: BatchNeeds): { budgets: BudgetRecord[]; loaded: PgLoaded } {
  assert(isLoadRow(answer), 'the load query answered in an unexpected shape');
  const row: LoadRow = answer;
  const reservations = new Map<number, ReservationRecord | null>(needs.reservationSeqs.map((s) => [s, null]));
  const resolutions = new Map<number, LedgerEntry>();
  for (const r of row.resolutions) {
    const e = entryFromRow(r);
    if (e.reservationSeq !== null) resolutions.set(e.reservationSeq, e);
  }
  for (const r of row.reserves) {
    const e = entryFromRow(r);
    reservations.set(e.seq, reservationFromLedger(e, resolutions.get(e.seq)));
  }
  const due: ReservationRecord[] = [];
  for (const r of row.due) {
    const e = entryFromRow(r);
    let record = reservations.get(e.seq);
    if (!record) {
      record = reservationFromLedger(e);
      reservations.set(e.seq, record);
    }
    due.push(record);
  }
  const tokens = new Map<string, TokenRecord | null>(needs.tokenIds.map((id) => [id, null]));
  for (const r of row.tokens) {
    const t = tokenFromRow(r);
    tokens.set(t.id, t);
  }
  const idempotency = new Map<string, IdempotencyRecord | null>(needs.keys.map((k) => [k, null]));
  for (const k of row.keys) idempotency.set(k.key, { key: k.key, fingerprint: k.fingerprint, result: k.result });
  const loaded: PgLoaded = { reservations, due, tokens, tokenSubtrees: new Set(tokens.keys()), idempotency };
  return { budgets: row.budgets.map(budgetFromRow), loaded };
}

function objectOf(columns: readonly string[], values: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  columns.forEach((c, i) => (out[c] = values[i]));
  return out;
}

function budgetJson(b: BudgetRecord, version: number): Record<string, unknown> {
  const row = objectOf(budgetColumns, budgetValues(b));
  row.updated_version = version;
  return row;
}

/** Parameters of `writeSql` for a batch that ends at `head` (already advanced by the machine). */
export function writeParams(tx: PgTx, head: PgHead, channel: string): unknown[] {
  const v = head.version;
  const updated = [...tx.dirtyBudgets].filter((b) => !tx.newBudgets.has(b));
  const opened = [...tx.created.values()].filter((r) => r.status === 'open');
  return [
    JSON.stringify(tx.entries.map((e) => objectOf(ledgerColumns, entryValues(e)))),
    JSON.stringify([...tx.newBudgets].map((b) => budgetJson(b, v))),
    JSON.stringify(updated.map((b) => budgetJson(b, v))),
    JSON.stringify(opened.map((r) => ({ seq: r.seq, budget_id: r.budgetId, amount_micros: r.amountMicros, expires_ms: r.expiresMs }))),
    [...tx.resolved],
    JSON.stringify([...tx.newTokens.values()].map((t) => objectOf(tokenColumns, tokenValues(t)))),
    JSON.stringify([...tx.dirtyTokens].filter((t) => !tx.newTokens.has(t.id)).map((t) => ({ id: t.id, status: t.status, revoked_ms: t.revokedMs }))),
    JSON.stringify([...tx.idempotencyRecords.values()]),
    JSON.stringify(tx.closedPeriods.map((p) => ({ budget_id: p.budgetId, start_ms: p.startMs, end_ms: p.endMs, spent_micros: p.spentMicros, granted_micros: p.grantedMicros, overrun_micros: p.overrunMicros }))),
    head.seq,
    head.hash,
    head.tsMs,
    head.version,
    head.budgetIdMax,
    channel,
    JSON.stringify(outboxEventsOf(tx.entries, (id) => tx.budgetById(id)).map((e) => ({ event_id: e.eventId, kind: e.kind, facts: e.facts, created_ms: e.createdMs }))),
  ];
}
