import type { Refusal } from '../core/index.js';
import type { WireCode } from '../contract/codes.js';
import { errorBody as wireErrorBody, retryAfterSOf, WireError } from '../contract/errors.js';

/**
 * The gateway's refusals: the contract's `WireError`, made the gateway's way (OpenAI calls the
 * failing input `param`), with statuses and error types from the one code table.
 */

export type GatewayCode = WireCode;
export type GatewayError = WireError;

export type Provider = 'openai' | 'anthropic';

interface ErrorDetails {
  budget?: string;
  remainingMicros?: number | null;
  retryAfterS?: number;
  tried?: Refusal['tried'];
  /** The request field that failed (OpenAI's `param`). */
  param?: string;
}

/** True for a gateway refusal (rather than a value a step produced). */
export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof WireError;
}

/**
 * A refusal to send.
 *
 * @example
 * gatewayError('bad_request', 'model is required (a model id string)', { param: 'model' }).status // 400
 */
export function gatewayError(code: GatewayCode, message: string, extra: ErrorDetails = {}): GatewayError {
  const { param, ...rest } = extra;
  return new WireError(code, message, { ...rest, field: param });
}

/** A gateway error from a ledger refusal, keeping the refusing budget and what remains. */
export function fromRefusal(refusal: Refusal): GatewayError {
  const code: GatewayCode = refusal.code === 'invalid_label' || refusal.code === 'invalid_amount' ? 'bad_request' : refusal.code;
  return gatewayError(code, refusal.message, { budget: refusal.budget, remainingMicros: refusal.remainingMicros, param: refusal.field === 'tags' ? 'x-bursar-tags' : refusal.field, retryAfterS: retryAfterSOf(refusal), tried: refusal.tried });
}

/**
 * The error body in the provider's own shape, so the official SDKs raise their typed errors;
 * Bursar's stable code, the refusing budget and what remains travel along as extra fields.
 */
export function errorBody(provider: Provider, e: GatewayError): Record<string, unknown> {
  return wireErrorBody(provider, e);
}
