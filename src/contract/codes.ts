import type { Code } from '../core/index.js';

/**
 * Codes only the HTTP doors give (the ledger's own are `Code`): input the edge refused,
 * credentials, what a provider did, and what went wrong inside.
 */
export type HttpCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'not_acceptable'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_streams'
  | 'too_many_auth_failures'
  | 'request_timeout'
  | 'token_invalid'
  | 'model_unpriced'
  | 'unknown_webhook'
  | 'webhook_limit'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'shutting_down'
  | 'internal';

/** Every code any door answers with: the ledger's and the HTTP layer's. */
export type WireCode = Code | HttpCode;

/** OpenAI's `error.type` values, as its SDK reads them. */
export type OpenaiErrorType = 'invalid_request_error' | 'authentication_error' | 'insufficient_quota' | 'permission_error' | 'rate_limit_error' | 'api_error';

/** Anthropic's `error.type` values, as its SDK reads them. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'overloaded_error'
  | 'api_error';

/** How a code travels: its HTTP status, the providers' error types, and whether a retry can help. */
export interface CodeSpec {
  status: number;
  openai: OpenaiErrorType;
  anthropic: AnthropicErrorType;
  /** True when the same request may succeed later unchanged (the store is back, a call finished). */
  retryable: boolean;
  /** The `retry-after` (seconds) sent when the refusal names none of its own. */
  retryAfterSDefault?: number;
}

const invalid = { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error', retryable: false } as const;
const unauthenticated = { status: 401, openai: 'authentication_error', anthropic: 'authentication_error', retryable: false } as const;
const overBudget = { status: 402, openai: 'insufficient_quota', anthropic: 'billing_error', retryable: false } as const;
const denied = { status: 403, openai: 'permission_error', anthropic: 'permission_error', retryable: false } as const;
const missing = { status: 404, openai: 'invalid_request_error', anthropic: 'not_found_error', retryable: false } as const;
const conflict = { status: 409, openai: 'invalid_request_error', anthropic: 'invalid_request_error', retryable: false } as const;
const limited = { status: 429, openai: 'rate_limit_error', anthropic: 'rate_limit_error', retryable: true } as const;
const unavailable = { status: 503, openai: 'api_error', anthropic: 'overloaded_error', retryable: true, retryAfterSDefault: 1 } as const;

/** Gives each of `codes` the same spec. */
function each<K extends WireCode>(spec: CodeSpec, codes: readonly K[]): Record<K, CodeSpec> {
  return Object.fromEntries(codes.map((code) => [code, spec])) as Record<K, CodeSpec>;
}

/** The ledger's codes, by status: a `Record` over `Code`, so a new ledger code does not compile until it is placed. */
const ledgerCodeTable: Record<Code, CodeSpec> = {
  ...each(invalid, ['invalid_amount', 'invalid_name', 'invalid_kind', 'invalid_path', 'invalid_ttl', 'invalid_period', 'invalid_timezone', 'invalid_policy', 'invalid_label', 'invalid_idempotency_key', 'invalid_reservation', 'invalid_token']),
  ...each(unauthenticated, ['token_expired', 'token_revoked']),
  ...each(overBudget, ['budget_exceeded', 'request_cost_cap']),
  ...each(denied, ['budget_closed', 'budget_paused', 'model_not_allowed', 'tag_required', 'policy_widens']),
  ...each(missing, ['unknown_budget', 'unknown_reservation', 'unknown_token']),
  ...each(conflict, ['invalid_status', 'parent_missing', 'budget_exists', 'tree_cycle', 'tree_too_deep', 'budget_unlimited', 'already_settled', 'already_voided', 'reservation_expired', 'idempotency_key_reused']),
  budget_busy: { ...conflict, retryable: true },
  // A slot frees when one of the budget's calls ends, usually within seconds; clients (LangChain
  // among them) retry a 429 only when told when.
  too_many_inflight: { ...limited, retryAfterSDefault: 1 },
  // A burn-limit refusal says when the breaker lets a call through again; one that does not asks for a minute.
  burn_limit: { ...limited, retryAfterSDefault: 60 },
  // The breaker tripped by one request fingerprint repeated too often; the refusal says when it lets a call through again.
  loop_detected: { ...limited, retryAfterSDefault: 60 },
  store_unavailable: unavailable,
};

/** The HTTP layer's codes, by status. */
const httpCodeTable: Record<HttpCode, CodeSpec> = {
  bad_request: invalid,
  ...each(unauthenticated, ['unauthorized', 'token_invalid']),
  ...each(denied, ['forbidden', 'model_unpriced']),
  not_found: missing,
  unknown_webhook: missing,
  webhook_limit: { status: 409, openai: 'invalid_request_error', anthropic: 'invalid_request_error', retryable: false },
  not_acceptable: { status: 406, openai: 'invalid_request_error', anthropic: 'invalid_request_error', retryable: false },
  // A client that sends its request too slowly (headers or body past the server's timeouts).
  request_timeout: { status: 408, openai: 'invalid_request_error', anthropic: 'invalid_request_error', retryable: false },
  payload_too_large: { status: 413, openai: 'invalid_request_error', anthropic: 'request_too_large', retryable: false },
  unsupported_media_type: { status: 415, openai: 'invalid_request_error', anthropic: 'invalid_request_error', retryable: false },
  // An address that failed to authenticate too often is refused until its window ends (the Retry-After).
  too_many_auth_failures: { ...limited, retryAfterSDefault: 60 },
  internal: { status: 500, openai: 'api_error', anthropic: 'api_error', retryable: false },
  upstream_error: { status: 502, openai: 'api_error', anthropic: 'api_error', retryable: true },
  too_many_streams: unavailable,
  shutting_down: unavailable,
  upstream_timeout: { status: 504, openai: 'api_error', anthropic: 'api_error', retryable: true },
};

/**
 * The one table of codes: each code's HTTP status, the providers' error types, and whether a
 * retry can help. A `Record` over every code, so a new code does not compile until it is decided
 * here; every door (admin API, agent routes, provider proxy, SDK, CLI) reads it. Spend refusals
 * are 402/403/429; a request at odds with the ledger's state is 409; credentials are 401
 * wherever they are checked; a widening is forbidden (403) from every door.
 *
 * @example
 * codeTable.budget_exceeded.status // 402
 * codeTable.store_unavailable.retryable // true
 */
export const codeTable: Record<WireCode, CodeSpec> = { ...ledgerCodeTable, ...httpCodeTable };

/**
 * Every code, in the table's order (for documentation and metric labels).
 *
 * @example
 * wireCodes.includes('budget_exceeded') // true
 */
export const wireCodes = Object.keys(codeTable) as WireCode[];

/**
 * True for a code of the table (a newer server may send one this build does not know).
 *
 * @example
 * isWireCode('budget_exceeded') // true
 */
export function isWireCode(code: string): code is WireCode {
  return Object.hasOwn(codeTable, code);
}

/**
 * True for a code of the ledger (as opposed to one the HTTP layer adds): a client turns these
 * back into the `Refusal` a local store returns.
 *
 * @example
 * isLedgerCode('budget_exists') // true
 * isLedgerCode('unauthorized') // false
 */
export function isLedgerCode(code: string): code is Code {
  return Object.hasOwn(ledgerCodeTable, code);
}

/**
 * The HTTP status of a code, from the table.
 *
 * @example
 * statusOf('unknown_budget') // 404
 */
export function statusOf(code: WireCode): number {
  return codeTable[code].status;
}
