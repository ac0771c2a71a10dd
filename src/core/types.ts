import type { Refusal } from './codes.js';
import type { Period } from './period.js';
import type { Policy } from './policy.js';

export type BudgetStatus = 'active' | 'paused' | 'closed';
/**
 * `model`, `tag` and `provider` budgets cut across the tree: a call reserves on them besides its
 * own chain (a model budget sits under the budget it sub-limits, as `model:<glob>`; tag and
 * provider budgets under the `tags` and `providers` roots).
 */
export const budgetKinds = ['org', 'team', 'agent', 'envelope', 'budget', 'model', 'tag', 'provider'] as const;
export type BudgetKind = (typeof budgetKinds)[number];

/** A budget as stored: its place in the tree, its limit and period, and its balances. */
export interface BudgetRecord {
  id: number;
  parentId: number | null;
  name: string;
  /** Names from the root down, joined by `/`: `acme/research/market-researcher`. */
  path: string;
  kind: BudgetKind;
  status: BudgetStatus;
  /** Null: no limit (the budget only records). */
  limitMicros: number | null;
  period: Period;
  timezone: string;
  periodStartMs: number;
  periodEndMs: number | null;
  /** Settled spend in the current period, this budget and everything under it. */
  spentMicros: number;
  /** Held by open reservations, this budget and everything under it. */
  reservedMicros: number;
  /** Extra allowance granted for the current period (top-ups). */
  grantedMicros: number;
  /** Spend beyond reservations in the current period (overruns and late charges). */
  overrunMicros: number;
  /** Open reservations on this budget and everything under it. */
  inflight: number;
  policy: Policy;
  createdMs: number;
  /** Highest alert threshold (percent of limit + granted) already raised this period on spent; 0: none. */
  alertSpentPct: number;
  /** The same on committed money (spent + reserved). */
  alertCommittedPct: number;
  /** The burn-limit breaker: null while closed; open before this time, half-open from it on. */
  trippedUntilMs: number | null;
  /** Trips since the breaker last closed; each one doubles the cool-down. */
  breakerTrips: number;
  /** The reservation a half-open breaker let through as its one probe, until it resolves. */
  probeSeq: number | null;
  /** What tripped the breaker: a burn limit or a loop; null while it is closed. */
  breakerCode: BreakerCode | null;
  /** Recent spend for each burn-limit window of the budget's own policy; null when it has none. */
  burn: BurnWindow[] | null;
  /** Request fingerprints recently reserved, for the budget's own loop limit; null without one. */
  loops: LoopState | null;
}

/** The guards that trip a budget's breaker, by the code their refusals carry. */
export type BreakerCode = 'burn_limit' | 'loop_detected';

/**
 * Request fingerprints recently reserved on a budget and everything under it, least recently
 * seen first, at most `loopFingerprintsPerBudgetMax`. Stored as `[[fingerprint, count, firstMs,
 * firstSeq, lastSeq], …]`; `text` caches that form (each entry caches its own), so a write
 * serialises only the entry that changed and a settlement none.
 */
export interface LoopState {
  entries: LoopEntry[];
  text?: string;
}

/**
 * One fingerprint: how many reservations carried it since its window opened (at the first of
 * them, `firstMs`), and the first and last of those reservations.
 */
export interface LoopEntry {
  fingerprint: string;
  count: number;
  firstMs: number;
  firstSeq: number;
  lastSeq: number;
  text: string;
}

/**
 * Money committed (reserved, then settled) on a budget and everything under it, in slices of
 * `windowMs / burnSlicesPerWindow`: `slots` holds pairs [slice index, micros], oldest first,
 * only for slices still inside the window. A hold counts in the slice it was made in; what its
 * settlement gives back is taken from that slice, what it adds lands in the slice of the
 * settlement.
 */
export interface BurnWindow {
  windowMs: number;
  slots: number[];
}

/**
 * `expired`: the TTL ran out and the hold was released (the call was never forwarded).
 * `charged`: the TTL ran out on a call that may have been billed, so the hold was charged;
 * a settlement or void that arrives later reconciles it (`late_settled` or `voided`).
 */
export const reservationStatuses = ['open', 'settled', 'voided', 'expired', 'charged', 'late_settled'] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];

/** What expiry does with a reservation's hold: charge it (the work may have been billed) or release it. */
export type ExpiryRule = 'charge' | 'release';
export const expiryRules = ['charge', 'release'] as const;

/** Free-form context carried by a reservation into the ledger. */
export interface Labels {
  model?: string;
  session?: string;
  task?: string;
  requestId?: string;
  actor?: string;
  tool?: string;
  tokenId?: string;
}

export interface Usage {
  model?: string;
  tokensIn?: number;
  tokensOut?: number;
  tokensCached?: number;
  tokensCacheWrite?: number;
}

/**
 * A reservation. It is its `reserve` ledger entry (its number is that entry's sequence) plus
 * whatever later entry resolved it; stores may keep it in any form that replays to this.
 */
export interface ReservationRecord {
  seq: number;
  budgetId: number;
  amountMicros: number;
  status: ReservationStatus;
  createdMs: number;
  expiresMs: number;
  resolvedMs: number | null;
  actualMicros: number | null;
  labels: Labels;
  /** What expiry does with the hold; fixed when the reservation is made. */
  onExpiry: ExpiryRule;
  /**
   * Model, tag and provider budgets the reservation holds on besides its chain (their ids; each
   * with its own ancestors). Empty or absent for most.
   */
  also?: readonly number[];
}

export type TokenStatus = 'active' | 'revoked';

/** A spend token: only the hash of its secret is ever stored. */
export interface TokenRecord {
  id: string;
  hash: string;
  budgetId: number;
  parentTokenId: string | null;
  status: TokenStatus;
  scopes: string[];
  expiresMs: number | null;
  labels: Labels;
  createdMs: number;
  revokedMs: number | null;
}

export const entryKinds = [
  'budget_created',
  'limit_change',
  'period_change',
  'policy_change',
  'budget_moved',
  'grant',
  'pause',
  'resume',
  'close',
  'reserve',
  'settle',
  'void',
  'expire',
  'expire_charged',
  'expiry_refund',
  'late_charge',
  'overrun',
  'period_reset',
  'token_minted',
  'token_revoked',
  'alert',
  'breaker_tripped',
  'breaker_probe',
  'breaker_closed',
] as const;
export type EntryKind = (typeof entryKinds)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A ledger entry before the store gives it a sequence number and a hash. */
export interface EntryDraft {
  tsMs: number;
  kind: EntryKind;
  budgetId: number;
  amountMicros: number;
  reservationSeq: number | null;
  model: string | null;
  tokensIn: number | null;
  tokensOut: number | null;
  tokensCached: number | null;
  tokensCacheWrite: number | null;
  requestId: string | null;
  session: string | null;
  task: string | null;
  actor: string | null;
  reason: string | null;
  /** Kind-specific facts, serialised once and hashed as stored. */
  data: string | null;
}

/**
 * An entry of the append-only, hash-chained ledger. Its hash covers the previous entry's hash
 * and every field here, so the chain is checked by walking the entries in order.
 */
export interface LedgerEntry extends EntryDraft {
  seq: number;
  hash: string;
}

/** Totals of a budget's closed period. */
export interface ClosedPeriod {
  budgetId: number;
  startMs: number;
  endMs: number;
  spentMicros: number;
  grantedMicros: number;
  overrunMicros: number;
}

export interface IdempotencyRecord {
  key: string;
  fingerprint: string;
  result: string;
}

export type Ok<T> = { ok: true } & T;
export type Result<T> = Ok<T> | Refusal;
