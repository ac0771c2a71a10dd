import { z } from 'zod';

/**
 * The error bodies as zod schemas, for what reads them (clients, the OpenAPI documents); the
 * bodies themselves are written by `errorBody` (errors.ts), which needs no schema.
 */

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

