import { loopsFromText, loopsText, type BudgetRecord, type BurnWindow, type ClosedPeriod, type LedgerEntry, type Period, type Policy, type TokenRecord } from '../core/index.js';

/** Column values as drivers return them (PostgreSQL's int8 arrives as a string). */
export type Row = Record<string, unknown>;

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));

export function budgetFromRow(r: Row): BudgetRecord {
  return {
    id: num(r.id),
    parentId: numOrNull(r.parent_id),
    name: String(r.name),
    path: String(r.path),
    kind: String(r.kind) as BudgetRecord['kind'],
    status: String(r.status) as BudgetRecord['status'],
    limitMicros: numOrNull(r.limit_micros),
    period: String(r.period) as Period,
    timezone: String(r.timezone),
    periodStartMs: num(r.period_start_ms),
    periodEndMs: numOrNull(r.period_end_ms),
    spentMicros: num(r.spent_micros),
    reservedMicros: num(r.reserved_micros),
    grantedMicros: num(r.granted_micros),
    overrunMicros: num(r.overrun_micros),
    inflight: num(r.inflight),
    policy: JSON.parse(String(r.policy)) as Policy,
    createdMs: num(r.created_ms),
    alertSpentPct: num(r.alert_spent_pct ?? 0),
    alertCommittedPct: num(r.alert_committed_pct ?? 0),
    trippedUntilMs: numOrNull(r.tripped_until_ms),
    breakerTrips: num(r.breaker_trips ?? 0),
    probeSeq: numOrNull(r.probe_seq),
    breakerCode: r.breaker_code === 'loop_detected' ? 'loop_detected' : r.breaker_code === 'burn_limit' ? 'burn_limit' : null,
    burn: typeof r.burn === 'string' ? (JSON.parse(r.burn) as BurnWindow[]) : null,
    loops: typeof r.loops === 'string' ? loopsFromText(r.loops) : null,
  };
}

/**
 * A budget's guard state in `guardColumns` order: what a reservation or settlement may change
 * besides the balances. The loop state keeps its own text, rebuilt only when it changed.
 */
export function guardValues(b: BudgetRecord): unknown[] {
  return [b.alertSpentPct, b.alertCommittedPct, b.trippedUntilMs, b.breakerTrips, b.probeSeq, b.burn === null ? null : JSON.stringify(b.burn), b.breakerCode, loopsText(b.loops)];
}

export const guardColumns = ['alert_spent_pct', 'alert_committed_pct', 'tripped_until_ms', 'breaker_trips', 'probe_seq', 'burn', 'breaker_code', 'loops'] as const;

/** Column values of a budget, in `budgetColumns` order. */
export function budgetValues(b: BudgetRecord): unknown[] {
  return [b.id, b.parentId, b.name, b.path, b.kind, b.status, b.limitMicros, b.period, b.timezone, b.periodStartMs, b.periodEndMs, b.spentMicros, b.reservedMicros, b.grantedMicros, b.overrunMicros, b.inflight, JSON.stringify(b.policy), b.createdMs, ...guardValues(b)];
}

export const budgetColumns = ['id', 'parent_id', 'name', 'path', 'kind', 'status', 'limit_micros', 'period', 'timezone', 'period_start_ms', 'period_end_ms', 'spent_micros', 'reserved_micros', 'granted_micros', 'overrun_micros', 'inflight', 'policy', 'created_ms', ...guardColumns] as const;

export function tokenFromRow(r: Row): TokenRecord {
  return {
    id: String(r.id),
    hash: String(r.hash),
    budgetId: num(r.budget_id),
    parentTokenId: strOrNull(r.parent_token_id),
    status: String(r.status) as TokenRecord['status'],
    scopes: JSON.parse(String(r.scopes)) as string[],
    expiresMs: numOrNull(r.expires_ms),
    labels: JSON.parse(String(r.labels)) as TokenRecord['labels'],
    createdMs: num(r.created_ms),
    revokedMs: numOrNull(r.revoked_ms),
  };
}

export const tokenColumns = ['id', 'hash', 'budget_id', 'parent_token_id', 'status', 'scopes', 'expires_ms', 'labels', 'created_ms', 'revoked_ms'] as const;

export function tokenValues(t: TokenRecord): unknown[] {
  return [t.id, t.hash, t.budgetId, t.parentTokenId, t.status, JSON.stringify(t.scopes), t.expiresMs, JSON.stringify(t.labels), t.createdMs, t.revokedMs];
}

export const ledgerColumns = ['seq', 'ts_ms', 'kind', 'budget_id', 'amount_micros', 'reservation_seq', 'model', 'tokens_in', 'tokens_out', 'tokens_cached', 'tokens_cache_write', 'request_id', 'session', 'task', 'actor', 'reason', 'data', 'hash'] as const;

export function entryValues(e: LedgerEntry): unknown[] {
  return [e.seq, e.tsMs, e.kind, e.budgetId, e.amountMicros, e.reservationSeq, e.model, e.tokensIn, e.tokensOut, e.tokensCached, e.tokensCacheWrite, e.requestId, e.session, e.task, e.actor, e.reason, e.data, e.hash];
}

export function entryFromRow(r: Row): LedgerEntry {
  return {
    seq: num(r.seq),
    tsMs: num(r.ts_ms),
    kind: String(r.kind) as LedgerEntry['kind'],
    budgetId: num(r.budget_id),
    amountMicros: num(r.amount_micros),
    reservationSeq: numOrNull(r.reservation_seq),
    model: strOrNull(r.model),
    tokensIn: numOrNull(r.tokens_in),
    tokensOut: numOrNull(r.tokens_out),
    tokensCached: numOrNull(r.tokens_cached),
    tokensCacheWrite: numOrNull(r.tokens_cache_write),
    requestId: strOrNull(r.request_id),
    session: strOrNull(r.session),
    task: strOrNull(r.task),
    actor: strOrNull(r.actor),
    reason: strOrNull(r.reason),
    data: strOrNull(r.data),
    hash: String(r.hash),
  };
}

export function closedFromRow(r: Row): ClosedPeriod {
  return {
    budgetId: num(r.budget_id),
    startMs: num(r.start_ms),
    endMs: num(r.end_ms),
    spentMicros: num(r.spent_micros),
    grantedMicros: num(r.granted_micros),
    overrunMicros: num(r.overrun_micros),
  };
}

/** Cursor text for a ledger position. */
export function encodeCursor(seq: number): string {
  return `s${seq.toString(36)}`;
}

export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  if (!/^s[0-9a-z]{1,12}$/.test(cursor)) return Number.NaN;
  return parseInt(cursor.slice(1), 36);
}

/** The columns an entry fills when `isBareEntry` (`ledgerColumns` less the usage, request and attribution fields). */
export const bareLedgerColumns = ['seq', 'ts_ms', 'kind', 'budget_id', 'amount_micros', 'reservation_seq', 'model', 'data', 'hash'] as const;

