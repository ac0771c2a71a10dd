/**
 * Stable result codes. Expected outcomes are results carrying one of these, never exceptions.
 * The order of `refusalPrecedence` is the order in which a reservation is checked.
 */
export const refusalPrecedence = [
  'budget_closed',
  'budget_paused',
  'burn_limit',
  'loop_detected',
  'token_expired',
  'model_not_allowed',
  'tag_required',
  'request_cost_cap',
  'too_many_inflight',
  'budget_exceeded',
] as const;

export type Code =
  | (typeof refusalPrecedence)[number]
  | 'invalid_amount'
  | 'invalid_name'
  | 'invalid_kind'
  | 'invalid_path'
  | 'invalid_ttl'
  | 'invalid_period'
  | 'invalid_timezone'
  | 'invalid_policy'
  | 'invalid_label'
  | 'invalid_idempotency_key'
  | 'invalid_status'
  | 'invalid_reservation'
  | 'invalid_token'
  | 'unknown_budget'
  | 'unknown_reservation'
  | 'unknown_token'
  | 'parent_missing'
  | 'budget_exists'
  | 'tree_cycle'
  | 'tree_too_deep'
  | 'budget_busy'
  | 'budget_unlimited'
  | 'policy_widens'
  | 'already_settled'
  | 'already_voided'
  | 'reservation_expired'
  | 'idempotency_key_reused'
  | 'token_revoked'
  | 'store_unavailable';

/**
 * Whether a refusal may still have written to the ledger: a reservation refused for crossing a
 * burn limit or a loop limit trips the breaker (a `breaker_tripped` entry) in the same
 * transaction. Every other refusal leaves the transaction untouched.
 */
export function refusalMayWrite(refusal: Refusal): boolean {
  return refusal.code === 'burn_limit' || refusal.code === 'loop_detected';
}

/** A refused or invalid operation: the code, a message saying what to fix, and where. */
export interface Refusal {
  ok: false;
  code: Code;
  message: string;
  /** Path of the budget that refused, when one did. */
  budget?: string;
  /** What that budget can still take, in micros (null when it has no limit). */
  remainingMicros?: number | null;
  /** The input field that failed validation, when one did. */
  field?: string;
  /** When trying again can succeed (a breaker's cool-down, a burn limit's window), in milliseconds from now. */
  retryAfterMs?: number;
  /** The models a call was tried with before it was refused (fallbacks), each with why it was refused. */
  tried?: TriedModel[];
}

/** One model a refused call was tried with, and the refusal it got. */
export interface TriedModel {
  model: string;
  code: Code | 'model_unpriced';
  budget?: string;
}

/** Builds a refusal. */
export function refuse(code: Code, message: string, extra: Omit<Refusal, 'ok' | 'code' | 'message'> = {}): Refusal {
  return { ok: false, code, message, ...extra };
}
