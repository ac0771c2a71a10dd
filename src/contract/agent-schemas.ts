import { z } from 'zod';
import { budgetKinds, limits, periods } from '../core/index.js';
import { labelPattern, labelRule } from './labels.js';
import { contractLimits } from './limits.js';
import { LabelsJson, micros, PolicyInput, positiveMicros, reason, ReservationJson, tag, text, tokenLifetimeMs, ttlMs } from './schemas.js';

/**
 * Shapes of the agent routes, as zod schemas: the routes validate requests with them, the SDK
 * validates answers with them, and the agent OpenAPI document is generated from them. JSON
 * fields are snake_case; money is integer micro-USD in fields ending in `_micros`; durations on
 * every route are milliseconds (`expires_in_ms`, `ttl_ms`).
 */

export const labelText = z.string().regex(labelPattern, { error: `must be ${labelRule}` });

const isoTime = z.iso.datetime().describe('ISO 8601 UTC');

// ---- Delegation ---------------------------------------------------------------------------

export const DelegateBody = z
  .strictObject({
    max_spend_micros: positiveMicros.describe('the most the child token may ever spend; at most what the calling token (and every budget above it) has left'),
    models: PolicyInput.shape.models.describe('models the child may use; each must be allowed to the caller (default: the caller\'s)'),
    expires_in_ms: tokenLifetimeMs.optional().describe('lifetime from now, in milliseconds; no later than the caller\'s own expiry (default: the caller\'s expiry)'),
    expires_at: z.iso.datetime({ offset: true }).optional().describe('alternative to expires_in_ms'),
    request_cap_micros: PolicyInput.shape.request_cap_micros.describe('largest single call or reservation; at most the caller\'s'),
    inflight_max: PolicyInput.shape.inflight_max.describe('most reservations open at once; at most the caller\'s'),
    delegate: z.boolean().optional().describe('let the child mint children of its own (default false)'),
    labels: z.strictObject({ session: labelText.optional(), task: labelText.optional() }).optional().describe('default: the x-bursar-session / x-bursar-task headers'),
    reason: reason.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.expires_at !== undefined && b.expires_in_ms !== undefined) ctx.addIssue({ code: 'custom', path: ['expires_in_ms'], message: 'give expires_in_ms or expires_at, not both' });
  });

const ChildPolicyJson = z.object({ models: z.array(z.string()).optional(), request_cap_micros: z.int().optional(), inflight_max: z.int().optional() });

export const DelegatedJson = z.object({
  id: z.string().describe('tok_…: the child\'s public id (revoke it with this)'),
  token: z.string().describe('the child\'s secret (bsr_…), shown in this response only'),
  parent_token_id: z.string(),
  budget: z.string().describe('path of the child\'s envelope budget, nested in the caller\'s'),
  max_spend_micros: z.int(),
  expires_at: isoTime.nullable(),
  scopes: z.array(z.string()),
  delegate: z.boolean(),
  policy: ChildPolicyJson.describe('the child\'s own narrowing; everything above it applies as well'),
  labels: z.object({ session: z.string().optional(), task: z.string().optional() }),
  created_at: isoTime,
});

export const RevokedJson = z.object({ revoked: z.array(z.string()).describe('ids of the tokens revoked: the one named and every token delegated from it') });

// ---- Tool spend ---------------------------------------------------------------------------

const paramsObject = z
  .record(z.string(), z.unknown())
  .refine((p) => Buffer.byteLength(JSON.stringify(p)) <= contractLimits.toolParamsBytesMax, { error: `must be at most ${contractLimits.toolParamsBytesMax} bytes as JSON` })
  .describe('the tool\'s input: hashed with the tool name into the request fingerprint loop detection counts (the same tool with the same params too often in a window trips the breaker); the params themselves are not stored');

export const ToolReserveBody = z.strictObject({
  tool: labelText.describe('tool name, recorded as labels.tool (Read, Bash, WebFetch, Agent, mcp__server__tool, …)'),
  estimate_micros: positiveMicros.optional().describe('what to reserve; default: the tool price table (an unknown tool: the standard cost plus 20%)'),
  params: paramsObject.optional(),
  ttl_ms: ttlMs.optional(),
  labels: z.strictObject({ session: labelText.optional(), task: labelText.optional() }).optional().describe('default: the x-bursar-session / x-bursar-task headers'),
  tags: z.array(tag).max(limits.tagsPerCallMax).optional().describe('the spend\'s tags: it also reserves on tags/<tag> for each tag that has a budget (and meets a policy\'s required tags)'),
});

/** A reservation as the agent routes show it (the admin API's shape). */
export const AgentReservationJson = z.object({ ...ReservationJson.shape, labels: z.object(LabelsJson.shape) });

export const ToolReservedJson = z.object({
  reservation: AgentReservationJson,
  estimate_basis: z.enum(['given', 'table', 'unknown']).describe('given: estimate_micros; table: the tool\'s price; unknown: standard cost plus the markup'),
  remaining_micros: z.int().nullable().describe('what the tightest budget of the chain can still take'),
  tightest: z.string(),
});

export const SettleJson = z.object({ reservation: AgentReservationJson, overrun_micros: z.int(), late_charge: z.boolean() });
export const VoidJson = z.object({ reservation: AgentReservationJson });

export const ToolPricesJson = z.object({
  tools: z.array(z.object({ name: z.string(), price_micros: z.int() })),
  standard_micros: z.int().describe('what an unknown tool\'s estimate starts from'),
  unknown_markup_pct: z.int(),
  unknown_tool_micros: z.int().describe('what an unknown tool is reserved at: standard_micros plus the markup, rounded up'),
});

// ---- Balance (GET /v1/bursar/balance, served by routes.ts) -------------------------------------

const BalanceLevelJson = z.object({
  budget: z.string(),
  kind: z.enum(budgetKinds),
  status: z.enum(['active', 'paused', 'closed']),
  limit_micros: z.int().nullable(),
  spent_micros: z.int(),
  reserved_micros: z.int(),
  remaining_micros: z.int().nullable(),
  period: z.enum(periods),
  period_end_ms: z.int().nullable(),
});

export const BalanceJson = z.object({
  token: z.string(),
  expires_ms: z.int().nullable(),
  remaining_micros: z.int().nullable().describe('what the tightest level of the chain can still take; null when no level has a limit'),
  tightest: z.string().nullable(),
  chain: z.array(BalanceLevelJson).describe('leaf first: the token\'s envelope, its agent, team and org'),
  across: z
    .array(BalanceLevelJson.extend({ applies_to: z.string().describe('the model glob (gpt-4o*), the tag or the provider the budget limits') }))
    .optional()
    .describe('budgets across the tree a call may also reserve on, by its model and tags: the model budgets under the chain, the tag budgets of the tags its policy requires, every provider budget (model, then tag, then provider). A call holds only on those of its model, tags and provider; they do not count in remaining_micros'),
});

// ---- Shared pieces --------------------------------------------------------------------------

export const SettleBodyAgent = z.strictObject({
  actual_micros: micros.describe('what the tool actually cost'),
  reason: reason.optional(),
});

export const VoidBody = z.strictObject({ reason: reason.optional() }).optional();

/** The optional labels every agent route reads from headers. */
export const AgentHeaders = z.object({
  'x-bursar-session': labelText.optional().describe('session label, recorded on the reservation and in the ledger'),
  'x-bursar-task': labelText.optional().describe('task label, recorded on the reservation and in the ledger'),
  'idempotency-key': text(contractLimits.agentIdempotencyKeyBytesMax, 1).optional().describe('a retry with the same key answers like the first call and changes nothing (keys are per token)'),
});
