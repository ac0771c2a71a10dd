import { raiseAlerts } from './alerts.js';
import { assert, fail } from './assert.js';
import { admitProbes, burnRefusal, chainBurnVerdict, chainLoopVerdict, loopRefusal, probeResolved, tripGuards } from './breaker.js';
import { burnAdd, burnAdjust } from './burn.js';
import { chainOf, draft, json, rollPeriods } from './chain.js';
import { refusalPrecedence, refuse, type Refusal } from './codes.js';
import type { Reserve, Settle, Void } from './commands.js';
import { reservationScope, type Scope } from './crosscut.js';
import { limits } from './limits.js';
import { loopAdd, loopLimitOf } from './loops.js';
import { formatUsd } from './money.js';
import { modelAllowed, onExpiryDefault } from './policy.js';
import { planCall, type CallPlan } from './routing.js';
import type { Tx } from './tx.js';
import type { BudgetRecord, EntryDraft, ExpiryRule, Ok, ReservationRecord } from './types.js';
import { checkAmount, checkFingerprint, checkIdempotencyKey, checkLabels, checkModelAmounts, checkPositiveAmount, checkProvider, checkTags, checkText, checkTtl, checkUsage } from './validate.js';
import { parseReservationId, remainingAt, viewReservation, type ReservationView } from './view.js';

export type ReserveOk = Ok<{
  reservation: ReservationView;
  /** In shadow mode, the refusal enforcement would have given. */
  wouldRefuse?: Refusal;
  /** What the tightest budget of the chain can still take after this reservation. */
  remainingMicros: number | null;
  /** Path of that tightest budget (the leaf when no budget has a limit). */
  tightest: string;
  /** Set when the call was sent to another model than it asked for (`reservation.labels.model`): the model it asked for. */
  downgradedFrom?: string;
  /** Why: a brownout tier in force, or a fallback after the budgets refused the model asked for. */
  route?: 'brownout' | 'fallback';
}>;
export type SettleOk = Ok<{ reservation: ReservationView; overrunMicros: number; lateCharge: boolean }>;
export type VoidOk = Ok<{ reservation: ReservationView }>;

export function validateReserve(cmd: Reserve): Refusal | undefined {
  return (
    checkPositiveAmount(cmd.amountMicros, 'amountMicros') ??
    checkTtl(cmd.ttlMs) ??
    checkIdempotencyKey(cmd.idempotencyKey) ??
    checkLabels(cmd.labels) ??
    checkTags(cmd.tags) ??
    checkProvider(cmd.provider) ??
    checkModelAmounts(cmd.modelAmounts) ??
    checkFingerprint(cmd.fingerprint)
  );
}

type AdmissionCode = Exclude<(typeof refusalPrecedence)[number], 'token_expired'>;
/** A check over the chain (leaf first); where several budgets fail it, the root-most is named unless it says otherwise. */
type AdmissionCheck = (chain: readonly BudgetRecord[], cmd: Reserve, nowMs: number) => Refusal | undefined;

/** One check per admission code; `admissionRefusal` runs them in `refusalPrecedence` order. */
const admissionChecks: Record<AdmissionCode, AdmissionCheck> = {
  budget_closed: (chain, _cmd, nowMs) => statusRefusal(chain, 'closed', nowMs),
  budget_paused: (chain, _cmd, nowMs) => statusRefusal(chain, 'paused', nowMs),
  /** An open or half-open breaker (answered with the code of the guard that tripped it), then the burn limits. */
  burn_limit: (chain, cmd, nowMs) => {
    const v = chainBurnVerdict(chain, cmd.amountMicros, nowMs);
    return v && burnRefusal(v, cmd.amountMicros, remainingAt(v.budget, nowMs));
  },
  loop_detected: (chain, cmd, nowMs) => {
    const v = chainLoopVerdict(chain, cmd.fingerprint, nowMs);
    return v && loopRefusal(v, remainingAt(v.budget, nowMs));
  },
  model_not_allowed: (chain, cmd) => {
    const model = cmd.labels?.model;
    if (model === undefined) return undefined;
    const b = rootMost(chain, (x) => x.policy.models !== undefined && !modelAllowed(x.policy.models, model));
    return b && refuse('model_not_allowed', `model ${model} is not allowed by budget ${b.path} (allowed: ${(b.policy.models ?? []).join(', ') || 'none'})`, { budget: b.path });
  },
  tag_required: (chain, cmd) => {
    let missing: string | undefined;
    const b = rootMost(chain, (x) => x.policy.requiredTags !== undefined && (missing = missingTag(x.policy.requiredTags, cmd.tags)) !== undefined);
    if (!b || missing === undefined) return undefined;
    const example = missing.includes(':') ? missing : `${missing}:<value>`;
    return refuse('tag_required', `budget ${b.path} requires every call to carry a ${missing} tag (x-bursar-tags: ${example}); this one carries ${cmd.tags?.length ? cmd.tags.join(', ') : 'none'}`, { budget: b.path, field: 'tags' });
  },
  /** Names the budget with the lowest cap this amount is over (the root-most of equals). */
  request_cost_cap: (chain, cmd, nowMs) => {
    let cap: BudgetRecord | undefined;
    for (let i = chain.length - 1; i >= 0; i -= 1) {
      const x = chain[i] as BudgetRecord;
      const capMicros = x.policy.requestCapMicros;
      if (capMicros !== undefined && cmd.amountMicros > capMicros && (cap === undefined || capMicros < (cap.policy.requestCapMicros ?? 0))) cap = x;
    }
    return cap && refuse('request_cost_cap', `a single request may reserve at most ${usd(cap.policy.requestCapMicros ?? 0)} on budget ${cap.path}; this one needs ${usd(cmd.amountMicros)}`, { budget: cap.path, remainingMicros: remainingAt(cap, nowMs) });
  },
  too_many_inflight: (chain, _cmd, nowMs) => {
    const busy = rootMost(chain, (x) => x.policy.inflightMax !== undefined && x.inflight + 1 > x.policy.inflightMax);
    return busy && refuse('too_many_inflight', `budget ${busy.path} already has ${busy.inflight} reservations open (at most ${busy.policy.inflightMax})`, { budget: busy.path, remainingMicros: remainingAt(busy, nowMs) });
  },
  /** Names the budget with the least left (the leaf-most of equals). */
  budget_exceeded: (chain, cmd, nowMs) => {
    const tightest = tightestOf(chain, nowMs, cmd.amountMicros);
    if (!tightest) return undefined;
    const remaining = Math.max(0, remainingAt(tightest, nowMs) ?? 0);
    return refuse('budget_exceeded', `budget ${tightest.path} has ${usd(remaining)} left; this reservation needs ${usd(cmd.amountMicros)}`, { budget: tightest.path, remainingMicros: remaining });
  },
};

/** The first required tag (a key, met by `key:…`, or a whole tag) that `tags` lacks. */
function missingTag(required: readonly string[], tags: readonly string[] | undefined): string | undefined {
  return required.find((r) => !(tags ?? []).some((t) => tagMeets(t, r)));
}

/**
 * True when a call's tag meets a required tag: the same tag, or a tag under a required key.
 *
 * @example
 * tagMeets('product:chat-bot', 'product') // true
 * tagMeets('production', 'product') // false
 */
export function tagMeets(tag: string, required: string): boolean {
  return tag === required || (tag.length > required.length && tag.startsWith(required) && tag[required.length] === ':');
}

function statusRefusal(chain: readonly BudgetRecord[], status: 'closed' | 'paused', nowMs: number): Refusal | undefined {
  const b = rootMost(chain, (x) => x.status === status);
  return b && refuse(`budget_${status}`, `budget ${b.path} is ${status}`, { budget: b.path, remainingMicros: remainingAt(b, nowMs) });
}

/** An amount in USD and in micros, as refusal messages give it. */
function usd(micros: number): string {
  return `${formatUsd(micros)} (${micros} micros)`;
}

/**
 * The first reason, in the fixed precedence of `refusalPrecedence`, that the chain cannot take
 * `amount` now; undefined when every budget can.
 */
export function admissionRefusal(chain: readonly BudgetRecord[], cmd: Reserve, nowMs: number): Refusal | undefined {
  for (const code of refusalPrecedence) {
    // A token's expiry is checked where the token is resolved, before any reservation.
    const refusal = code === 'token_expired' ? undefined : admissionChecks[code](chain, cmd, nowMs);
    if (refusal) return refusal;
  }
  return undefined;
}

/**
 * Reserves `amountMicros` on a budget and every ancestor, and on the model, tag and provider
 * budgets the call reaches, or on none of them. A brownout tier in force or a fallback may send
 * the call to another model (`modelAmounts`), decided on the same state as its admission.
 */
export function reserve(tx: Tx, cmd: Reserve): ReserveOk | Refusal {
  const leaf = tx.budgetByPath(cmd.path);
  if (!leaf) return refuse('unknown_budget', `no budget at ${cmd.path}`, { field: 'path' });
  const plan = planCall(tx, chainOf(tx, leaf), cmd, (budgets, ask) => admissionRefusal(budgets, ask, tx.nowMs));
  const { scope, refusal } = plan;
  const chain = scope.budgets;
  const amount = plan.amountMicros;
  const enforce = cmd.enforce !== false;
  if (refusal && enforce) {
    // The refusals that write: crossing a burn limit or a loop limit trips the breaker, in this transaction.
    if (refusal.code === 'burn_limit' || refusal.code === 'loop_detected') tripGuards(tx, chain, { ...cmd, amountMicros: amount });
    return refusal;
  }

  rollPeriods(tx, chain);
  const labels = plan.from === undefined ? (cmd.labels ?? {}) : { ...cmd.labels, model: plan.model };
  const expiresMs = tx.nowMs + (cmd.ttlMs ?? limits.reservationTtlMsDefault);
  const onExpiry = cmd.onExpiry ?? expiryRuleOf(scope.chains[0] ?? chain);
  const seq = tx.nextSeq();
  const entry = draft(tx, 'reserve', leaf.id, amount);
  entry.reservationSeq = seq;
  entry.model = labels.model ?? null;
  entry.requestId = labels.requestId ?? null;
  entry.session = labels.session ?? null;
  entry.task = labels.task ?? null;
  entry.actor = labels.actor ?? null;
  entry.data = reserveData(cmd, plan, labels, { expiresMs, onExpiry, refusal });
  const appended = tx.append(entry);
  assert(appended === seq, 'ledger sequence moved during reserve');
  const record: ReservationRecord = {
    seq,
    budgetId: leaf.id,
    amountMicros: amount,
    status: 'open',
    createdMs: tx.nowMs,
    expiresMs,
    resolvedMs: null,
    actualMicros: null,
    labels,
    onExpiry,
  };
  if (scope.also.length > 0) record.also = scope.also;
  tx.insertReservation(record);
  const fp = cmd.fingerprint;
  for (const b of chain) {
    b.reservedMicros += amount;
    b.inflight += 1;
    if (b.burn !== null) burnAdd(b.burn, tx.nowMs, amount);
    const loop = fp === undefined ? undefined : loopLimitOf(b);
    if (loop && b.loops && fp !== undefined) loopAdd(b.loops, loop.windowMs, fp, tx.nowMs, seq);
    const remaining = remainingAt(b, tx.nowMs);
    if (enforce && remaining !== null && remaining < 0) fail(`reserve took ${b.path} past its limit`);
    tx.budgetChanged(b);
  }
  if (enforce) admitProbes(tx, chain, record);
  raiseScopeAlerts(tx, scope);
  const tightest = tightestOf(chain, tx.nowMs, Infinity) ?? leaf;
  const result: ReserveOk = { ok: true, reservation: viewReservation(record, leaf.path), remainingMicros: remainingAt(tightest, tx.nowMs), tightest: tightest.path };
  if (refusal) result.wouldRefuse = refusal;
  if (plan.from) Object.assign(result, { downgradedFrom: plan.from.model, route: plan.from.why });
  return result;
}

/**
 * A `reserve` entry's data: when it expires and whether expiry charges it, and, when there are
 * any, the tool, token, tags, provider, extra budgets, the model asked for, and the refusal
 * shadow mode passed over.
 */
function reserveData(cmd: Reserve, plan: CallPlan, labels: Reserve['labels'] & object, f: { expiresMs: number; onExpiry: ExpiryRule; refusal: Refusal | undefined }): string {
  // Written field by field, in the order (and to the bytes) JSON.stringify would give the object:
  // this runs for every call, and an object of a dozen mostly-absent fields costs more to build.
  // A hold that expiry charges says so; one without the field is released (as before the rule existed).
  let out = `{"expiresMs":${f.expiresMs}`;
  if (f.onExpiry === 'charge') out += ',"onExpiry":"charge"';
  out += jsonField('tool', labels.tool) + jsonField('tokenId', labels.tokenId) + jsonField('fingerprint', cmd.fingerprint);
  if (f.refusal) out += jsonField('wouldRefuse', f.refusal.code) + jsonField('wouldRefuseBudget', f.refusal.budget);
  out += jsonField('tags', cmd.tags) + jsonField('provider', cmd.provider);
  if (plan.scope.also.length > 0) out += `,"also":[${plan.scope.also.join(',')}]`;
  if (plan.from) out += jsonField('requestedModel', plan.from.model) + jsonField('route', plan.from.why);
  return `${out}}`;
}

/** `,"name":value` as JSON writes it, or nothing when the value is absent. */
function jsonField(name: string, value: string | readonly string[] | undefined): string {
  return value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`;
}

/** Raises what every chain of a reservation's budgets has reached (each inherits its own thresholds). */
function raiseScopeAlerts(tx: Tx, scope: Scope): void {
  for (const chain of scope.chains) raiseAlerts(tx, chain);
}

function findReservation(tx: Tx, id: string): { record: ReservationRecord; leaf: BudgetRecord } | Refusal {
  const seq = parseReservationId(id);
  if (seq === undefined) return refuse('invalid_reservation', `"${String(id).slice(0, 60)}" is not a reservation id (rsv_<number>)`, { field: 'reservationId' });
  const record = tx.reservation(seq);
  if (!record) return refuse('unknown_reservation', `no reservation ${id}`, { field: 'reservationId' });
  const leaf = tx.budgetById(record.budgetId);
  if (!leaf) fail(`reservation ${id} points at a missing budget`);
  return { record, leaf };
}

function release(tx: Tx, chain: readonly BudgetRecord[], r: ReservationRecord): void {
  for (const b of chain) {
    b.reservedMicros -= r.amountMicros;
    b.inflight -= 1;
    if (b.reservedMicros < 0 || b.inflight < 0) fail(`releasing ${reservationIdOf(r)} made ${b.path} negative`);
    tx.budgetChanged(b);
  }
}

/** Changes what a reservation counts in the chain's burn windows by `deltaMicros`. */
function burnBy(tx: Tx, chain: readonly BudgetRecord[], r: ReservationRecord, deltaMicros: number): void {
  for (const b of chain) burnAdjust(b.burn, tx.nowMs, r.createdMs, deltaMicros);
}

function reservationIdOf(r: ReservationRecord): string {
  return `rsv_${r.seq}`;
}

/**
 * What expiry does on this chain when the caller did not say: `charge` if any budget says so,
 * else `release` if one does, else the default (the effective policy's rule, without building it).
 */
function expiryRuleOf(chain: readonly BudgetRecord[]): ExpiryRule {
  let release = false;
  for (const b of chain) {
    if (b.policy.onExpiry === 'charge') return 'charge';
    if (b.policy.onExpiry === 'release') release = true;
  }
  return release ? 'release' : onExpiryDefault;
}

/**
 * Resolves a reservation whose TTL ran out. A hold that may have been billed (a forwarded call,
 * a tool an agent may have run) is charged at its full amount, so the limit holds against the
 * provider's bill even when the settlement never comes; any other hold is released.
 */
function expireOne(tx: Tx, r: ReservationRecord, leaf: BudgetRecord, scope: Scope): void {
  const chain = scope.budgets;
  const labelled = { reservationSeq: r.seq, model: r.labels.model ?? null, requestId: r.labels.requestId ?? null, session: r.labels.session ?? null, task: r.labels.task ?? null };
  if (r.onExpiry === 'charge') {
    rollPeriods(tx, chain);
    tx.append(draft(tx, 'expire_charged', leaf.id, r.amountMicros, { ...labelled, reason: 'ttl elapsed without a settlement: the hold is charged until the actual cost arrives', data: json({ expiresMs: r.expiresMs }) }));
    release(tx, chain, r);
    charge(tx, chain, r.amountMicros, 0);
    r.status = 'charged';
    r.actualMicros = r.amountMicros;
  } else {
    tx.append(draft(tx, 'expire', leaf.id, r.amountMicros, { reservationSeq: r.seq, reason: 'ttl elapsed', data: json({ expiresMs: r.expiresMs }) }));
    release(tx, chain, r);
    burnBy(tx, chain, r, -r.amountMicros);
    r.status = 'expired';
  }
  r.resolvedMs = tx.nowMs;
  tx.reservationChanged(r);
  probeResolved(tx, chain, r, false);
  raiseScopeAlerts(tx, scope);
}

/** Adds spend (and the part of it beyond any reservation) to every budget of a chain. */
function charge(tx: Tx, chain: readonly BudgetRecord[], amountMicros: number, overrunMicros: number): void {
  for (const b of chain) {
    b.spentMicros += amountMicros;
    b.overrunMicros += overrunMicros;
    tx.budgetChanged(b);
  }
}

export function validateSettle(cmd: Settle): Refusal | undefined {
  return (
    checkAmount(cmd.actualMicros, 'actualMicros') ??
    checkIdempotencyKey(cmd.idempotencyKey) ??
    checkUsage(cmd.usage) ??
    checkText(cmd.actor, 'actor', limits.labelBytesMax) ??
    checkText(cmd.reason, 'reason', limits.reasonBytesMax)
  );
}

/**
 * Settles a reservation at its actual cost. Above the reservation, the excess is written as an
 * overrun; after a released expiry, the cost is written as a late charge (the provider billed
 * it); after a charged expiry, the difference to what was charged is refunded or charged.
 */
export function settle(tx: Tx, cmd: Settle): SettleOk | Refusal {
  const found = findReservation(tx, cmd.reservationId);
  if (!('record' in found)) return found;
  const { record: r, leaf } = found;
  if (r.status === 'settled' || r.status === 'late_settled') return refuse('already_settled', `reservation ${cmd.reservationId} was already settled at ${r.actualMicros} micros`, { budget: leaf.path });
  if (r.status === 'voided') return refuse('already_voided', `reservation ${cmd.reservationId} was voided; nothing to settle`, { budget: leaf.path });
  const scope = reservationScope(tx, leaf, r);
  const chain = scope.budgets;
  if (r.status === 'open' && r.expiresMs <= tx.nowMs) expireOne(tx, r, leaf, scope);
  rollPeriods(tx, chain);
  if (r.status === 'charged') return reconcile(tx, cmd, r, leaf, scope);
  const late = r.status === 'expired';
  const held = late ? 0 : r.amountMicros;
  const excess = Math.max(0, cmd.actualMicros - held);
  const entry = usageEntry(tx, late ? 'late_charge' : 'settle', leaf.id, cmd.actualMicros, r, cmd);
  entry.data = `{"reservedMicros":${r.amountMicros}}`;
  tx.append(entry);
  if (!late && excess > 0) {
    const overrun = usageEntry(tx, 'overrun', leaf.id, excess, r, cmd);
    overrun.reason = 'actual cost above the reservation';
    overrun.data = json({ reservedMicros: r.amountMicros, actualMicros: cmd.actualMicros });
    tx.append(overrun);
  }
  if (!late) release(tx, chain, r);
  charge(tx, chain, cmd.actualMicros, excess);
  burnBy(tx, chain, r, late ? cmd.actualMicros : cmd.actualMicros - r.amountMicros);
  const result = resolved(tx, r, leaf, late ? 'late_settled' : 'settled', cmd.actualMicros, excess);
  if (!late) probeResolved(tx, chain, r, true);
  raiseScopeAlerts(tx, scope);
  return result;
}

/**
 * The truth about a charged expiry arrives: what was charged beyond the actual cost is refunded,
 * and cost beyond the charge is a late charge (an overrun: the hold was the worst case).
 */
function reconcile(tx: Tx, cmd: Settle, r: ReservationRecord, leaf: BudgetRecord, scope: Scope): SettleOk {
  const chain = scope.budgets;
  const chargedMicros = r.actualMicros ?? r.amountMicros;
  const excess = Math.max(0, cmd.actualMicros - chargedMicros);
  const entry = usageEntry(tx, excess > 0 ? 'late_charge' : 'expiry_refund', leaf.id, excess, r, cmd);
  entry.data = json({ actualMicros: cmd.actualMicros, chargedMicros });
  if (excess > 0) {
    tx.append(entry);
    charge(tx, chain, excess, excess);
    burnBy(tx, chain, r, excess);
    raiseScopeAlerts(tx, scope);
  } else {
    refund(tx, chain, r, entry, chargedMicros - cmd.actualMicros);
    // The settlement may have started a new period, where carried holds can reach a threshold.
    raiseScopeAlerts(tx, scope);
  }
  return resolved(tx, r, leaf, 'late_settled', cmd.actualMicros, excess);
}

/**
 * Takes back spend charged by an expiry. The refund lands in the current period and never takes
 * a budget's spend below zero (the charge may sit in a period that has closed since); the entry
 * records what was applied.
 */
function refund(tx: Tx, chain: readonly BudgetRecord[], r: ReservationRecord, entry: EntryDraft, wantedMicros: number): void {
  const amount = chain.reduce((least, b) => Math.min(least, b.spentMicros), wantedMicros);
  entry.amountMicros = amount;
  tx.append(entry);
  for (const b of chain) {
    b.spentMicros -= amount;
    tx.budgetChanged(b);
  }
  burnBy(tx, chain, r, -amount);
}

function resolved(tx: Tx, r: ReservationRecord, leaf: BudgetRecord, status: ReservationRecord['status'], actualMicros: number, overrunMicros: number): SettleOk {
  r.status = status;
  r.actualMicros = actualMicros;
  r.resolvedMs = tx.nowMs;
  tx.reservationChanged(r);
  return { ok: true, reservation: viewReservation(r, leaf.path), overrunMicros, lateCharge: status === 'late_settled' };
}

/** A settlement-type entry carrying the call's usage and the reservation's labels. */
function usageEntry(tx: Tx, kind: 'settle' | 'late_charge' | 'overrun' | 'expiry_refund', budgetId: number, amountMicros: number, r: ReservationRecord, cmd: Settle): EntryDraft {
  const e = draft(tx, kind, budgetId, amountMicros);
  const usage = cmd.usage;
  e.reservationSeq = r.seq;
  e.model = usage?.model ?? r.labels.model ?? null;
  e.tokensIn = usage?.tokensIn ?? null;
  e.tokensOut = usage?.tokensOut ?? null;
  e.tokensCached = usage?.tokensCached ?? null;
  e.tokensCacheWrite = usage?.tokensCacheWrite ?? null;
  e.requestId = r.labels.requestId ?? null;
  e.session = r.labels.session ?? null;
  e.task = r.labels.task ?? null;
  e.actor = cmd.actor ?? r.labels.actor ?? null;
  e.reason = cmd.reason ?? null;
  return e;
}

export function validateVoid(cmd: Void): Refusal | undefined {
  return checkIdempotencyKey(cmd.idempotencyKey) ?? checkText(cmd.reason, 'reason', limits.reasonBytesMax);
}

/**
 * Releases a reservation without charging it. After a charged expiry, a void says the work was
 * never billed: the charge is refunded.
 */
export function voidReservation(tx: Tx, cmd: Void): VoidOk | Refusal {
  const found = findReservation(tx, cmd.reservationId);
  if (!('record' in found)) return found;
  const { record: r, leaf } = found;
  if (r.status === 'settled' || r.status === 'late_settled') return refuse('already_settled', `reservation ${cmd.reservationId} was already settled`, { budget: leaf.path });
  if (r.status === 'voided') return refuse('already_voided', `reservation ${cmd.reservationId} was already voided`, { budget: leaf.path });
  const scope = reservationScope(tx, leaf, r);
  const chain = scope.budgets;
  if (r.status === 'open' && r.expiresMs <= tx.nowMs) expireOne(tx, r, leaf, scope);
  if (r.status === 'expired') return refuse('reservation_expired', `reservation ${cmd.reservationId} expired and was already released`, { budget: leaf.path });
  const labelled = { reservationSeq: r.seq, actor: cmd.actor ?? r.labels.actor ?? null, reason: cmd.reason ?? null, requestId: r.labels.requestId ?? null, session: r.labels.session ?? null, task: r.labels.task ?? null, model: r.labels.model ?? null };
  if (r.status === 'charged') {
    rollPeriods(tx, chain);
    const chargedMicros = r.actualMicros ?? r.amountMicros;
    refund(tx, chain, r, draft(tx, 'expiry_refund', leaf.id, 0, { ...labelled, data: json({ actualMicros: 0, chargedMicros, voided: true }) }), chargedMicros);
  } else {
    tx.append(draft(tx, 'void', leaf.id, r.amountMicros, labelled));
    release(tx, chain, r);
    burnBy(tx, chain, r, -r.amountMicros);
  }
  r.status = 'voided';
  r.actualMicros = null;
  r.resolvedMs = tx.nowMs;
  tx.reservationChanged(r);
  probeResolved(tx, chain, r, false);
  raiseScopeAlerts(tx, scope);
  return { ok: true, reservation: viewReservation(r, leaf.path) };
}

/** Expires up to `max` reservations whose TTL has run out; returns how many. */
export function expireDue(tx: Tx, max: number): number {
  const due = tx.dueReservations(max);
  for (const r of due) {
    const leaf = tx.budgetById(r.budgetId);
    assert(leaf, `reservation ${reservationIdOf(r)} points at a missing budget`);
    expireOne(tx, r, leaf, reservationScope(tx, leaf, r));
  }
  return due.length;
}

/** The budget nearest the root that matches, walking a leaf-first chain from its end. */
function rootMost(chain: readonly BudgetRecord[], match: (b: BudgetRecord) => boolean): BudgetRecord | undefined {
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    const b = chain[i];
    if (b !== undefined && match(b)) return b;
  }
  return undefined;
}

/**
 * The budget of a leaf-first chain with the least remaining among those with a limit and less
 * remaining than `belowMicros` (the leaf-most of equals), without building a list: this runs
 * on every reservation.
 */
function tightestOf(chain: readonly BudgetRecord[], nowMs: number, belowMicros: number): BudgetRecord | undefined {
  let best: BudgetRecord | undefined;
  let bestRemaining = Infinity;
  for (const b of chain) {
    const remaining = remainingAt(b, nowMs);
    if (remaining === null || !(belowMicros > remaining) || !(remaining < bestRemaining)) continue;
    best = b;
    bestRemaining = remaining;
  }
  return best;
}
