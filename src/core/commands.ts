import type { Period } from './period.js';
import type { Policy } from './policy.js';
import type { BudgetKind, ExpiryRule, Labels, Usage } from './types.js';

/** Who did something and why: recorded on every entry an operation writes. */
export interface Attribution {
  actor?: string;
  reason?: string;
}

export interface CreateBudget extends Attribution {
  type: 'createBudget';
  path: string;
  kind?: BudgetKind;
  limitMicros?: number | null;
  period?: Period;
  timezone?: string;
  policy?: Policy;
  /** Create missing ancestors (without limits) instead of refusing with `parent_missing`. */
  createParents?: boolean;
  idempotencyKey?: string;
}

export interface UpdateBudget extends Attribution {
  type: 'updateBudget';
  path: string;
  /** A number sets the limit, null removes it, undefined leaves it. */
  limitMicros?: number | null;
  period?: Period;
  timezone?: string;
  /** Replaces the budget's own policy. */
  policy?: Policy;
  /** Changes some policy fields atomically: a value sets a field, null removes it. */
  policyPatch?: { [K in keyof Policy]?: Policy[K] | null };
  idempotencyKey?: string;
}

export interface SetStatus extends Attribution {
  type: 'setStatus';
  path: string;
  status: 'active' | 'paused' | 'closed';
}

export interface Grant extends Attribution {
  type: 'grant';
  path: string;
  amountMicros: number;
  idempotencyKey?: string;
}

/** Closes a budget's tripped burn-limit breaker by hand. */
export interface ResetBreaker extends Attribution {
  type: 'resetBreaker';
  path: string;
}

export interface MoveBudget extends Attribution {
  type: 'moveBudget';
  path: string;
  /** New parent path, or null to make it a root. */
  parent: string | null;
}

export interface Reserve {
  type: 'reserve';
  path: string;
  amountMicros: number;
  ttlMs?: number;
  idempotencyKey?: string;
  labels?: Labels;
  /**
   * What the request is, hashed: the same fingerprint more often than a budget's loop limit
   * allows trips its breaker. The gateway gives one for every model call (the model and the
   * normalised conversation), tool spend for a tool called with its params. Recorded in the
   * reserve entry.
   */
  fingerprint?: string;
  /**
   * False only in shadow mode: admit even what the chain would refuse, and record (and return)
   * the refusal that enforcement would have given. Unknown budgets are still refused.
   */
  enforce?: boolean;
  /**
   * What expiry does with the hold. The gateway passes `charge` for a call it forwards; when
   * unset, the chain's policy decides (`charge` unless narrowed to it from `release`).
   */
  onExpiry?: ExpiryRule;
  /** The call's tags: it also reserves on `tags/<tag>` for each tag that has a budget. */
  tags?: string[];
  /** The provider that serves the call: it also reserves on `providers/<provider>` when that budget exists. */
  provider?: string;
  /**
   * What the call would reserve with each model it may be sent to instead of `labels.model`
   * (brownout tiers and fallbacks of its chain). A model missing here is not tried.
   */
  modelAmounts?: Record<string, number>;
}

export interface Settle extends Attribution {
  type: 'settle';
  reservationId: string;
  actualMicros: number;
  usage?: Usage;
  idempotencyKey?: string;
}

export interface Void extends Attribution {
  type: 'void';
  reservationId: string;
  idempotencyKey?: string;
}

export interface MintToken extends Attribution {
  type: 'mintToken';
  /** The budget the token's envelope goes under (usually an agent). Ignored with a parent token. */
  path?: string;
  /** Mint a child of this token: its envelope nests in the parent's and can only narrow. */
  parentTokenId?: string;
  tokenId: string;
  /** Hash of the secret; the secret itself never reaches the store. */
  hash: string;
  limitMicros?: number | null;
  models?: string[];
  requestCapMicros?: number;
  inflightMax?: number;
  expiresMs?: number | null;
  scopes?: string[];
  labels?: Labels;
}

export interface RevokeToken extends Attribution {
  type: 'revokeToken';
  tokenId: string;
}

export type Command =
  | CreateBudget
  | UpdateBudget
  | SetStatus
  | Grant
  | MoveBudget
  | ResetBreaker
  | Reserve
  | Settle
  | Void
  | MintToken
  | RevokeToken;

export const tokenScopes = ['delegate'] as const;
