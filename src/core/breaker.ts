import { burnFreeInMs, burnInWindow, formatWindow, windowOf } from './burn.js';
import { draft, json } from './chain.js';
import { refuse, type Refusal } from './codes.js';
import type { ResetBreaker } from './commands.js';
import { limits } from './limits.js';
import { formatUsd } from './money.js';
import type { BurnLimit } from './policy.js';
import type { Tx } from './tx.js';
import type { BudgetRecord, Labels, Ok, ReservationRecord } from './types.js';
import { viewBudget, type BudgetView } from './view.js';

/**
 * The burn-limit breaker of a budget. Closed, it admits what fits in every burn window; a
 * reservation that would cross one is refused and trips it open for a cool-down (doubling on
 * each re-trip). After the cool-down it is half-open: one reservation goes through as a probe,
 * and when that settles within the limits the breaker closes; a breach re-opens it.
 */

/** Why a budget's breaker refuses a reservation now. */
export interface BurnVerdict {
  budget: BudgetRecord;
  /** `open`: cooling down; `probing`: half-open with its probe out; `breach`: this amount would cross a limit; `oversize`: it exceeds a limit on its own. */
  why: 'open' | 'probing' | 'breach' | 'oversize';
  retryAfterMs: number;
  limit?: BurnLimit;
  /** What the window held before this amount. */
  burnMicros?: number;
}

/** How long the breaker stays open after its `trips`-th trip in a row. */
export function cooldownMsOf(trips: number): number {
  let ms = limits.breakerCooldownMsDefault;
  for (let i = 1; i < trips && ms < limits.breakerCooldownMsMax; i += 1) ms *= 2;
  return Math.min(ms, limits.breakerCooldownMsMax);
}

/** The breaker's state as callers see it at `nowMs`. */
export function breakerState(b: Pick<BudgetRecord, 'trippedUntilMs'>, nowMs: number): 'closed' | 'open' | 'half_open' {
  if (b.trippedUntilMs === null) return 'closed';
  return nowMs < b.trippedUntilMs ? 'open' : 'half_open';
}

/** Whether this budget's breaker lets `amountMicros` through at `nowMs`; undefined when it does. */
export function burnVerdict(b: BudgetRecord, amountMicros: number, nowMs: number): BurnVerdict | undefined {
  if (b.trippedUntilMs !== null) {
    if (nowMs < b.trippedUntilMs) return { budget: b, why: 'open', retryAfterMs: b.trippedUntilMs - nowMs };
    if (b.probeSeq !== null) return { budget: b, why: 'probing', retryAfterMs: limits.breakerProbeRetryAfterMs };
  }
  const burnLimits = b.policy.burnLimits;
  if (b.burn === null || !burnLimits) return undefined;
  for (const limit of burnLimits) {
    if (amountMicros > limit.amountMicros) return { budget: b, why: 'oversize', retryAfterMs: limit.windowMs, limit };
  }
  for (const limit of burnLimits) {
    const w = windowOf(b.burn, limit.windowMs);
    if (!w) continue;
    const burnMicros = burnInWindow(w, nowMs);
    if (burnMicros + amountMicros <= limit.amountMicros) continue;
    const retryAfterMs = Math.max(cooldownMsOf(b.breakerTrips + 1), burnFreeInMs(w, limit, nowMs, amountMicros));
    return { budget: b, why: 'breach', retryAfterMs, limit, burnMicros };
  }
  return undefined;
}

function per(limit: BurnLimit): string {
  return `${formatUsd(limit.amountMicros)} per ${formatWindow(limit.windowMs)}`;
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1_000)} s`;
}

/** The refusal a verdict gives, naming the budget and when to try again. */
export function burnRefusal(v: BurnVerdict, amountMicros: number, remainingMicros: number | null): Refusal {
  const path = v.budget.path;
  const limit = v.limit;
  const messages: Record<BurnVerdict['why'], () => string> = {
    open: () => `budget ${path} crossed a burn limit and is cooling down; it lets one request through in ${seconds(v.retryAfterMs)}`,
    probing: () => `budget ${path} is letting one request through to test its burn rate; try again when that request has finished`,
    breach: () => `budget ${path} would commit ${formatUsd((v.burnMicros ?? 0) + amountMicros)} within ${formatWindow(limit?.windowMs ?? 0)}, over its burn limit of ${limit ? per(limit) : ''}; it is stopped for ${seconds(cooldownMsOf(v.budget.breakerTrips + 1))}`,
    oversize: () => `this request needs ${formatUsd(amountMicros)}, more than budget ${path}'s burn limit of ${limit ? per(limit) : ''} allows at all`,
  };
  return refuse('burn_limit', messages[v.why](), { budget: path, remainingMicros, retryAfterMs: v.retryAfterMs });
}

/** The root-most budget of a leaf-first chain whose breaker refuses `amountMicros`. */
export function chainBurnVerdict(chain: readonly BudgetRecord[], amountMicros: number, nowMs: number): BurnVerdict | undefined {
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    const b = chain[i];
    const v = b && burnVerdict(b, amountMicros, nowMs);
    if (v) return v;
  }
  return undefined;
}

interface TripFacts {
  limit: BurnLimit;
  burnMicros: number;
  requestedMicros: number;
  reservationSeq: number | null;
  labels?: Labels;
  reason: string;
}

/** Opens a budget's breaker for the next cool-down and writes the `breaker_tripped` entry. */
function trip(tx: Tx, b: BudgetRecord, f: TripFacts): void {
  const trips = b.breakerTrips + 1;
  const cooldownMs = cooldownMsOf(trips);
  const untilMs = tx.nowMs + cooldownMs;
  const labels = f.labels ?? {};
  tx.append(
    draft(tx, 'breaker_tripped', b.id, f.burnMicros + f.requestedMicros, {
      reservationSeq: f.reservationSeq,
      model: labels.model ?? null,
      requestId: labels.requestId ?? null,
      session: labels.session ?? null,
      task: labels.task ?? null,
      actor: labels.actor ?? null,
      reason: f.reason,
      data: json({ limitMicros: f.limit.amountMicros, windowMs: f.limit.windowMs, burnMicros: f.burnMicros, requestedMicros: f.requestedMicros, trips, cooldownMs, untilMs }),
    }),
  );
  b.trippedUntilMs = untilMs;
  b.breakerTrips = trips;
  b.probeSeq = null;
  tx.budgetChanged(b);
}

/** Trips every budget of the chain that `amountMicros` would take over a burn limit. */
export function tripOnBreach(tx: Tx, chain: readonly BudgetRecord[], amountMicros: number, labels: Labels): void {
  for (const b of chain) {
    const v = burnVerdict(b, amountMicros, tx.nowMs);
    if (v?.why !== 'breach' || !v.limit) continue;
    const reason = `would commit ${formatUsd((v.burnMicros ?? 0) + amountMicros)} within ${formatWindow(v.limit.windowMs)}, over the burn limit of ${per(v.limit)}`;
    trip(tx, b, { limit: v.limit, burnMicros: v.burnMicros ?? 0, requestedMicros: amountMicros, reservationSeq: null, labels, reason });
  }
}

/** Marks a newly admitted reservation as the probe of every half-open breaker on its chain. */
export function admitProbes(tx: Tx, chain: readonly BudgetRecord[], r: ReservationRecord): void {
  for (const b of chain) {
    if (b.trippedUntilMs === null || tx.nowMs < b.trippedUntilMs || b.probeSeq !== null) continue;
    b.probeSeq = r.seq;
    tx.append(draft(tx, 'breaker_probe', b.id, r.amountMicros, { reservationSeq: r.seq, reason: 'cool-down over: one request goes through to test the burn rate', data: json({ trips: b.breakerTrips }) }));
    tx.budgetChanged(b);
  }
}

/** The first burn limit whose window holds more than it allows at `nowMs`. */
function overLimit(b: BudgetRecord, nowMs: number): { limit: BurnLimit; burnMicros: number } | undefined {
  for (const limit of b.policy.burnLimits ?? []) {
    const w = windowOf(b.burn, limit.windowMs);
    const burnMicros = w ? burnInWindow(w, nowMs) : 0;
    if (burnMicros > limit.amountMicros) return { limit, burnMicros };
  }
  return undefined;
}

function close(tx: Tx, b: BudgetRecord, f: { reservationSeq: number | null; actor: string | null; reason: string; manual: boolean }): void {
  tx.append(draft(tx, 'breaker_closed', b.id, 0, { reservationSeq: f.reservationSeq, actor: f.actor, reason: f.reason, data: json({ trips: b.breakerTrips, manual: f.manual }) }));
  b.trippedUntilMs = null;
  b.breakerTrips = 0;
  b.probeSeq = null;
  tx.budgetChanged(b);
}

/**
 * A reservation resolved: where it was a half-open breaker's probe, a settlement within the burn
 * limits closes the breaker and one beyond them re-opens it for longer; a void or an expiry
 * proves nothing and frees the probe's place for the next request.
 */
export function probeResolved(tx: Tx, chain: readonly BudgetRecord[], r: ReservationRecord, settled: boolean): void {
  for (const b of chain) {
    if (b.probeSeq !== r.seq) continue;
    b.probeSeq = null;
    tx.budgetChanged(b);
    if (!settled) continue;
    const over = overLimit(b, tx.nowMs);
    if (over) trip(tx, b, { ...over, requestedMicros: 0, reservationSeq: r.seq, labels: r.labels, reason: `the probe took the burn over ${per(over.limit)}` });
    else close(tx, b, { reservationSeq: r.seq, actor: null, reason: 'the probe settled within the burn limits', manual: false });
  }
}

export type ResetBreakerOk = Ok<{ budget: BudgetView }>;

/**
 * Closes a budget's breaker by hand and forgets the spend its burn windows hold: whoever resets
 * it vouches for what runs next. A closed breaker is left as it is.
 */
export function resetBreaker(tx: Tx, cmd: ResetBreaker): ResetBreakerOk | Refusal {
  const b = tx.budgetByPath(cmd.path);
  if (!b) return refuse('unknown_budget', `no budget at ${cmd.path}`, { field: 'path' });
  if (b.trippedUntilMs === null) return { ok: true, budget: viewBudget(b, tx.nowMs) };
  close(tx, b, { reservationSeq: null, actor: cmd.actor ?? null, reason: cmd.reason ?? 'reset by hand', manual: true });
  for (const w of b.burn ?? []) w.slots.length = 0;
  return { ok: true, budget: viewBudget(b, tx.nowMs) };
}
