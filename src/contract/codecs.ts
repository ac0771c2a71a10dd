import {
  microsPerUsd,
  type AuditProblem,
  type AuditReport,
  type BudgetView,
  type ClosedPeriod,
  type Labels,
  type LedgerEntry,
  type Policy,
  type ReservationView,
  type TokenView,
} from '../core/index.js';
import type { BudgetJsonValue, LedgerEntryJsonValue } from './schemas.js';

/**
 * The ledger's views in the admin API's JSON form: snake_case fields, integer micros, ISO 8601
 * UTC times. The CLI's `--json` output and its remote backend use the same functions.
 */

/**
 * A time as ISO 8601 UTC with milliseconds, or null.
 *
 * @example
 * isoOrNull(0) // '1970-01-01T00:00:00.000Z'
 */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Money for machines: a plain decimal with exactly six places and no separators, so it
 * converts back to micros exactly.
 *
 * @example
 * usdExact(1_234_500) // '1.234500'
 */
export function usdExact(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  return `${sign}${Math.floor(abs / microsPerUsd)}.${String(abs % microsPerUsd).padStart(6, '0')}`;
}

/**
 * Share of a budget's allowance (limit + grants) taken by spend and reservations, in whole
 * percent rounded down; null without a limit.
 *
 * @example
 * usedPctOf({ limitMicros: 100, grantedMicros: 0, spentMicros: 50, reservedMicros: 2 }) // 52
 */
export function usedPctOf(b: Pick<BudgetView, 'limitMicros' | 'grantedMicros' | 'spentMicros' | 'reservedMicros'>): number | null {
  if (b.limitMicros === null) return null;
  const allowance = b.limitMicros + b.grantedMicros;
  if (allowance <= 0) return 100;
  return Math.floor(((b.spentMicros + b.reservedMicros) * 100) / allowance);
}

/**
 * A policy in JSON: snake_case, amounts in micros, absent fields left out.
 *
 * @example
 * policyToJson({ requestCapMicros: 500_000 }) // { request_cap_micros: 500000 }
 */
export function policyToJson(policy: Policy): { models?: string[]; request_cap_micros?: number; inflight_max?: number; max_output_tokens?: number; alert_thresholds_pct?: number[] } {
  const out: ReturnType<typeof policyToJson> = {};
  if (policy.models !== undefined) out.models = policy.models;
  if (policy.requestCapMicros !== undefined) out.request_cap_micros = policy.requestCapMicros;
  if (policy.inflightMax !== undefined) out.inflight_max = policy.inflightMax;
  if (policy.maxOutputTokens !== undefined) out.max_output_tokens = policy.maxOutputTokens;
  if (policy.alertThresholdsPct !== undefined) out.alert_thresholds_pct = policy.alertThresholdsPct;
  return out;
}

/**
 * A policy from its JSON form (the inverse of `policyToJson`).
 *
 * @example
 * policyFromJson({ inflight_max: 4 }) // { inflightMax: 4 }
 */
export function policyFromJson(json: ReturnType<typeof policyToJson>): Policy {
  const out: Policy = {};
  if (json.models !== undefined) out.models = json.models;
  if (json.request_cap_micros !== undefined) out.requestCapMicros = json.request_cap_micros;
  if (json.inflight_max !== undefined) out.inflightMax = json.inflight_max;
  if (json.max_output_tokens !== undefined) out.maxOutputTokens = json.max_output_tokens;
  if (json.alert_thresholds_pct !== undefined) out.alertThresholdsPct = json.alert_thresholds_pct;
  return out;
}

/**
 * A budget in JSON.
 *
 * @example
 * budgetToJson(view).limit_micros // 5000000
 */
export function budgetToJson(b: BudgetView): BudgetJsonValue {
  return {
    id: b.id,
    parent_id: b.parentId,
    path: b.path,
    name: b.name,
    kind: b.kind,
    status: b.status,
    limit_micros: b.limitMicros,
    spent_micros: b.spentMicros,
    reserved_micros: b.reservedMicros,
    granted_micros: b.grantedMicros,
    overrun_micros: b.overrunMicros,
    remaining_micros: b.remainingMicros,
    used_pct: usedPctOf(b),
    inflight: b.inflight,
    period: b.period,
    timezone: b.timezone,
    period_start: iso(b.periodStartMs),
    period_end: isoOrNull(b.periodEndMs),
    policy: policyToJson(b.policy),
    created_at: iso(b.createdMs),
  };
}

/**
 * A budget view from its JSON form (the inverse of `budgetToJson`; times are exact to the ms).
 *
 * @example
 * budgetFromJson(budgetToJson(view)) // deep-equals view
 */
export function budgetFromJson(j: BudgetJsonValue): BudgetView {
  return {
    id: j.id,
    parentId: j.parent_id,
    name: j.name,
    path: j.path,
    kind: j.kind,
    status: j.status,
    limitMicros: j.limit_micros,
    period: j.period,
    timezone: j.timezone,
    periodStartMs: Date.parse(j.period_start),
    periodEndMs: j.period_end === null ? null : Date.parse(j.period_end),
    spentMicros: j.spent_micros,
    reservedMicros: j.reserved_micros,
    grantedMicros: j.granted_micros,
    overrunMicros: j.overrun_micros,
    remainingMicros: j.remaining_micros,
    inflight: j.inflight,
    policy: policyFromJson(j.policy),
    createdMs: Date.parse(j.created_at),
  };
}

/**
 * Labels in JSON (snake_case, absent ones left out).
 *
 * @example
 * labelsToJson({ requestId: 'req_1' }) // { request_id: 'req_1' }
 */
export function labelsToJson(l: Labels): { model?: string; session?: string; task?: string; request_id?: string; actor?: string; tool?: string; token_id?: string } {
  const out: ReturnType<typeof labelsToJson> = {};
  if (l.model !== undefined) out.model = l.model;
  if (l.session !== undefined) out.session = l.session;
  if (l.task !== undefined) out.task = l.task;
  if (l.requestId !== undefined) out.request_id = l.requestId;
  if (l.actor !== undefined) out.actor = l.actor;
  if (l.tool !== undefined) out.tool = l.tool;
  if (l.tokenId !== undefined) out.token_id = l.tokenId;
  return out;
}

/**
 * Labels from their JSON form (the inverse of `labelsToJson`).
 *
 * @example
 * labelsFromJson({ request_id: 'req_1' }) // { requestId: 'req_1' }
 */
export function labelsFromJson(j: ReturnType<typeof labelsToJson>): Labels {
  const out: Labels = {};
  if (j.model !== undefined) out.model = j.model;
  if (j.session !== undefined) out.session = j.session;
  if (j.task !== undefined) out.task = j.task;
  if (j.request_id !== undefined) out.requestId = j.request_id;
  if (j.actor !== undefined) out.actor = j.actor;
  if (j.tool !== undefined) out.tool = j.tool;
  if (j.token_id !== undefined) out.tokenId = j.token_id;
  return out;
}

/**
 * A token in JSON: never its secret or hash.
 *
 * @example
 * tokenToJson(view).expires_at // '2026-01-02T00:00:00.000Z' or null
 */
export function tokenToJson(t: TokenView) {
  return {
    id: t.id,
    budget: t.budget,
    parent_token_id: t.parentTokenId,
    status: t.status,
    scopes: t.scopes,
    expires_at: isoOrNull(t.expiresMs),
    labels: labelsToJson(t.labels),
    created_at: iso(t.createdMs),
    revoked_at: isoOrNull(t.revokedMs),
  };
}

/**
 * A token view from its JSON form (the inverse of `tokenToJson`).
 *
 * @example
 * tokenFromJson(tokenToJson(view)) // deep-equals view
 */
export function tokenFromJson(j: ReturnType<typeof tokenToJson>): TokenView {
  return {
    id: j.id,
    budget: j.budget,
    parentTokenId: j.parent_token_id,
    status: j.status,
    scopes: j.scopes,
    expiresMs: j.expires_at === null ? null : Date.parse(j.expires_at),
    labels: labelsFromJson(j.labels),
    createdMs: Date.parse(j.created_at),
    revokedMs: j.revoked_at === null ? null : Date.parse(j.revoked_at),
  };
}

/**
 * A reservation in JSON.
 *
 * @example
 * reservationToJson(view).id // 'rsv_42'
 */
export function reservationToJson(r: ReservationView) {
  return {
    id: r.id,
    budget: r.budget,
    amount_micros: r.amountMicros,
    status: r.status,
    created_at: iso(r.createdMs),
    expires_at: iso(r.expiresMs),
    resolved_at: isoOrNull(r.resolvedMs),
    actual_micros: r.actualMicros,
    labels: labelsToJson(r.labels),
  };
}

/**
 * A ledger entry in JSON with its budget's current path.
 *
 * @example
 * entryToJson(entry, 'acme/bot').amount_micros // 900
 */
export function entryToJson(e: LedgerEntry, budgetPath: string): LedgerEntryJsonValue {
  return {
    seq: e.seq,
    ts: iso(e.tsMs),
    ts_ms: e.tsMs,
    kind: e.kind,
    budget: budgetPath,
    budget_id: e.budgetId,
    amount_micros: e.amountMicros,
    reservation_seq: e.reservationSeq,
    model: e.model,
    tokens_in: e.tokensIn,
    tokens_out: e.tokensOut,
    tokens_cached: e.tokensCached,
    tokens_cache_write: e.tokensCacheWrite,
    request_id: e.requestId,
    session: e.session,
    task: e.task,
    actor: e.actor,
    reason: e.reason,
    data: e.data,
    hash: e.hash,
  };
}

/**
 * A ledger entry (and its budget's path) from JSON: the inverse of `entryToJson`.
 *
 * @example
 * entryFromJson(entryToJson(entry, 'acme')) // { ...entry, budget: 'acme' }
 */
export function entryFromJson(j: LedgerEntryJsonValue): LedgerEntry & { budget: string } {
  return {
    seq: j.seq,
    tsMs: j.ts_ms,
    kind: j.kind,
    budgetId: j.budget_id,
    amountMicros: j.amount_micros,
    reservationSeq: j.reservation_seq,
    model: j.model,
    tokensIn: j.tokens_in,
    tokensOut: j.tokens_out,
    tokensCached: j.tokens_cached,
    tokensCacheWrite: j.tokens_cache_write,
    requestId: j.request_id,
    session: j.session,
    task: j.task,
    actor: j.actor,
    reason: j.reason,
    data: j.data,
    hash: j.hash,
    budget: j.budget,
  };
}

/**
 * An audit problem in JSON: absent facts are left out, so `null` keeps meaning null.
 *
 * @example
 * problemToJson({ seq: 7, message: 'altered' }) // { message: 'altered', seq: 7 }
 */
export function problemToJson(p: AuditProblem): AuditProblem {
  const out: AuditProblem = { message: p.message };
  if (p.seq !== undefined) out.seq = p.seq;
  if (p.budget !== undefined) out.budget = p.budget;
  if (p.field !== undefined) out.field = p.field;
  if (p.expected !== undefined) out.expected = p.expected;
  if (p.actual !== undefined) out.actual = p.actual;
  return out;
}

/**
 * An audit report in JSON.
 *
 * @example
 * auditToJson(report).head_hash // '9f…'
 */
export function auditToJson(r: AuditReport) {
  return {
    ok: r.ok,
    entries: r.entries,
    budgets: r.budgets,
    closed_periods: r.closedPeriods,
    open_reservations: r.openReservations,
    head_hash: r.headHash,
    problems: r.problems.map(problemToJson),
  };
}

/**
 * A closed period's totals in JSON.
 *
 * @example
 * closedPeriodToJson(p).spent_micros // 4200000
 */
export function closedPeriodToJson(p: ClosedPeriod) {
  return { start: iso(p.startMs), end: iso(p.endMs), spent_micros: p.spentMicros, granted_micros: p.grantedMicros, overrun_micros: p.overrunMicros };
}
