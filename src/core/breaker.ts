import { burnFreeInMs, burnInWindow, formatWindow, windowOf } from './burn.js';
import { draft, json } from './chain.js';
import { refuse, type Refusal } from './codes.js';
import type { Reserve, ResetBreaker } from './commands.js';
import { limits } from './limits.js';
import { loopClear, loopLimitOf, loopRepeat } from './loops.js';
import { formatUsd } from './money.js';
import type { BurnLimit, LoopLimit } from './policy.js';
import type { Tx } from './tx.js';
import type { BreakerCode, BudgetRecord, Labels, LoopEntry, Ok, ReservationRecord } from './types.js';
import { reservationId, viewBudget, type BudgetView } from './view.js';

/**
 * The breaker of a budget, tripped by its burn limits and by its loop limit. Closed, it admits
 * what fits in every burn window and does not repeat one request too often; a reservation that
 * would cross a burn limit, or repeat a request past the loop limit, is refused and trips it
 * open for a cool-down (doubling on each re-trip). After the cool-down it is half-open: one
 * reservation goes through as a probe, and when that settles within the burn limits the
 * breaker closes; a breach re-opens it. The breaker is the budget's: while it is open, every
 * request on the budget (and under it) is refused, whatever it asks.
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

/**
 * The refusal a verdict gives, naming the budget and when to try again. An open or half-open
 * breaker answers with the code of the guard that tripped it.
 */
export function burnRefusal(v: BurnVerdict, amountMicros: number, remainingMicros: number | null): Refusal {
  const path = v.budget.path;
  const limit = v.limit;
  const loop = v.budget.breakerCode === 'loop_detected';
  const tripped = loop ? 'repeated one request more often than its loop limit allows' : 'crossed a burn limit';
  const messages: Record<BurnVerdict['why'], () => string> = {
    open: () => `budget ${path} ${tripped} and is cooling down; it lets one request through in ${seconds(v.retryAfterMs)} (bursar budgets reset-breaker ${path} closes it now)`,
    probing: () => `budget ${path} is letting one request through to test ${loop ? 'whether the loop has stopped' : 'its burn rate'}; try again when that request has finished`,
    breach: () => `budget ${path} would commit ${formatUsd((v.burnMicros ?? 0) + amountMicros)} within ${formatWindow(limit?.windowMs ?? 0)}, over its burn limit of ${limit ? per(limit) : ''}; it is stopped for ${seconds(cooldownMsOf(v.budget.breakerTrips + 1))}`,
    oversize: () => `this request needs ${formatUsd(amountMicros)}, more than budget ${path}'s burn limit of ${limit ? per(limit) : ''} allows at all`,
  };
  const code = loop && (v.why === 'open' || v.why === 'probing') ? 'loop_detected' : 'burn_limit';
  return refuse(code, messages[v.why](), { budget: path, remainingMicros, retryAfterMs: v.retryAfterMs });
}

/** A budget whose loop limit this request would cross: its fingerprint's window is full. */
export interface LoopVerdict {
  budget: BudgetRecord;
  limit: LoopLimit;
  /** The fingerprint's entry: how often it came in its window, its first and last reservations. */
  seen: LoopEntry;
  retryAfterMs: number;
}

/**
 * Whether a reservation with `fingerprint` would repeat a request past the budget's loop limit;
 * undefined when it would not (or the breaker is open already, which `burnVerdict` answers).
 */
export function loopVerdict(b: BudgetRecord, fingerprint: string | undefined, nowMs: number): LoopVerdict | undefined {
  if (fingerprint === undefined || b.loops === null) return undefined;
  if (b.trippedUntilMs !== null && (nowMs < b.trippedUntilMs || b.probeSeq !== null)) return undefined;
  const limit = loopLimitOf(b);
  const seen = limit && loopRepeat(b.loops, limit, fingerprint, nowMs);
  if (!limit || !seen) return undefined;
  return { budget: b, limit, seen, retryAfterMs: cooldownMsOf(b.breakerTrips + 1) };
}

/** The root-most budget of a leaf-first chain whose loop limit a reservation with `fingerprint` would cross. */
export function chainLoopVerdict(chain: readonly BudgetRecord[], fingerprint: string | undefined, nowMs: number): LoopVerdict | undefined {
  if (fingerprint === undefined) return undefined;
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    const b = chain[i];
    const v = b && loopVerdict(b, fingerprint, nowMs);
    if (v) return v;
  }
  return undefined;
}

/** What a loop trip says: how often the request came, in what window, and its first and last reservations there. */
function loopText(v: LoopVerdict): string {
  const { seen, limit } = v;
  return `the same request came ${seen.count + 1} times within ${formatWindow(limit.windowMs)} (at most ${limit.repeats} allowed; fingerprint ${seen.fingerprint}, first ${reservationId({ seq: seen.firstSeq })}, last ${reservationId({ seq: seen.lastSeq })})`;
}

/** The refusal a loop verdict gives: the budget, the fingerprint's first and last reservations, when to try again. */
export function loopRefusal(v: LoopVerdict, remainingMicros: number | null): Refusal {
  const path = v.budget.path;
  const message = `budget ${path} looks stuck in a loop: ${loopText(v)}; it is stopped for ${seconds(v.retryAfterMs)} (bursar budgets reset-breaker ${path} closes it now)`;
  return refuse('loop_detected', message, { budget: path, remainingMicros, retryAfterMs: v.retryAfterMs });
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
  code: BreakerCode;
  /** The entry's amount: what the window would hold (a burn limit), or what the refused request asked (a loop). */
  amountMicros: number;
  /** What tripped it, for the entry's data: the limit and what the window or the fingerprint held. */
  facts: Record<string, unknown>;
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
    draft(tx, 'breaker_tripped', b.id, f.amountMicros, {
      reservationSeq: f.reservationSeq,
      model: labels.model ?? null,
      requestId: labels.requestId ?? null,
      session: labels.session ?? null,
      task: labels.task ?? null,
      actor: labels.actor ?? null,
      reason: f.reason,
      data: json({ code: f.code, ...f.facts, trips, cooldownMs, untilMs }),
    }),
  );
  b.trippedUntilMs = untilMs;
  b.breakerTrips = trips;
  b.probeSeq = null;
  b.breakerCode = f.code;
  tx.budgetChanged(b);
}

function burnTrip(limit: BurnLimit, burnMicros: number, requestedMicros: number): Pick<TripFacts, 'code' | 'amountMicros' | 'facts'> {
  return { code: 'burn_limit', amountMicros: burnMicros + requestedMicros, facts: { limitMicros: limit.amountMicros, windowMs: limit.windowMs, burnMicros, requestedMicros } };
}

/**
 * Trips every budget of the chain whose guards the reservation crosses: a burn limit it would
 * take over, else a loop limit its fingerprint would repeat past. Runs when the reservation was
 * refused for one of them, in the same transaction.
 */
export function tripGuards(tx: Tx, chain: readonly BudgetRecord[], cmd: Reserve): void {
  const labels = cmd.labels ?? {};
  for (const b of chain) {
    const v = burnVerdict(b, cmd.amountMicros, tx.nowMs);
    if (v?.why === 'breach' && v.limit) {
      const reason = `would commit ${formatUsd((v.burnMicros ?? 0) + cmd.amountMicros)} within ${formatWindow(v.limit.windowMs)}, over the burn limit of ${per(v.limit)}`;
      trip(tx, b, { ...burnTrip(v.limit, v.burnMicros ?? 0, cmd.amountMicros), reservationSeq: null, labels, reason });
      continue;
    }
    const loop = loopVerdict(b, cmd.fingerprint, tx.nowMs);
    if (!loop) continue;
    const { seen, limit } = loop;
    const facts = { fingerprint: seen.fingerprint, repeats: limit.repeats, windowMs: limit.windowMs, count: seen.count, firstMs: seen.firstMs, firstRequest: reservationId({ seq: seen.firstSeq }), lastRequest: reservationId({ seq: seen.lastSeq }), requestedMicros: cmd.amountMicros };
    trip(tx, b, { code: 'loop_detected', amountMicros: cmd.amountMicros, facts, reservationSeq: null, labels, reason: loopText(loop) });
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
  b.breakerCode = null;
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
    if (over) trip(tx, b, { ...burnTrip(over.limit, over.burnMicros, 0), reservationSeq: r.seq, labels: r.labels, reason: `the probe took the burn over ${per(over.limit)}` });
    else close(tx, b, { reservationSeq: r.seq, actor: null, reason: 'the probe settled within the burn limits', manual: false });
  }
}

export type ResetBreakerOk = Ok<{ budget: BudgetView }>;

/**
 * Closes a budget's breaker by hand and forgets the spend its burn windows hold and the requests
 * its loop detection counted: whoever resets it vouches for what runs next. A closed breaker is
 * left as it is.
 */
export function resetBreaker(tx: Tx, cmd: ResetBreaker): ResetBreakerOk | Refusal {
  const b = tx.budgetByPath(cmd.path);
  if (!b) return refuse('unknown_budget', `no budget at ${cmd.path}`, { field: 'path' });
  if (b.trippedUntilMs === null) return { ok: true, budget: viewBudget(b, tx.nowMs) };
  close(tx, b, { reservationSeq: null, actor: cmd.actor ?? null, reason: cmd.reason ?? 'reset by hand', manual: true });
  for (const w of b.burn ?? []) w.slots.length = 0;
  loopClear(b.loops);
  return { ok: true, budget: viewBudget(b, tx.nowMs) };
}
