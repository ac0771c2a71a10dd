import {
  microsPerUsd,
  parseReservationId,
  reservationId,
  type AlertView,
  type AuditProblem,
  type AuditReport,
  type BudgetKind,
  type ExpiryRule,
  type BudgetStatus,
  type BudgetView,
  type BrownoutTier,
  type BurnLimit,
  type ClosedPeriod,
  type LoopLimit,
  type Labels,
  type LedgerEntry,
  type Period,
  type Policy,
  type RefusalRecord,
  type RefusalWrite,
  type ReservationView,
  type TokenView,
} from '../core/index.js';
import type { z } from 'zod';
import type { BalanceJson, DelegatedJson, SettleJson, ToolReservedJson } from './agent-schemas.js';
import type { AlertJsonValue, BudgetJsonValue, LedgerEntryJsonValue, RefusalJsonValue } from './schemas.js';

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

/** Ledger names and wire names of a record's optional fields, in pairs. */
type Names = readonly (readonly [string, string])[];

/** The fields `names` lists (ledger name → wire name, or back with `back`) that are present. */
function renamed<T>(source: object, names: Names, back = false): T {
  const out: Record<string, unknown> = {};
  for (const [ledger, wire] of names) {
    const value = (source as Record<string, unknown>)[back ? wire : ledger];
    if (value !== undefined) out[back ? ledger : wire] = value;
  }
  return out as T;
}

const policyNames: Names = [
  ['models', 'models'],
  ['requestCapMicros', 'request_cap_micros'],
  ['inflightMax', 'inflight_max'],
  ['maxOutputTokens', 'max_output_tokens'],
  ['alertThresholdsPct', 'alert_thresholds_pct'],
  ['onExpiry', 'on_expiry'],
  ['requiredTags', 'required_tags'],
  ['fallbacks', 'fallbacks'],
];

export type BurnLimitJsonValue = { amount_micros: number; window_ms: number };

export type BrownoutTierJsonValue = { at_pct: number; from: string; to: string };

export type LoopLimitJsonValue = { repeats: number; window_ms: number } | 'off';

export type PolicyJsonValue = {
  models?: string[];
  request_cap_micros?: number;
  inflight_max?: number;
  max_output_tokens?: number;
  alert_thresholds_pct?: number[];
  burn_limits?: BurnLimitJsonValue[];
  loop_limit?: LoopLimitJsonValue;
  on_expiry?: ExpiryRule;
  required_tags?: string[];
  brownout?: BrownoutTierJsonValue[];
  fallbacks?: { from: string; to: string[] }[];
};

/** A change to a policy: a value sets the field, null removes it, a missing key leaves it. */
export type PolicyPatch = { [K in keyof Policy]?: Policy[K] | null };
export type PolicyPatchJsonValue = { [K in keyof PolicyJsonValue]?: PolicyJsonValue[K] | null };

/**
 * A policy in JSON: snake_case, amounts in micros, absent fields left out.
 *
 * @example
 * policyToJson({ requestCapMicros: 500_000 }) // { request_cap_micros: 500000 }
 */
export function policyToJson(policy: Policy): PolicyJsonValue {
  const json = renamed<PolicyJsonValue>(policy, policyNames);
  if (policy.burnLimits !== undefined) json.burn_limits = policy.burnLimits.map(burnLimitToJson);
  if (policy.loopLimit !== undefined) json.loop_limit = loopLimitToJson(policy.loopLimit);
  if (policy.brownout !== undefined) json.brownout = policy.brownout.map(tierToJson);
  return json;
}

function tierToJson(t: BrownoutTier): BrownoutTierJsonValue {
  return { at_pct: t.atPct, from: t.from, to: t.to };
}

function tierFromJson(t: BrownoutTierJsonValue): BrownoutTier {
  return { atPct: t.at_pct, from: t.from, to: t.to };
}

function loopLimitToJson(l: LoopLimit | 'off'): LoopLimitJsonValue {
  return l === 'off' ? 'off' : { repeats: l.repeats, window_ms: l.windowMs };
}

function loopLimitFromJson(l: LoopLimitJsonValue): LoopLimit | 'off' {
  return l === 'off' ? 'off' : { repeats: l.repeats, windowMs: l.window_ms };
}

function burnLimitToJson(l: BurnLimit): BurnLimitJsonValue {
  return { amount_micros: l.amountMicros, window_ms: l.windowMs };
}

function burnLimitFromJson(l: BurnLimitJsonValue): BurnLimit {
  return { amountMicros: l.amount_micros, windowMs: l.window_ms };
}

/**
 * A policy from its JSON form (the inverse of `policyToJson`).
 *
 * @example
 * policyFromJson({ inflight_max: 4 }) // { inflightMax: 4 }
 */
export function policyFromJson(json: PolicyJsonValue): Policy {
  const policy = renamed<Policy>(json, policyNames, true);
  if (json.burn_limits !== undefined) policy.burnLimits = json.burn_limits.map(burnLimitFromJson);
  if (json.loop_limit !== undefined) policy.loopLimit = loopLimitFromJson(json.loop_limit);
  if (json.brownout !== undefined) policy.brownout = json.brownout.map(tierFromJson);
  return policy;
}

/**
 * A policy change in JSON (null removes a field).
 *
 * @example
 * policyPatchToJson({ models: null }) // { models: null }
 */
export function policyPatchToJson(patch: PolicyPatch): PolicyPatchJsonValue {
  const json = renamed<PolicyPatchJsonValue>(patch, policyNames);
  if (patch.burnLimits !== undefined) json.burn_limits = patch.burnLimits === null ? null : patch.burnLimits.map(burnLimitToJson);
  if (patch.loopLimit !== undefined) json.loop_limit = patch.loopLimit === null ? null : loopLimitToJson(patch.loopLimit);
  if (patch.brownout !== undefined) json.brownout = patch.brownout === null ? null : patch.brownout.map(tierToJson);
  return json;
}

/**
 * A policy change from JSON; undefined when it changes nothing.
 *
 * @example
 * policyPatchFromJson({ inflight_max: null }) // { inflightMax: null }
 */
export function policyPatchFromJson(json: PolicyPatchJsonValue | undefined): PolicyPatch | undefined {
  if (json === undefined) return undefined;
  const patch = renamed<PolicyPatch>(json, policyNames, true);
  if (json.burn_limits !== undefined) patch.burnLimits = json.burn_limits === null ? null : json.burn_limits.map(burnLimitFromJson);
  if (json.loop_limit !== undefined) patch.loopLimit = json.loop_limit === null ? null : loopLimitFromJson(json.loop_limit);
  if (json.brownout !== undefined) patch.brownout = json.brownout === null ? null : json.brownout.map(tierFromJson);
  return Object.keys(patch).length > 0 ? patch : undefined;
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
    alert_spent_pct: b.alertSpentPct,
    alert_committed_pct: b.alertCommittedPct,
    breaker: b.breaker,
    tripped_until: isoOrNull(b.trippedUntilMs),
    breaker_code: b.breakerCode,
    burn: b.burn.map((w) => ({ amount_micros: w.amountMicros, window_ms: w.windowMs, burn_micros: w.burnMicros })),
    loop: loopToJson(b.loop),
  };
}

function loopToJson(l: BudgetView['loop']): BudgetJsonValue['loop'] {
  if (l === null) return null;
  const top = l.mostRepeated;
  const most = top && { fingerprint: top.fingerprint, count: top.count, first_request: reservationId({ seq: top.firstSeq }), last_request: reservationId({ seq: top.lastSeq }) };
  return { repeats: l.repeats, window_ms: l.windowMs, tracked: l.tracked, most_repeated: most };
}

function loopFromJson(j: BudgetJsonValue['loop']): BudgetView['loop'] {
  if (j === null) return null;
  const top = j.most_repeated;
  const most = top && { fingerprint: top.fingerprint, count: top.count, firstSeq: parseReservationId(top.first_request) ?? 0, lastSeq: parseReservationId(top.last_request) ?? 0 };
  return { repeats: j.repeats, windowMs: j.window_ms, tracked: j.tracked, mostRepeated: most };
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
    alertSpentPct: j.alert_spent_pct,
    alertCommittedPct: j.alert_committed_pct,
    breaker: j.breaker,
    trippedUntilMs: j.tripped_until === null ? null : Date.parse(j.tripped_until),
    breakerCode: j.breaker_code,
    burn: j.burn.map((w) => ({ amountMicros: w.amount_micros, windowMs: w.window_ms, burnMicros: w.burn_micros })),
    loop: loopFromJson(j.loop),
  };
}

/**
 * An alert in JSON, with its budget's current path.
 *
 * @example
 * alertToJson({ ...alertOf(entry), budget: 'acme/bot' }).threshold_pct // 75
 */
export function alertToJson(a: AlertView & { budget: string }): AlertJsonValue {
  return {
    seq: a.seq,
    ts: iso(a.tsMs),
    budget: a.budget,
    threshold_pct: a.thresholdPct,
    basis: a.basis,
    value_micros: a.valueMicros,
    limit_micros: a.limitMicros,
    granted_micros: a.grantedMicros,
    spent_micros: a.spentMicros,
    reserved_micros: a.reservedMicros,
    period_start: iso(a.periodStartMs),
  };
}

/**
 * A refusal row (or the refusal an event announces before it has a row) in JSON.
 *
 * @example
 * refusalToJson(row).amount_micros // 41_005
 */
export function refusalToJson(r: RefusalWrite): RefusalJsonValue {
  return {
    id: r.id,
    code: r.code,
    status: r.status,
    budget: r.budget,
    agent: r.agent,
    token_id_prefix: r.tokenIdPrefix,
    model: r.model,
    tool: r.tool,
    amount_micros: r.amountMicros,
    message: r.message,
    request_id: r.requestId,
    route: r.route,
    count: r.count,
    first_at: iso(r.firstMs),
    last_at: iso(r.lastMs),
  };
}

/**
 * A refusal row from JSON: the inverse of `refusalToJson` (an event's row without an id has id 0).
 *
 * @example
 * refusalFromJson(refusalToJson(row)) // row
 */
export function refusalFromJson(j: RefusalJsonValue): RefusalRecord {
  return {
    id: j.id ?? 0,
    code: j.code,
    status: j.status,
    budget: j.budget,
    agent: j.agent,
    tokenIdPrefix: j.token_id_prefix,
    model: j.model,
    tool: j.tool,
    amountMicros: j.amount_micros,
    message: j.message,
    requestId: j.request_id,
    route: j.route,
    count: j.count,
    firstMs: Date.parse(j.first_at),
    lastMs: Date.parse(j.last_at),
  };
}

const labelNames: Names = [
  ['model', 'model'],
  ['session', 'session'],
  ['task', 'task'],
  ['requestId', 'request_id'],
  ['actor', 'actor'],
  ['tool', 'tool'],
  ['tokenId', 'token_id'],
];

export type LabelsJsonValue = { model?: string; session?: string; task?: string; request_id?: string; actor?: string; tool?: string; token_id?: string };

/**
 * Labels in JSON (snake_case, absent ones left out).
 *
 * @example
 * labelsToJson({ requestId: 'req_1' }) // { request_id: 'req_1' }
 */
export function labelsToJson(l: Labels): LabelsJsonValue {
  return renamed(l, labelNames);
}

/**
 * Labels from their JSON form (the inverse of `labelsToJson`).
 *
 * @example
 * labelsFromJson({ request_id: 'req_1' }) // { requestId: 'req_1' }
 */
export function labelsFromJson(j: LabelsJsonValue | undefined): Labels {
  return j === undefined ? {} : renamed(j, labelNames, true);
}

/** What a token may do, as both mint routes (the admin's and a delegating token's) take it. */
export interface TokenLimitsJson {
  max_spend_micros?: number | null;
  models?: string[];
  request_cap_micros?: number;
  inflight_max?: number;
}

/**
 * A token's limits from the JSON the mint routes take.
 *
 * @example
 * tokenLimitsFromJson({ max_spend_micros: 500_000, inflight_max: 2 }) // { limitMicros: 500000, inflightMax: 2 }
 */
export function tokenLimitsFromJson(b: TokenLimitsJson): { limitMicros?: number | null; models?: string[]; requestCapMicros?: number; inflightMax?: number } {
  return renamed(b, [['limitMicros', 'max_spend_micros'], ['models', 'models'], ['requestCapMicros', 'request_cap_micros'], ['inflightMax', 'inflight_max']], true);
}

/**
 * A token's expiry from `expires_at`, or from a lifetime (`expires_in_ms`) counted from `nowMs`;
 * undefined when neither is given.
 *
 * @example
 * expiryFromJson({ expires_in_ms: 60_000 }, 1_000) // 61000
 */
export function expiryFromJson(b: { expires_at?: string; expires_in_ms?: number }, nowMs: number): number | undefined {
  if (b.expires_at !== undefined) return Date.parse(b.expires_at);
  return b.expires_in_ms === undefined ? undefined : nowMs + b.expires_in_ms;
}

/**
 * Token usage of a settlement from JSON.
 *
 * @example
 * usageFromJson({ model: 'gpt-4o-mini', tokens_in: 10 }) // { model: 'gpt-4o-mini', tokensIn: 10 }
 */
export function usageFromJson(u: { model?: string; tokens_in?: number; tokens_out?: number; tokens_cached?: number; tokens_cache_write?: number } | undefined): { model?: string; tokensIn?: number; tokensOut?: number; tokensCached?: number; tokensCacheWrite?: number } | undefined {
  return u === undefined ? undefined : renamed(u, [['model', 'model'], ['tokensIn', 'tokens_in'], ['tokensOut', 'tokens_out'], ['tokensCached', 'tokens_cached'], ['tokensCacheWrite', 'tokens_cache_write']], true);
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
    verified_from_seq: r.verifiedFromSeq,
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

/** One level of a chain as a balance shows it. */
export interface BalanceLevel {
  budget: string;
  kind: BudgetKind;
  status: BudgetStatus;
  limitMicros: number | null;
  spentMicros: number;
  reservedMicros: number;
  /** Never below zero (shadow mode may admit past a limit); null without a limit. */
  remainingMicros: number | null;
  period: Period;
  periodEndMs: number | null;
}

/** A model, tag or provider budget beside a chain, and what it applies to. */
export interface AcrossLevel extends BalanceLevel {
  /** The model glob (`gpt-4o*`), the tag (`product:chat-bot`) or the provider (`openai`). */
  appliesTo: string;
}

/** What can still be spent on a chain: every level, leaf first, and the tightest. */
export interface Balance {
  /** What the tightest level can still take (never below zero); null when no level has a limit. */
  remainingMicros: number | null;
  tightest: string | null;
  /** False when any level is paused or closed: nothing can be reserved. */
  active: boolean;
  chain: BalanceLevel[];
  /**
   * Budgets across the tree a call may also hold on, depending on its model and tags: model
   * budgets under the chain, tag budgets of the tags its policy requires, every provider budget.
   * They do not count in `remainingMicros` (a call reaches only those of its model and tags).
   */
  across: AcrossLevel[];
}

type BalanceJsonValue = z.input<typeof BalanceJson>;

/**
 * What a token may still spend, in JSON (`GET /v1/bursar/balance`).
 *
 * @example
 * balanceToJson({ id: 'tok_1', expiresMs: null }, balance).tightest // 'acme/research'
 */
export function balanceToJson(token: { id: string; expiresMs: number | null }, b: Balance): BalanceJsonValue {
  return {
    token: token.id,
    expires_ms: token.expiresMs,
    remaining_micros: b.remainingMicros,
    tightest: b.tightest,
    chain: b.chain.map(levelToJson),
    across: b.across.map((l) => ({ ...levelToJson(l), applies_to: l.appliesTo })),
  };
}

function levelToJson(l: BalanceLevel): BalanceJsonValue['chain'][number] {
  return {
    budget: l.budget,
    kind: l.kind,
    status: l.status,
    limit_micros: l.limitMicros,
    spent_micros: l.spentMicros,
    reserved_micros: l.reservedMicros,
    remaining_micros: l.remainingMicros,
    period: l.period,
    period_end_ms: l.periodEndMs,
  };
}

function levelFromJson(l: BalanceJsonValue['chain'][number]): BalanceLevel {
  return {
    budget: l.budget,
    kind: l.kind,
    status: l.status,
    limitMicros: l.limit_micros,
    spentMicros: l.spent_micros,
    reservedMicros: l.reserved_micros,
    remainingMicros: l.remaining_micros,
    period: l.period,
    periodEndMs: l.period_end_ms,
  };
}

/**
 * A balance from its JSON form (the inverse of `balanceToJson`, without the token).
 *
 * @example
 * balanceFromJson(json).active // false when a level is paused
 */
export function balanceFromJson(j: BalanceJsonValue): Balance {
  const chain = j.chain.map(levelFromJson);
  // A server older than the across list sends none.
  const across = (j.across ?? []).map((l) => ({ ...levelFromJson(l), appliesTo: l.applies_to }));
  return { remainingMicros: j.remaining_micros, tightest: j.tightest, active: chain.every((l) => l.status === 'active'), chain, across };
}

/**
 * A token delegated by a token, in JSON: the child, its secret (shown once) and its narrowing.
 *
 * @example
 * delegatedToJson(minted, secret).parent_token_id // 'tok_A'
 */
export function delegatedToJson(minted: { token: TokenView; envelope: BudgetView }, secret: string): z.input<typeof DelegatedJson> {
  const { token, envelope } = minted;
  return {
    id: token.id,
    token: secret,
    parent_token_id: token.parentTokenId ?? '',
    budget: envelope.path,
    max_spend_micros: envelope.limitMicros ?? 0,
    expires_at: isoOrNull(token.expiresMs),
    scopes: token.scopes,
    delegate: token.scopes.includes('delegate'),
    policy: { models: envelope.policy.models, request_cap_micros: envelope.policy.requestCapMicros, inflight_max: envelope.policy.inflightMax },
    labels: { session: token.labels.session, task: token.labels.task },
    created_at: iso(token.createdMs),
  };
}

/** A tool reservation as an agent gets it back: the reservation, how it was priced, and what is left. */
export interface ToolReserved {
  reservation: { reservation: ReservationView; remainingMicros: number | null; tightest: string };
  estimate: { basis: 'given' | 'table' | 'unknown' };
}

/**
 * A tool reservation in JSON (`POST /v1/bursar/reservations`, the MCP tool `reserve_spend`).
 *
 * @example
 * toolReservedToJson(result).estimate_basis // 'table'
 */
export function toolReservedToJson(r: ToolReserved): z.input<typeof ToolReservedJson> {
  return { reservation: reservationToJson(r.reservation.reservation), estimate_basis: r.estimate.basis, remaining_micros: r.reservation.remainingMicros, tightest: r.reservation.tightest };
}

/**
 * A settlement in JSON: the reservation, any overrun, and whether it came after expiry.
 *
 * @example
 * settledToJson(result).overrun_micros // 0
 */
export function settledToJson(r: { reservation: ReservationView; overrunMicros: number; lateCharge: boolean }): z.input<typeof SettleJson> {
  return { reservation: reservationToJson(r.reservation), overrun_micros: r.overrunMicros, late_charge: r.lateCharge };
}

/**
 * What a delegating token asks for, in the ledger's names (`delegate` in ops), from the JSON the
 * delegation route and the MCP tool `delegate_budget` take; labels and actor are the door's.
 *
 * @example
 * delegationFromJson({ max_spend_micros: 500_000, expires_in_ms: 60_000 }, 1_000) // { limitMicros: 500000, expiresMs: 61000, … }
 */
export function delegationFromJson(b: TokenLimitsJson & { max_spend_micros: number; expires_at?: string; expires_in_ms?: number; delegate?: boolean; reason?: string }, nowMs: number) {
  return { ...tokenLimitsFromJson(b), limitMicros: b.max_spend_micros, expiresMs: expiryFromJson(b, nowMs), delegate: b.delegate, reason: b.reason };
}

/**
 * An audit report from its JSON form (the inverse of `auditToJson`).
 *
 * @example
 * auditFromJson(auditToJson(report)) // deep-equals report
 */
export function auditFromJson(j: ReturnType<typeof auditToJson>): AuditReport {
  return { ok: j.ok, entries: j.entries, verifiedFromSeq: j.verified_from_seq, budgets: j.budgets, closedPeriods: j.closed_periods, openReservations: j.open_reservations, headHash: j.head_hash, problems: j.problems.map(problemToJson) };
}

/**
 * The fields a budget's create and update bodies share, in the ledger's names (absent ones left out).
 *
 * @example
 * budgetFieldsFromJson({ limit_micros: 5_000_000, period: 'month' }) // { limitMicros: 5000000, period: 'month' }
 */
export function budgetFieldsFromJson(b: { limit_micros?: number | null; period?: Period; timezone?: string; reason?: string }): { limitMicros?: number | null; period?: Period; timezone?: string; reason?: string } {
  return renamed(b, [['limitMicros', 'limit_micros'], ['period', 'period'], ['timezone', 'timezone'], ['reason', 'reason']], true);
}

/**
 * A budget with its chain in JSON (`GET /api/budgets/{path}`, `bursar budgets show --json`),
 * each budget written by `toJson`.
 *
 * @example
 * budgetDetailToJson(detail, budgetToJson).tightest // 'acme/research'
 */
export function budgetDetailToJson<J>(d: { budget: BudgetView; chain: readonly BudgetView[]; tightest: BudgetView | undefined; effectivePolicy: Policy; across: readonly BudgetView[] }, toJson: (b: BudgetView) => J) {
  return {
    budget: toJson(d.budget),
    chain: d.chain.map(toJson),
    remaining_micros: d.tightest?.remainingMicros ?? null,
    tightest: d.tightest?.path ?? null,
    effective_policy: policyToJson(d.effectivePolicy),
    across: d.across.map(toJson),
  };
}
