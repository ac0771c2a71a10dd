import { z } from 'zod';
import { labelText } from './agent-schemas.js';
import { PlanItemJson } from './guard-schemas.js';
import { contractLimits } from './limits.js';
import { micros, positiveMicros, reason, ReservationParams, text, ttlMs } from './schemas.js';

/**
 * Shapes of Bursar's MCP tools that the agent routes do not already have: what an agent asks an
 * estimate of, the reservation it settles or voids (an argument here, a URL segment there), and
 * the models it may use. The tools that do what an agent route does answer with that route's
 * JSON (`BalanceJson`, `ToolReservedJson`, `SettleJson`, `VoidJson`, `DelegatedJson`), so an
 * agent reads the same fields through either door.
 */

const idempotencyKey = text(contractLimits.agentIdempotencyKeyBytesMax, 1).describe('a retry with the same key answers like the first call and changes nothing (keys are per token)');
const sessionLabels = z.strictObject({ session: labelText.optional(), task: labelText.optional() }).describe('default: the session and task the connection was opened with');

export const BalanceArgs = z.strictObject({});

export const EstimateArgs = z
  .strictObject({
    model: PlanItemJson.shape.model.optional().describe('a model id (gpt-4o-mini, claude-sonnet-4-5…); give model or tool'),
    input: text(contractLimits.estimateInputBytesMax).optional().describe('the input text of the call, counted with the model\'s tokenizer as the gateway counts it'),
    input_tokens: PlanItemJson.shape.input_tokens.describe('or the input size in tokens (default 0)'),
    max_output_tokens: PlanItemJson.shape.max_output_tokens,
    tool: labelText.optional().describe('a paid tool\'s name, priced from the tool price table; give model or tool'),
    count: z.int({ error: `must be a whole number from 1 to ${contractLimits.planCallsMax}` }).min(1).max(contractLimits.planCallsMax).optional().describe('how many such calls (default 1)'),
  })
  .superRefine((a, ctx) => {
    if ((a.model === undefined) === (a.tool === undefined)) ctx.addIssue({ code: 'custom', path: ['model'], message: 'give exactly one of model (a model call) and tool (a paid tool call)' });
    if (a.input !== undefined && a.input_tokens !== undefined) ctx.addIssue({ code: 'custom', path: ['input_tokens'], message: 'give input (the text) or input_tokens (a count), not both' });
    const modelFields = a.input !== undefined || a.input_tokens !== undefined || a.max_output_tokens !== undefined;
    if (a.tool !== undefined && modelFields) ctx.addIssue({ code: 'custom', path: ['tool'], message: 'a tool is priced per call: input, input_tokens and max_output_tokens go with model' });
  });
export type EstimateArgsValue = z.output<typeof EstimateArgs>;

export const EstimateJson = z.object({
  kind: z.enum(['model', 'tool']),
  name: z.string().describe('the model or tool as asked for'),
  priced_as: z.string().nullable().describe('the catalog model, or the tool table\'s entry, that priced it; null for a tool the table does not list'),
  basis: z.enum(['catalog', 'table', 'unknown']).describe('catalog: a model\'s prices; table: the tool\'s price; unknown: a tool the table does not list, at the standard cost plus the markup'),
  input_tokens: z.int().nullable(),
  max_output_tokens: z.int().nullable().describe('the output cap priced: the one given, else the chain\'s policy default'),
  cost_micros: z.int().describe('what one call reserves: its worst case'),
  count: z.int(),
  total_micros: z.int(),
  allowed: z.boolean().describe('false when a budget of the chain does not allow the model'),
  not_allowed_by: z.string().nullable(),
  remaining_micros: z.int().nullable().describe('what the tightest budget of the chain can still take; null when no level has a limit'),
  tightest: z.string().nullable(),
  fits: z.boolean().describe('the calls are allowed and their total fits what the chain has left'),
});
export type EstimateJsonValue = z.input<typeof EstimateJson>;

export const ReserveArgs = z.strictObject({
  tool: labelText.describe('what the money is for: the paid tool or work, recorded as labels.tool'),
  estimate_micros: positiveMicros.optional().describe('what to reserve; default: the tool price table (a tool it does not list: the standard cost plus 20%)'),
  ttl_ms: ttlMs.optional(),
  labels: sessionLabels.optional(),
  idempotency_key: idempotencyKey.optional(),
});

const reservationId = ReservationParams.shape.id.describe('the rsv_<n> that reserve_spend returned');

export const SettleArgs = z.strictObject({
  reservation_id: reservationId,
  actual_micros: micros.describe('what the work actually cost; above the reservation it is charged and recorded as an overrun'),
  reason: reason.optional(),
  idempotency_key: idempotencyKey.optional(),
});

export const VoidArgs = z.strictObject({
  reservation_id: reservationId,
  reason: reason.optional(),
  idempotency_key: idempotencyKey.optional(),
});

export const ModelsArgs = z.strictObject({
  provider: z.enum(['openai', 'anthropic']).optional().describe('only this provider\'s models'),
});

export const ModelPriceJson = z.object({
  model: z.string(),
  provider: z.enum(['openai', 'anthropic']),
  kind: z.enum(['chat', 'embedding']),
  input_micros_per_million: z.int(),
  cached_input_micros_per_million: z.int().nullable(),
  output_micros_per_million: z.int(),
  max_output_tokens: z.int(),
});

export const ModelsJson = z.object({
  models: z.array(ModelPriceJson).describe('priced models every budget of the chain allows'),
  restricted: z.boolean().describe('true when a budget of the chain allows only some models'),
});

/** The prices of a catalog entry an agent needs to plan with. */
export interface ModelPrice {
  provider: 'openai' | 'anthropic';
  kind: 'chat' | 'embedding';
  input: number;
  cachedInput: number | null;
  output: number;
  maxOutputTokens: number;
}

/**
 * A model's prices as `list_models` shows them (micro-USD per million tokens).
 *
 * @example
 * modelPriceToJson('gpt-4o-mini', entry).output_micros_per_million // 600000
 */
export function modelPriceToJson(model: string, e: ModelPrice): z.input<typeof ModelPriceJson> {
  return {
    model,
    provider: e.provider,
    kind: e.kind,
    input_micros_per_million: e.input,
    cached_input_micros_per_million: e.cachedInput,
    output_micros_per_million: e.output,
    max_output_tokens: e.maxOutputTokens,
  };
}

/** A refusal as a tool error carries it in `_meta["bursar/error"]`, besides its text. */
export const McpErrorJson = z.object({
  code: z.string(),
  message: z.string(),
  field: z.string().nullable(),
  budget: z.string().nullable().describe('the budget that refused'),
  remaining_micros: z.int().nullable().describe('what that budget can still take'),
  retry_after_s: z.int().nullable(),
});
