import type { Code, Refusal } from '../core/index.js';
import { limits } from './limits.js';

/** Every code the gateway answers with, beyond the ledger's own. */
export type GatewayCode =
  | Code
  | 'token_invalid'
  | 'token_expired'
  | 'token_revoked'
  | 'model_unpriced'
  | 'burn_limit'
  | 'bad_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'forbidden'
  | 'shutting_down'
  | 'internal';

export type Provider = 'openai' | 'anthropic';

interface ErrorDetails {
  budget?: string;
  remainingMicros?: number | null;
  retryAfterS?: number;
  param?: string;
}

/**
 * A refusal on its way to a client: code, status, message and where it came from. A class, so
 * it can never be confused with a parsed request body that happens to have a `code` field.
 */
export class GatewayError implements ErrorDetails {
  readonly status: number;
  budget?: string;
  remainingMicros?: number | null;
  retryAfterS?: number;
  param?: string;

  constructor(
    readonly code: GatewayCode,
    readonly message: string,
    details: ErrorDetails = {},
  ) {
    this.status = statusFor(code);
    this.retryAfterS = retryAfterSFor[code];
    Object.assign(this, details);
  }
}

/** Refusals a client should retry later, and when (seconds), unless the refusal knows better. */
const retryAfterSFor: Partial<Record<GatewayCode, number>> = {
  too_many_inflight: limits.inflightRetryAfterS,
  burn_limit: limits.burnLimitRetryAfterSDefault,
};

/** True for a gateway refusal (rather than a value a step produced). */
export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}

const statusOf: Partial<Record<GatewayCode, number>> = {
  budget_exceeded: 402,
  request_cost_cap: 402,
  token_invalid: 401,
  token_expired: 401,
  token_revoked: 401,
  model_not_allowed: 403,
  model_unpriced: 403,
  budget_paused: 403,
  budget_closed: 403,
  too_many_inflight: 429,
  burn_limit: 429,
  store_unavailable: 503,
  shutting_down: 503,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_found: 404,
  upstream_error: 502,
  upstream_timeout: 504,
  unknown_budget: 403,
  // The agent routes (/v1/bursar/tokens, /v1/bursar/reservations).
  forbidden: 403,
  policy_widens: 403,
  unknown_token: 404,
  unknown_reservation: 404,
  already_settled: 409,
  already_voided: 409,
  reservation_expired: 409,
  idempotency_key_reused: 409,
  internal: 500,
};

/** The HTTP status for a code: 400 for anything that is the caller's input. */
export function statusFor(code: GatewayCode): number {
  return statusOf[code] ?? 400;
}

/** A gateway error from a ledger refusal, keeping the refusing budget and what remains. */
export function fromRefusal(refusal: Refusal): GatewayError {
  const code: GatewayCode = refusal.code === 'invalid_label' || refusal.code === 'invalid_amount' ? 'bad_request' : refusal.code;
  return new GatewayError(code, refusal.message, { budget: refusal.budget, remainingMicros: refusal.remainingMicros, param: refusal.field });
}

export function gatewayError(code: GatewayCode, message: string, extra: ErrorDetails = {}): GatewayError {
  return new GatewayError(code, message, extra);
}

const openaiType: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

const anthropicType: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'invalid_request_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'overloaded_error',
};

/**
 * The error body in the provider's own shape, so the official SDKs raise their typed errors;
 * Bursar's stable code, the refusing budget and what remains travel along as extra fields.
 */
export function errorBody(provider: Provider, e: GatewayError): Record<string, unknown> {
  const bursar = { code: e.code, budget: e.budget ?? null, remaining_micros: e.remainingMicros ?? null };
  if (provider === 'anthropic') {
    return { type: 'error', error: { type: anthropicType[e.status] ?? 'api_error', message: e.message, ...bursar } };
  }
  return { error: { message: e.message, type: openaiType[e.status] ?? 'api_error', param: e.param ?? null, ...bursar } };
}
