import type { Code, Refusal } from '../core/index.js';

/** Codes only the HTTP layer gives; the rest are the ledger's own (`Code`). */
export type HttpCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'not_acceptable'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_streams'
  | 'internal';

export type ApiCode = Code | HttpCode;

/**
 * The HTTP status of every ledger code on the admin API. A `Record` over the whole `Code` union,
 * so a new ledger code does not compile until someone decides its status here. Spend refusals
 * answer as the gateway does (402, 403, 429); a request at odds with the current state is 409.
 */
const ledgerStatus: Record<Code, number> = {
  budget_exceeded: 402,
  request_cost_cap: 402,
  budget_closed: 403,
  budget_paused: 403,
  model_not_allowed: 403,
  too_many_inflight: 429,
  burn_limit: 429,
  token_expired: 409,
  token_revoked: 409,
  invalid_amount: 400,
  invalid_name: 400,
  invalid_kind: 400,
  invalid_path: 400,
  invalid_ttl: 400,
  invalid_period: 400,
  invalid_timezone: 400,
  invalid_policy: 400,
  invalid_label: 400,
  invalid_idempotency_key: 400,
  invalid_status: 409,
  invalid_reservation: 400,
  invalid_token: 400,
  unknown_budget: 404,
  unknown_reservation: 404,
  unknown_token: 404,
  parent_missing: 409,
  budget_exists: 409,
  tree_cycle: 409,
  tree_too_deep: 409,
  budget_busy: 409,
  budget_unlimited: 409,
  policy_widens: 409,
  already_settled: 409,
  already_voided: 409,
  reservation_expired: 409,
  idempotency_key_reused: 409,
  store_unavailable: 503,
};

const httpStatus: Record<HttpCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  not_acceptable: 406,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_streams: 503,
  internal: 500,
};

/**
 * Every code the admin API can answer with, for documentation and for metric labels.
 *
 * @example
 * apiCodes.includes('budget_exceeded') // true
 */
export const apiCodes: readonly ApiCode[] = [...(Object.keys(ledgerStatus) as Code[]), ...(Object.keys(httpStatus) as HttpCode[])];

/**
 * True for a code of the ledger (as opposed to one the HTTP layer adds): a client turns these
 * back into a `Refusal`.
 *
 * @example
 * isLedgerCode('budget_exists') // true
 */
export function isLedgerCode(code: string): code is Code {
  return Object.hasOwn(ledgerStatus, code);
}

/**
 * The HTTP status for a code. The one place the admin API maps codes to statuses.
 *
 * @example
 * statusOf('unknown_budget') // 404
 */
export function statusOf(code: ApiCode): number {
  return isLedgerCode(code) ? ledgerStatus[code] : httpStatus[code];
}

/**
 * An admin API failure on its way to the client. Handlers throw it (or return a refusal through
 * `ok`) and the scope's error handler alone turns it into a response.
 *
 * @example
 * throw new ApiError('bad_request', 'query field limit: must be at most 1000', { field: 'limit' });
 */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly field?: string;
  readonly budget?: string;
  readonly remainingMicros?: number | null;

  constructor(
    readonly code: ApiCode,
    message: string,
    details: { field?: string; budget?: string; remainingMicros?: number | null } = {},
  ) {
    super(message);
    this.status = statusOf(code);
    if (details.field !== undefined) this.field = details.field;
    if (details.budget !== undefined) this.budget = details.budget;
    if (details.remainingMicros !== undefined) this.remainingMicros = details.remainingMicros;
  }
}

/**
 * A ledger field name in the API's snake_case.
 *
 * @example
 * snakeField('labels.requestId') // 'labels.request_id'
 */
export function snakeField(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Ledger field names a route calls differently (`limitMicros` is `max_spend_micros` on a token). */
export type FieldNames = Record<string, string>;

/**
 * The error for a ledger refusal, with its field named as the route's input names it: renamed
 * by `fields`, else in snake_case.
 *
 * @example
 * fromRefusal({ ok: false, code: 'unknown_budget', message: 'no budget at x', field: 'path' }).status // 404
 */
export function fromRefusal(refusal: Refusal, fields: FieldNames = {}): ApiError {
  return new ApiError(refusal.code, refusal.message, {
    field: refusal.field === undefined ? undefined : (fields[refusal.field] ?? snakeField(refusal.field)),
    budget: refusal.budget,
    remainingMicros: refusal.remainingMicros,
  });
}

/**
 * The value of a successful ledger result; a refusal is thrown as an `ApiError`.
 *
 * @example
 * const { budget } = ok(await store.grant({ path, amountMicros }));
 * const minted = ok(await store.mintToken(input), { limitMicros: 'max_spend_micros' });
 */
export function ok<T extends { ok: true }>(result: T | Refusal, fields: FieldNames = {}): T {
  if (result.ok) return result;
  throw fromRefusal(result, fields);
}

/** The JSON body of every admin API error. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; budget?: string; remaining_micros?: number | null };
}

/**
 * The body an error is sent with: `{ error: { code, message, field?, budget?, remaining_micros? } }`.
 *
 * @example
 * errorBody(new ApiError('forbidden', 'viewer keys cannot write')) // { error: { code: 'forbidden', message: … } }
 */
export function errorBody(e: ApiError): ErrorBody {
  const error: ErrorBody['error'] = { code: e.code, message: e.message };
  if (e.field !== undefined) error.field = e.field;
  if (e.budget !== undefined) error.budget = e.budget;
  if (e.remainingMicros !== undefined) error.remaining_micros = e.remainingMicros;
  return { error };
}
