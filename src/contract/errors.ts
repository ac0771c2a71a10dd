import type { z } from 'zod';
import type { Refusal, TriedModel } from '../core/index.js';
import { codeTable, type WireCode } from './codes.js';
// Types only: the schemas (and zod) load where a body is read, not where one is written.
import type { BursarErrorJson } from './error-schemas.js';

/** What a refusal may say besides its code and message. */
export interface WireErrorDetails {
  /** The input field that failed, named as the door's input names it. */
  field?: string;
  /** Path of the budget that refused. */
  budget?: string;
  /** What that budget can still take, in micros (null without a limit). */
  remainingMicros?: number | null;
  /** Seconds to wait before a retry, when the refusal knows (a burn-limit cool-down). */
  retryAfterS?: number;
  /** The models a call was tried with (fallbacks) and why each was refused. */
  tried?: TriedModel[];
}

/**
 * A refusal or failure on its way to a client over HTTP: a stable code (its status comes from
 * the code table), a message saying what to fix, and where. Every door answers with it: the
 * admin API and the agent routes throw it, the provider proxy returns it as a value.
 *
 * @example
 * throw new WireError('bad_request', 'query field limit: must be at most 1000', { field: 'limit' });
 */
export class WireError extends Error implements WireErrorDetails {
  override name = 'WireError';
  readonly status: number;
  field?: string;
  budget?: string;
  remainingMicros?: number | null;
  retryAfterS?: number;
  tried?: TriedModel[];

  constructor(
    readonly code: WireCode,
    message: string,
    details: WireErrorDetails = {},
  ) {
    super(message);
    this.status = codeTable[code].status;
    if (details.field !== undefined) this.field = details.field;
    if (details.budget !== undefined) this.budget = details.budget;
    if (details.remainingMicros !== undefined) this.remainingMicros = details.remainingMicros;
    if (details.retryAfterS !== undefined) this.retryAfterS = details.retryAfterS;
    if (details.tried !== undefined) this.tried = details.tried;
  }
}

/** True for a refusal on its way out (rather than a value a step produced). */
export function isWireError(value: unknown): value is WireError {
  return value instanceof WireError;
}

/** A refusal as the ledger and the operations return it: the ledger's `Refusal`, with any code of the table. */
export interface Failure extends Omit<Refusal, 'code'> {
  code: WireCode;
}

/**
 * A refusal with a code from the table (the ledger's `refuse` only takes the ledger's codes).
 *
 * @example
 * failure('forbidden', 'token tok_1 may not mint child tokens')
 */
export function failure(code: WireCode, message: string, extra: Omit<Failure, 'ok' | 'code' | 'message'> = {}): Failure {
  return { ok: false, code, message, ...extra };
}

/** Ledger field names a door calls differently (`limitMicros` is `max_spend_micros` on a token). */
export type FieldNames = Readonly<Record<string, string>>;

/**
 * A ledger field name in the wire's snake_case.
 *
 * @example
 * snakeField('labels.requestId') // 'labels.request_id'
 */
export function snakeField(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A wire field name back in the ledger's camelCase.
 *
 * @example
 * camelField('policy.inflight_max') // 'policy.inflightMax'
 */
export function camelField(field: string): string {
  return field.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The error for a ledger or operation refusal, its field named as the door's input names it:
 * renamed by `fields`, else in snake_case.
 *
 * @example
 * wireErrorOf({ ok: false, code: 'policy_widens', message: '…', field: 'limitMicros' }, { limitMicros: 'max_spend_micros' }).field // 'max_spend_micros'
 */
export function wireErrorOf(failure: Omit<Failure, 'ok'>, fields: FieldNames = {}): WireError {
  return new WireError(failure.code, failure.message, {
    field: failure.field === undefined ? undefined : (fields[failure.field] ?? snakeField(failure.field)),
    budget: failure.budget,
    remainingMicros: failure.remainingMicros,
    retryAfterS: retryAfterSOf(failure),
    tried: failure.tried,
  });
}

/**
 * When a refusal says a retry can succeed (a burn limit's cool-down), that time in whole seconds,
 * rounded up and at least 1; undefined otherwise.
 *
 * @example
 * retryAfterSOf({ retryAfterMs: 1_500 }) // 2
 */
export function retryAfterSOf(failure: Pick<Failure, 'retryAfterMs'>): number | undefined {
  return failure.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(failure.retryAfterMs / 1_000));
}

/**
 * The value of a successful result; a refusal is thrown as a `WireError`.
 *
 * @example
 * const { budget } = ok(await store.grant({ path, amountMicros }));
 */
export function ok<R extends { ok: true } | Failure>(result: R, fields: FieldNames = {}): Extract<R, { ok: true }> {
  if (result.ok) return result as Extract<R, { ok: true }>;
  throw wireErrorOf(result, fields);
}

/** Who an error body is for: Bursar's own API, or a provider-compatible route. */
export type ErrorShape = 'bursar' | 'openai' | 'anthropic';

/**
 * The body an error is sent with, in the shape its door speaks: Bursar's own
 * (`{ error: { code, message, field?, budget?, remaining_micros? } }`), or the provider's, so the
 * official SDKs raise their typed errors with Bursar's code alongside.
 *
 * @example
 * errorBody('openai', new WireError('budget_exceeded', 'no room', { budget: 'acme', remainingMicros: 3 })).error.type // 'insufficient_quota'
 */
export function errorBody(shape: ErrorShape, e: WireError): Record<string, unknown> {
  const spec = codeTable[e.code];
  if (shape === 'bursar') {
    const error: z.input<typeof BursarErrorJson>['error'] = { code: e.code, message: e.message };
    if (e.field !== undefined) error.field = e.field;
    if (e.budget !== undefined) error.budget = e.budget;
    if (e.remainingMicros !== undefined) error.remaining_micros = e.remainingMicros;
    if (e.tried !== undefined) error.tried = e.tried;
    return { error };
  }
  const bursar = { code: e.code, budget: e.budget ?? null, remaining_micros: e.remainingMicros ?? null, ...(e.tried === undefined ? {} : { tried: e.tried }) };
  if (shape === 'anthropic') return { type: 'error', error: { type: spec.anthropic, message: e.message, ...bursar } };
  return { error: { message: e.message, type: spec.openai, param: e.field ?? null, ...bursar } };
}

/**
 * The headers every error carries: `x-bursar-code`, `retry-after` when a retry can wait for
 * something, and `x-bursar-remaining-micros` when the refusing budget is known.
 *
 * @example
 * errorHeaders(new WireError('store_unavailable', 'down'))['retry-after'] // 1
 */
export function errorHeaders(e: WireError): Record<string, string | number> {
  const out: Record<string, string | number> = { 'x-bursar-code': e.code };
  const retryAfterS = e.retryAfterS ?? codeTable[e.code].retryAfterSDefault;
  if (retryAfterS !== undefined) out['retry-after'] = retryAfterS;
  if (e.remainingMicros !== undefined && e.remainingMicros !== null) out['x-bursar-remaining-micros'] = e.remainingMicros;
  return out;
}

/** How a door turns what was thrown into an answer: which errors mean the store is down, and where the rest is logged. */
export interface ThrownOptions {
  /** Largest request body the door takes, for the 413's message. */
  bodyBytesMax: number;
  /** True for an error that means the ledger cannot be reached. */
  isStoreDown(error: unknown): boolean;
  /** Where an unexpected error is logged before it becomes a 500. */
  log(error: unknown): void;
}

/**
 * Whatever a handler or the HTTP framework threw, as the error to answer with: a `WireError`
 * as it is; the store down as 503 `store_unavailable`; the framework's refusals (body too large,
 * not JSON, bad length) as 413/415/400; anything else a logged 500 `internal` that says nothing
 * of its cause. The one such mapping, for every door.
 *
 * @example
 * scope.setErrorHandler((error, _req, reply) => send(reply, wireErrorOfThrown(error, { bodyBytesMax, isStoreDown, log })));
 */
export function wireErrorOfThrown(error: unknown, o: ThrownOptions): WireError {
  if (error instanceof WireError) return error;
  if (o.isStoreDown(error)) return new WireError('store_unavailable', `the ledger cannot be reached; nothing was recorded (${(error as Error).message})`);
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new WireError('payload_too_large', `the request body is larger than ${o.bodyBytesMax} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new WireError('unsupported_media_type', 'send the request body as JSON with "Content-Type: application/json"');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new WireError('bad_request', 'the request body is empty or its length is wrong');
  }
  if (typeof e.statusCode === 'number' && e.statusCode < 500) return new WireError('bad_request', typeof e.message === 'string' ? e.message : 'bad request');
  o.log(error);
  return new WireError('internal', 'internal error; the server log has the details');
}
