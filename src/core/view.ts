import { breakerState } from './breaker.js';
import { burnInWindow, windowOf } from './burn.js';
import { loopView, type LoopView } from './loops.js';
import type { BudgetRecord, Labels, ReservationRecord, TokenRecord } from './types.js';

/** A budget as callers see it at a moment: a period that has ended reads as a fresh one. */
export interface BudgetView extends Omit<BudgetRecord, 'breakerTrips' | 'probeSeq' | 'burn' | 'loops'> {
  /** `limit + granted - spent - reserved`; null without a limit. May be negative after an overrun. */
  remainingMicros: number | null;
  /** The breaker: `open` refuses until `trippedUntilMs`, then `half_open` lets one request through. */
  breaker: 'closed' | 'open' | 'half_open';
  /** Each of the budget's own burn limits, with what its window holds now. */
  burn: { amountMicros: number; windowMs: number; burnMicros: number }[];
  /** The budget's own loop limit and what it counts now; null without one. */
  loop: LoopView | null;
}

/** True when the budget's current period has ended at `nowMs`. */
export function periodEnded(b: Pick<BudgetRecord, 'periodEndMs'>, nowMs: number): boolean {
  return b.periodEndMs !== null && nowMs >= b.periodEndMs;
}

/** What a budget can still take at `nowMs`, counting a rollover that has not been written yet. */
export function remainingAt(b: BudgetRecord, nowMs: number): number | null {
  if (b.limitMicros === null) return null;
  if (periodEnded(b, nowMs)) return b.limitMicros - b.reservedMicros;
  return b.limitMicros + b.grantedMicros - b.spentMicros - b.reservedMicros;
}

/**
 * A budget as of `nowMs`. When its period ended and no rollover is written yet, it reads as
 * the new period would: nothing spent or granted, open reservations still held.
 */
export function viewBudget(b: BudgetRecord, nowMs: number): BudgetView {
  // Field by field: a rest-and-spread copy of the record costs several times more, and the gateway reads a chain per call.
  const ended = periodEnded(b, nowMs);
  return {
    id: b.id,
    parentId: b.parentId,
    name: b.name,
    path: b.path,
    kind: b.kind,
    status: b.status,
    limitMicros: b.limitMicros,
    period: b.period,
    timezone: b.timezone,
    periodStartMs: ended ? (b.periodEndMs ?? b.periodStartMs) : b.periodStartMs,
    periodEndMs: b.periodEndMs,
    spentMicros: ended ? 0 : b.spentMicros,
    reservedMicros: b.reservedMicros,
    grantedMicros: ended ? 0 : b.grantedMicros,
    overrunMicros: ended ? 0 : b.overrunMicros,
    inflight: b.inflight,
    policy: b.policy,
    createdMs: b.createdMs,
    alertSpentPct: ended ? 0 : b.alertSpentPct,
    alertCommittedPct: ended ? 0 : b.alertCommittedPct,
    trippedUntilMs: b.trippedUntilMs,
    breakerCode: b.breakerCode,
    remainingMicros: remainingAt(b, nowMs),
    breaker: breakerState(b, nowMs),
    burn: burnOf(b, nowMs),
    loop: loopView(b, nowMs),
  };
}

function burnOf(b: BudgetRecord, nowMs: number): BudgetView['burn'] {
  const out: BudgetView['burn'] = [];
  for (const limit of b.policy.burnLimits ?? []) {
    const w = windowOf(b.burn, limit.windowMs);
    out.push({ amountMicros: limit.amountMicros, windowMs: limit.windowMs, burnMicros: w ? burnInWindow(w, nowMs) : 0 });
  }
  return out;
}

/** A reservation as callers see it; `id` is the handle to settle or void it with. */
export interface ReservationView extends Omit<ReservationRecord, 'seq' | 'budgetId' | 'onExpiry'> {
  id: string;
  budget: string;
}

/**
 * The public handle of a reservation: the ledger sequence of its `reserve` entry. Who may act
 * on it is decided by the caller's credential (a spend token reaches only its own chain).
 */
export function reservationId(r: Pick<ReservationRecord, 'seq'>): string {
  return `rsv_${r.seq}`;
}

const reservationIdPattern = /^rsv_([1-9][0-9]{0,15})$/;

/** The sequence number inside a reservation handle, or undefined when it is not one. */
export function parseReservationId(id: unknown): number | undefined {
  if (typeof id !== 'string') return undefined;
  const match = reservationIdPattern.exec(id);
  if (!match) return undefined;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

export function viewReservation(r: ReservationRecord, budgetPath: string): ReservationView {
  return {
    id: reservationId(r),
    budget: budgetPath,
    amountMicros: r.amountMicros,
    status: r.status,
    createdMs: r.createdMs,
    expiresMs: r.expiresMs,
    resolvedMs: r.resolvedMs,
    actualMicros: r.actualMicros,
    labels: r.labels,
  };
}

/** A token as listed: never its secret or hash. */
export interface TokenView {
  id: string;
  budget: string;
  parentTokenId: string | null;
  status: TokenRecord['status'];
  scopes: string[];
  expiresMs: number | null;
  labels: Labels;
  createdMs: number;
  revokedMs: number | null;
}

export function viewToken(t: TokenRecord, budgetPath: string): TokenView {
  return {
    id: t.id,
    budget: budgetPath,
    parentTokenId: t.parentTokenId,
    status: t.status,
    scopes: t.scopes,
    expiresMs: t.expiresMs,
    labels: t.labels,
    createdMs: t.createdMs,
    revokedMs: t.revokedMs,
  };
}
