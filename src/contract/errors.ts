import { z } from 'zod';
import type { Refusal, TriedModel } from '../core/index.js';
import { codeTable, type WireCode } from './codes.js';

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

/** The models a refused call was tried with, in order, and the refusal each got. */
const TriedJson = z
  .array(z.object({ model: z.string(), code: z.string(), budget: z.string().optional().describe('the budget that refused it') }))
  .describe('the models the call was tried with (the one asked for, then its fallbacks) and why each was refused');

/** The admin API's error body. */
export const BursarErrorJson = z.object({
  error: z.object({
    code: z.string().describe('stable code, e.g. unknown_budget, budget_exceeded, bad_request'),
    message: z.string(),
    field: z.string().optional().describe('the input field that failed'),
    budget: z.string().optional().describe('the budget that refused'),
    remaining_micros: z.int().nullable().optional().describe('what that budget can still take'),
    tried: TriedJson.optional(),
  }),
});

/** OpenAI's error body with Bursar's code, the refusing budget and what it has left. */
export const OpenaiErrorJson = z.object({
  error: z.object({
    message: z.string(),
    type: z.string().describe('OpenAI error type: invalid_request_error, authentication_error, permission_error, insufficient_quota, …'),
    param: z.string().nullable().describe('the input field that failed'),
    code: z.string().describe('Bursar\'s stable code: bad_request, token_invalid, policy_widens, budget_exceeded, unknown_reservation, …'),
    budget: z.string().nullable().describe('the budget that refused'),
    remaining_micros: z.int().nullable().describe('what that budget can still take'),
    tried: TriedJson.optional(),
  }),
});

/** Anthropic's error body with Bursar's code. */
export const AnthropicErrorJson = z.object({
  type: z.literal('error'),
  error: z.object({ type: z.string(), message: z.string(), code: z.string(), budget: z.string().nullable(), remaining_micros: z.int().nullable(), tried: TriedJson.optional() }),
});

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

/** An error a client read from an answer, whichever shape it came in. */
export interface ReadFailure {
  status: number;
  code: string;
  message: string;
  /** The input field as the server named it. */
  field?: string;
  budget?: string;
  remainingMicros?: number | null;
  /** For a burn-limit refusal: when a retry can succeed, from the answer's `retry-after`. */
  retryAfterMs?: number;
}

/**
 * The error an answer carries, read from any of the three shapes; undefined for a success or a
 * body that is no Bursar error (a proxy's HTML page).
 *
 * @example
 * readFailure(402, { error: { message: 'm', type: 'insufficient_quota', param: null, code: 'budget_exceeded', budget: 'acme', remaining_micros: 0 } })?.code // 'budget_exceeded'
 */
export function readFailure(status: number, body: unknown): ReadFailure | undefined {
  if (status < 400) return undefined;
  // The provider shapes first: a Bursar-shaped reading of them would drop `param`.
  const openai = OpenaiErrorJson.safeParse(body);
  const anthropic = openai.success ? undefined : AnthropicErrorJson.safeParse(body);
  const provider = openai.success ? openai.data.error : anthropic?.success ? { ...anthropic.data.error, param: null } : undefined;
  if (provider) {
    const e = provider;
    return dropUndefined({ status, code: e.code, message: e.message, field: e.param ?? undefined, budget: e.budget ?? undefined, remainingMicros: e.remaining_micros ?? undefined });
  }
  const bursar = BursarErrorJson.safeParse(body);
  if (!bursar.success) return undefined;
  const e = bursar.data.error;
  return dropUndefined({ status, code: e.code, message: e.message, field: e.field, budget: e.budget, remainingMicros: e.remaining_micros });
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
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
