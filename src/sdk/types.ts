import type { WireCode } from '../contract/index.js';
import type { ToolEstimateBasis } from '../pricing/index.js';

/**
 * A stable code: the ledger's and the gateway's (`budget_exceeded`, `token_revoked`,
 * `policy_widens`, `unknown_reservation`, `bad_request`, …). A newer server may send one this
 * SDK does not list, so any string is accepted.
 */
export type BursarCode = WireCode | (string & Record<never, never>);

/** An expected outcome that is not a success: a budget refused, a token expired, bad input. */
export interface BursarRefusal {
  ok: false;
  code: BursarCode;
  message: string;
  /** Path of the budget that refused, when one did. */
  budget?: string;
  /** What that budget can still take, in micros (null without a limit). */
  remainingMicros?: number | null;
  /** The input field that failed, when one did. */
  field?: string;
  /** For `burn_limit` and `loop_detected`: how long until the budget's breaker lets a call through again, in ms. */
  retryAfterMs?: number;
}

/** A success carrying `T`, or a refusal with a stable code. */
export type BursarResult<T> = ({ ok: true } & T) | BursarRefusal;

/** One call of a paid tool. */
export interface ToolCall {
  /** Tool name (`Read`, `Bash`, `WebFetch`, `Agent`, `mcp__search__query`, …), recorded as `labels.tool`. */
  tool: string;
  /** The tool's input: the same tool with the same params counts toward the budget's loop limit. */
  params?: Record<string, unknown>;
  /** What to reserve; default the tool price table (an unknown tool: the standard cost plus 20%). */
  estimateMicros?: number;
  /** Released automatically after this long unless settled or voided (default 10 minutes). */
  ttlMs?: number;
  /** Session label for this call (default: the client's). */
  session?: string;
  /** Task label for this call (default: the client's). */
  task?: string;
  /** Tags of this call (default: the client's): it also reserves on `tags/<tag>` for each tag that has a budget. */
  tags?: readonly string[];
}

/** An open reservation. */
export interface Reservation {
  /** `rsv_<n>`: settle or void it with this. */
  id: string;
  budget: string;
  amountMicros: number;
  /** `given` (estimateMicros), `table` (the tool's price) or `unknown` (standard cost plus markup). */
  basis: ToolEstimateBasis;
  expiresMs: number;
  /** What the tightest budget of the chain can still take after it (null: no limit). */
  remainingMicros: number | null;
  tightest: string;
}

export interface Settlement {
  id: string;
  actualMicros: number;
  /** Cost above the reservation, recorded as an overrun. */
  overrunMicros: number;
  /** True when the reservation had expired: the cost was recorded as a late charge. */
  lateCharge: boolean;
}

export type { Balance, BalanceLevel } from '../contract/index.js';

/** A child token to mint: it can only narrow what the parent may do. */
export interface DelegateOptions {
  /** The most the child may ever spend (required: an agent hands out a fixed amount). */
  maxSpendMicros: number;
  /** Models the child may use (default: the parent's). */
  models?: string[];
  /** Lifetime from now (default: the parent's expiry). */
  expiresInMs?: number;
  /** Alternative to expiresInMs: a time (Date or epoch ms). */
  expiresAt?: Date | number;
  requestCapMicros?: number;
  inflightMax?: number;
  /** Let the child delegate in turn (default false). */
  delegate?: boolean;
  session?: string;
  task?: string;
  reason?: string;
}

/** What a minted child token is, without a client for it. */
export interface DelegatedToken {
  id: string;
  /** The child's secret (bsr_…): hand it to the sub-agent; it is not shown again. */
  token: string;
  /** Path of the child's envelope budget. */
  budget: string;
  maxSpendMicros: number;
  expiresMs: number | null;
  scopes: string[];
}

/** Thrown only for what is not an expected outcome: an unreachable server, a broken store, misuse. */
export class BursarError extends Error {
  override name = 'BursarError';
  constructor(
    readonly code: 'server_unreachable' | 'bad_response' | 'store_unavailable' | 'remote_only' | 'sdk_missing' | 'invalid_cost',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
