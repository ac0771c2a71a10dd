import { z } from 'zod';
import { DateTime } from 'luxon';
import { alertThresholdsPctDefault, budgetKinds, entryKinds, expiryRules, isTimeZone, limits, parsePath, periods, providerPattern, reservationStatuses, tagPattern, tokenScopes } from '../core/index.js';
import { contractLimits } from './limits.js';

const modelPattern = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}\*?$|^\*$/;

/**
 * Every shape the admin API reads or writes, as zod schemas, and the pieces the agent routes
 * and the SDK check their fields with. The server validates requests with them, the OpenAPI
 * documents are generated from them, and the remote clients validate answers with them, so
 * none of these can drift. JSON fields are snake_case; amounts are integer micro-USD in fields
 * ending in `_micros`; times are ISO 8601 UTC strings (inputs also take epoch milliseconds).
 */

// ---- Pieces -------------------------------------------------------------------------------

const microsMessage = `must be a whole number of micros from 0 to ${limits.amountMicrosMax} (1 USD = 1,000,000)`;

/** A non-negative whole number of micros. */
export const micros = z.int({ error: microsMessage }).min(0, { error: microsMessage }).max(limits.amountMicrosMax, { error: microsMessage });
/** A positive whole number of micros. */
export const positiveMicros = z.int({ error: microsMessage }).min(1, { error: 'must be more than 0 micros' }).max(limits.amountMicrosMax, { error: microsMessage });

const printable = /^[\x20-\x7E\u00A0-\uFFFF]*$/;

/** Free text up to `maxBytes` bytes without control characters. */
export function text(maxBytes: number, minChars = 0) {
  return z
    .string()
    .min(minChars, { error: minChars === 1 ? 'cannot be empty' : `must be at least ${minChars} characters` })
    .refine((s) => Buffer.byteLength(s) <= maxBytes, { error: `is longer than ${maxBytes} bytes` })
    .refine((s) => printable.test(s), { error: 'contains control characters' });
}

export const reason = text(limits.reasonBytesMax).describe('why, recorded in the ledger');
const label = text(limits.labelBytesMax, 1);

/** A budget path (`acme/research/bot`) checked with the ledger's own naming rules. */
export const budgetPath = z
  .string()
  .superRefine((value, ctx) => {
    const parsed = parsePath(value);
    if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
  })
  .describe('budget path, names joined by "/", e.g. acme/research/market-researcher');

export const period = z.enum(periods).describe('period the limit resets on, calendar-aligned in the budget\'s time zone');
export const timezone = z
  .string()
  .refine((s) => isTimeZone(s), { error: 'is not an IANA time zone (use UTC or a name like Europe/Amsterdam)' })
  .describe('IANA time zone, e.g. UTC or Europe/Amsterdam');

const modelList = z
  .array(z.string().regex(modelPattern, { error: 'is not a model id (letters, digits, . _ : @ / -, optional trailing *)' }))
  .max(limits.modelsPerPolicyMax)
  .describe('allowed models: exact ids, or a prefix ending in * (claude-*)');
const inflightMax = z.int().min(1).max(limits.inflightMax);
const maxOutputTokens = z.int().min(1).max(limits.tokensPerRequestMax);
const alertThresholds = z
  .array(z.int().min(1).max(limits.alertThresholdPctMax))
  .max(limits.alertThresholdsMax)
  .describe(`whole percentages of the limit (plus grants), 1 to ${limits.alertThresholdPctMax}, at which spent, and separately spent + reserved, raise an alert once per period (default ${alertThresholdsPctDefault.join(', ')}; unset: the nearest ancestor's)`);
const burnLimitInput = z.strictObject({
  amount_micros: positiveMicros.describe('most money committed (reserved, then settled) in any window'),
  window_ms: z.int().min(limits.burnWindowMsMin).max(limits.burnWindowMsMax).describe(`length of the rolling window, ${limits.burnWindowMsMin} ms (1 s) to ${limits.burnWindowMsMax} ms (7 days)`),
});
const burnLimits = z
  .array(burnLimitInput)
  .max(limits.burnLimitsPerPolicyMax)
  .refine((list) => new Set(list.map((l) => l.window_ms)).size === list.length, { error: 'two burn limits share a window; keep the tighter one' })
  .describe('rolling-window caps on this budget and everything under it; crossing one trips the budget\'s breaker (429 burn_limit). New agents get 2,000,000 micros per 60,000 ms unless they set their own ([] for none)');

const modelId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/, { error: 'is not a model id (letters, digits, . _ : @ / -, no *)' });
const modelOrGlob = z.string().regex(modelPattern, { error: 'is not a model id or a prefix ending in *' });
/** A call's tag, or a tag key a policy requires. */
export const tag = z.string().regex(tagPattern, { error: 'is not a tag (letters, digits, . _ : -, at most 64; e.g. product:chat-bot)' });
const requiredTags = z
  .array(tag)
  .max(limits.requiredTagsMax)
  .describe('tags every call under this budget must carry (x-bursar-tags): a key such as product (met by product:…) or a whole tag; refused with tag_required (403)');
const pctError = { error: 'must be a whole percentage of the budget from 1 to 100' };
const brownout = z
  .array(z.strictObject({ at_pct: z.int(pctError).min(1, pctError).max(100, pctError).describe('share of the limit (plus grants) committed, spent + reserved, from which the tier applies'), from: modelOrGlob.describe('model id or prefix ending in *'), to: modelId.describe('the cheaper model calls are sent to (must be priced)') }))
  .max(limits.brownoutTiersMax)
  .describe('brownout tiers: past at_pct of this budget, calls under it for from are sent to to (x-bursar-downgraded-from tells the client); the deepest tier reached applies, and tiers chain; a cycle is refused');
const fallbacks = z
  .array(z.strictObject({ from: modelOrGlob, to: z.array(modelId).min(1).max(limits.fallbackModelsMax).describe('models tried in order (each must be priced)') }))
  .max(limits.fallbackRulesMax)
  .describe('when the budgets cannot take a call for from (budget_exceeded, request_cost_cap, or its model budget paused or closed), it is tried with each of to in order; the refusal lists what was tried; a cycle is refused');
const loopLimitInput = z
  .union([
    z.literal('off'),
    z.strictObject({
      repeats: z.int().min(1).max(limits.loopRepeatsMax).describe(`most reservations of one request in the window, 1 to ${limits.loopRepeatsMax}; one more is a loop`),
      window_ms: z.int().min(limits.loopWindowMsMin).max(limits.loopWindowMsMax).describe(`length of the window, ${limits.loopWindowMsMin} ms (1 s) to ${limits.loopWindowMsMax} ms (7 days), from a request's first repeat`),
    }),
  ], { error: 'must be "off" or { repeats, window_ms }: at most repeats of one request in a window of window_ms' })
  .describe(`loop detection on this budget and everything under it: the same request (model and normalised messages; a tool and its params) more than repeats times in the window trips the budget's breaker (429 loop_detected). New agents get ${limits.loopLimitAgentDefault.repeats} per ${limits.loopLimitAgentDefault.windowMs} ms unless they set their own ("off" for none)`);

const isoTimePattern = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A point in time in a query: epoch milliseconds, or an ISO 8601 date or date-time (UTC unless
 * it names a zone). Parsed to epoch milliseconds.
 */
export const timeParam = z
  .string()
  .refine((s) => /^\d{1,15}$/.test(s) || (isoTimePattern.test(s) && DateTime.fromISO(s, { zone: 'utc' }).isValid), {
    error: 'must be epoch milliseconds or an ISO 8601 date/time like 2026-01-31T12:00:00Z',
  })
  .transform((s) => (/^\d{1,15}$/.test(s) ? Number(s) : DateTime.fromISO(s, { zone: 'utc' }).toMillis()))
  .describe('epoch milliseconds, or ISO 8601 date or date-time (UTC unless a zone is given)');

/** A whole number in a query string, from `min` to `max`. */
export function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,15}$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.int().min(min, { error: `must be a whole number from ${min} to ${max}` }).max(max, { error: `must be a whole number from ${min} to ${max}` }));
}

export const isoTime = z.iso.datetime().describe('ISO 8601 UTC');
const isoTimeOrNull = isoTime.nullable();

/** A reservation's time to live, in milliseconds (durations are milliseconds on every route). */
export const ttlMs = z
  .int()
  .min(limits.reservationTtlMsMin)
  .max(limits.reservationTtlMsMax)
  .describe(`milliseconds after which the reservation is released automatically unless settled or voided (default ${limits.reservationTtlMsDefault})`);

/** A token's lifetime from now, in milliseconds. */
export const tokenLifetimeMs = z.int().min(contractLimits.tokenLifetimeMsMin).max(contractLimits.tokenLifetimeMsMax);

// ---- Output shapes ------------------------------------------------------------------------

export const PolicyJson = z
  .object({
    models: z.array(z.string()).optional(),
    request_cap_micros: z.int().optional(),
    inflight_max: z.int().optional(),
    max_output_tokens: z.int().optional(),
    alert_thresholds_pct: z.array(z.int()).optional(),
    burn_limits: z.array(z.object({ amount_micros: z.int(), window_ms: z.int() })).optional(),
    loop_limit: z.union([z.literal('off'), z.object({ repeats: z.int(), window_ms: z.int() })]).optional(),
    on_expiry: z.enum(expiryRules).optional(),
    required_tags: z.array(z.string()).optional(),
    brownout: z.array(z.object({ at_pct: z.int(), from: z.string(), to: z.string() })).optional(),
    fallbacks: z.array(z.object({ from: z.string(), to: z.array(z.string()) })).optional(),
  })
  .meta({ id: 'Policy', description: 'Spending policy; inherited down the tree, a child can only narrow it.' });

export const BudgetJson = z
  .object({
    id: z.int(),
    parent_id: z.int().nullable(),
    path: z.string(),
    name: z.string(),
    kind: z.enum(budgetKinds),
    status: z.enum(['active', 'paused', 'closed']),
    limit_micros: z.int().nullable().describe('null: no limit (the budget only records)'),
    spent_micros: z.int().describe('settled spend this period, this budget and everything under it'),
    reserved_micros: z.int().describe('held by open reservations, this budget and everything under it'),
    granted_micros: z.int().describe('top-ups for this period'),
    overrun_micros: z.int().describe('spend beyond reservations this period'),
    remaining_micros: z.int().nullable().describe('limit + granted - spent - reserved; null without a limit'),
    used_pct: z.int().nullable(),
    inflight: z.int(),
    period: z.enum(periods),
    timezone: z.string(),
    period_start: isoTime,
    period_end: isoTimeOrNull,
    policy: PolicyJson,
    created_at: isoTime,
    alert_spent_pct: z.int().describe('highest alert threshold raised this period on spent; 0: none'),
    alert_committed_pct: z.int().describe('highest alert threshold raised this period on spent + reserved; 0: none'),
    breaker: z.enum(['closed', 'open', 'half_open']).describe('the breaker (burn limits and loop detection): open refuses until tripped_until, half_open lets one request through'),
    tripped_until: isoTimeOrNull.describe('end of the breaker\'s cool-down; null while closed'),
    breaker_code: z.enum(['burn_limit', 'loop_detected']).nullable().describe('what tripped the breaker; null while closed'),
    burn: z.array(z.object({ amount_micros: z.int(), window_ms: z.int(), burn_micros: z.int().describe('committed in the window now') })).describe('the budget\'s own burn limits and what each window holds'),
    loop: z
      .object({
        repeats: z.int(),
        window_ms: z.int(),
        tracked: z.int().describe('request fingerprints whose window is open'),
        most_repeated: z
          .object({ fingerprint: z.string(), count: z.int(), first_request: z.string().describe('rsv_…: its first reservation in the window'), last_request: z.string() })
          .nullable()
          .describe('the fingerprint with the most reservations in its window'),
      })
      .nullable()
      .describe('the budget\'s own loop limit and what it counts now; null without one'),
  })
  .meta({ id: 'Budget', description: 'A budget as of now (a period that has ended reads as a fresh one).' });

export type BudgetJsonValue = z.output<typeof BudgetJson>;

export interface TreeNodeValue extends BudgetJsonValue {
  children: TreeNodeValue[];
}

export const TreeNodeJson: z.ZodType<TreeNodeValue> = z
  .object({
    ...BudgetJson.shape,
    get children() {
      return z.array(TreeNodeJson);
    },
  })
  .meta({ id: 'BudgetTreeNode', description: 'A budget and the budgets under it.' });

export const LabelsJson = z
  .object({
    model: z.string().optional(),
    session: z.string().optional(),
    task: z.string().optional(),
    request_id: z.string().optional(),
    actor: z.string().optional(),
    tool: z.string().optional(),
    token_id: z.string().optional(),
  })
  .meta({ id: 'Labels' });

export const TokenJson = z
  .object({
    id: z.string(),
    budget: z.string().describe('path of the token\'s envelope budget'),
    parent_token_id: z.string().nullable(),
    status: z.enum(['active', 'revoked']),
    scopes: z.array(z.string()),
    expires_at: isoTimeOrNull,
    labels: LabelsJson,
    created_at: isoTime,
    revoked_at: isoTimeOrNull,
  })
  .meta({ id: 'Token', description: 'A spend token; never its secret.' });

export const ReservationJson = z
  .object({
    id: z.string().describe('rsv_<n>: settle or void it with this'),
    budget: z.string(),
    amount_micros: z.int(),
    status: z.enum(reservationStatuses),
    created_at: isoTime,
    expires_at: isoTime,
    resolved_at: isoTimeOrNull,
    actual_micros: z.int().nullable(),
    labels: LabelsJson,
  })
  .meta({ id: 'Reservation' });

export const LedgerEntryJson = z
  .object({
    seq: z.int(),
    ts: isoTime,
    ts_ms: z.int(),
    kind: z.enum(entryKinds),
    budget: z.string().describe('current path of the entry\'s budget'),
    budget_id: z.int(),
    amount_micros: z.int(),
    reservation_seq: z.int().nullable(),
    model: z.string().nullable(),
    tokens_in: z.int().nullable(),
    tokens_out: z.int().nullable(),
    tokens_cached: z.int().nullable(),
    tokens_cache_write: z.int().nullable(),
    request_id: z.string().nullable(),
    session: z.string().nullable(),
    task: z.string().nullable(),
    actor: z.string().nullable(),
    reason: z.string().nullable(),
    data: z.string().nullable().describe('kind-specific facts as a JSON string, exactly as hashed'),
    hash: z.string(),
  })
  .meta({ id: 'LedgerEntry', description: 'An entry of the append-only, hash-chained ledger.' });

export type LedgerEntryJsonValue = z.output<typeof LedgerEntryJson>;

export const AlertJson = z
  .object({
    seq: z.int().describe('the alert\'s ledger entry'),
    ts: isoTime,
    budget: z.string().describe('current path of the budget'),
    threshold_pct: z.int().describe('the percentage of limit + granted that was reached'),
    basis: z.enum(['spent', 'committed']).describe('spent, or committed (spent + reserved)'),
    value_micros: z.int().describe('the spent or committed amount that reached it'),
    limit_micros: z.int(),
    granted_micros: z.int(),
    spent_micros: z.int(),
    reserved_micros: z.int(),
    period_start: isoTime.describe('start of the period the alert belongs to: it fires once per period'),
  })
  .meta({ id: 'Alert', description: 'A threshold alert: raised once per budget, basis, threshold and period, as an `alert` ledger entry.' });

export type AlertJsonValue = z.output<typeof AlertJson>;

export const RefusalJson = z
  .object({
    id: z.int().nullable().describe('the row; an event for a refusal the store could not yet record has null'),
    code: z.string().describe('the stable code the caller got (budget_exceeded, burn_limit, store_unavailable, …)'),
    status: z.int().describe('the HTTP status it was answered with: 402, 403, 429 or 503'),
    budget: z.string().nullable().describe('the budget that refused, or the one the spend was for when no budget refused (an unpriced model)'),
    agent: z.string().nullable().describe('the budget the spend was for without its token envelopes: usually the agent'),
    token_id_prefix: z.string().nullable().describe('the first 12 characters of the spend token\'s id (never its secret)'),
    model: z.string().nullable(),
    tool: z.string().nullable(),
    amount_micros: z.int().nullable().describe('what was asked for: the call\'s worst case, or the tool\'s estimate'),
    message: z.string().describe('what the latest refusal said'),
    request_id: z.string().nullable().describe('the latest refusal\'s request id (x-bursar-request-id)'),
    route: z.string().nullable().describe('where it was refused'),
    count: z.int().describe('refusals this row stands for: the same code, budget and agent within a minute of the first'),
    first_at: isoTime,
    last_at: isoTime,
  })
  .meta({ id: 'Refusal', description: 'Refused spend (402, 403, 429, or 503 store_unavailable) from the gateway, the agent routes and tool reservations. Refusals are not ledger entries: they move no money.' });

export type RefusalJsonValue = z.output<typeof RefusalJson>;

export const UsageRowJson = z
  .object({
    key: z.string().nullable().describe('the group: a path, session, model, or the ISO start of an hour/day; null when entries have none'),
    cost_micros: z.int(),
    calls: z.int().describe('settlements counted'),
    tokens_in: z.int(),
    tokens_out: z.int(),
    tokens_cached: z.int(),
  })
  .meta({ id: 'UsageRow' });

export const SessionJson = z
  .object({
    id: z.string(),
    started_at: isoTime,
    ended_at: isoTime,
    cost_micros: z.int(),
    calls: z.int(),
    tokens_in: z.int(),
    tokens_out: z.int(),
    tokens_cached: z.int(),
    agents: z.array(z.string()).describe('paths of the agents whose budgets the session spent on'),
    models: z.array(z.string()),
    entries: z.int(),
    truncated: z.boolean().describe('true when the session has more entries than one summary reads'),
  })
  .meta({ id: 'Session' });

export const AuditProblemJson = z
  .object({
    seq: z.int().optional(),
    budget: z.string().optional(),
    field: z.string().optional(),
    expected: z.union([z.string(), z.number(), z.null()]).optional(),
    actual: z.union([z.string(), z.number(), z.null()]).optional(),
    message: z.string(),
  })
  .meta({ id: 'AuditProblem' });

export const ClosedPeriodJson = z
  .object({
    start: isoTime,
    end: isoTime,
    spent_micros: z.int(),
    granted_micros: z.int(),
    overrun_micros: z.int(),
  })
  .meta({ id: 'ClosedPeriod' });

// ---- Inputs -------------------------------------------------------------------------------

const onExpiry = z.enum(expiryRules).describe('what a tool reservation left open past its TTL costs: charge its hold (the default; a crashed agent may have run the tool) or release it; charge is the narrower');

export const PolicyInput = z.strictObject({
  models: modelList.optional(),
  request_cap_micros: positiveMicros.optional().describe('largest single reservation'),
  inflight_max: inflightMax.optional().describe('most reservations open at once, this budget and everything under it'),
  max_output_tokens: maxOutputTokens.optional().describe('output tokens the gateway asks for when a request sets none'),
  alert_thresholds_pct: alertThresholds.optional(),
  burn_limits: burnLimits.optional(),
  loop_limit: loopLimitInput.optional(),
  on_expiry: onExpiry.optional(),
  required_tags: requiredTags.optional(),
  brownout: brownout.optional(),
  fallbacks: fallbacks.optional(),
});

export const PolicyPatchInput = z
  .strictObject({
    models: modelList.nullable().optional(),
    request_cap_micros: positiveMicros.nullable().optional(),
    inflight_max: inflightMax.nullable().optional(),
    max_output_tokens: maxOutputTokens.nullable().optional(),
    alert_thresholds_pct: alertThresholds.nullable().optional(),
    burn_limits: burnLimits.nullable().optional(),
    loop_limit: loopLimitInput.nullable().optional(),
    on_expiry: onExpiry.nullable().optional(),
    required_tags: requiredTags.nullable().optional(),
    brownout: brownout.nullable().optional(),
    fallbacks: fallbacks.nullable().optional(),
  })
  .describe('fields to change: a value sets a field, null removes it, a missing field is left as it is');

export const CreateBudgetBody = z.strictObject({
  path: budgetPath,
  kind: z.enum(budgetKinds).optional().describe('default: budget'),
  limit_micros: micros.nullable().optional().describe('limit per period; null or absent: no limit'),
  period: period.optional().describe('default: none'),
  timezone: timezone.optional(),
  policy: PolicyInput.optional(),
  create_parents: z.boolean().optional().describe('create missing ancestors (without limits) instead of refusing with parent_missing'),
  reason: reason.optional(),
});

export const UpdateBudgetBody = z
  .strictObject({
    limit_micros: micros.nullable().optional().describe('a number sets the limit, null removes it'),
    period: period.optional().describe('a new period closes the current one and starts afresh'),
    timezone: timezone.optional(),
    policy: PolicyPatchInput.optional(),
    reason: reason.optional(),
  })
  .refine((b) => b.limit_micros !== undefined || b.period !== undefined || b.timezone !== undefined || b.policy !== undefined, {
    error: 'nothing to update: give limit_micros, period, timezone or policy',
  });

const scopedLimitFields = {
  limit_micros: micros.nullable().describe('limit per period; null: no limit (the budget only counts)'),
  period: period.optional().describe('on creation the default is month with a limit, else none; on a change, left as it is unless given'),
  timezone: timezone.optional(),
  reason: reason.optional(),
};

export const ModelLimitBody = z.strictObject({
  model: z
    .string()
    .regex(/^(?:[A-Za-z0-9][A-Za-z0-9._:@-]{0,56}\*?|\*)$/, { error: 'is not a model id or a prefix ending in * (letters, digits, . _ : @ -, no /)' })
    .describe('the model, or models sharing a prefix (gpt-4o*), whose calls under the budget this limits'),
  ...scopedLimitFields,
});

export const TagLimitBody = z.strictObject({ tag: tag.describe('the tag whose calls this limits, from any budget (x-bursar-tags)'), ...scopedLimitFields });

export const ProviderLimitBody = z.strictObject({
  provider: z.string().regex(providerPattern, { error: 'is not a provider name (lower-case letters, digits, . _ -), like openai' }).describe('the provider whose calls this limits, from any budget'),
  ...scopedLimitFields,
});

export const ReasonBody = z.strictObject({ reason: reason.optional() }).optional();

export const GrantBody = z.strictObject({
  amount_micros: positiveMicros.describe('extra allowance for the current period'),
  reason: reason.optional(),
});

export const MoveBody = z.strictObject({
  parent: budgetPath.nullable().describe('new parent path, or null to make the budget a root'),
  reason: reason.optional(),
});

const tokenIdPattern = /^tok_[A-Za-z0-9]{8,40}$/;
export const tokenId = z.string().regex(tokenIdPattern, { error: 'is not a token id (tok_…)' });

export const MintTokenBody = z
  .strictObject({
    budget: budgetPath.optional().describe('the budget (usually an agent) the token\'s envelope goes under'),
    parent_token_id: tokenId.optional().describe('mint a delegated child of this token (it needs the delegate scope); its envelope nests in the parent\'s'),
    max_spend_micros: micros.nullable().optional().describe('limit of the token\'s envelope; null or absent: bounded only by the budgets above'),
    models: modelList.optional(),
    request_cap_micros: positiveMicros.optional(),
    inflight_max: inflightMax.optional(),
    expires_at: z.iso.datetime({ offset: true }).optional().describe('when the token stops working'),
    expires_in_ms: tokenLifetimeMs.optional().describe('alternative to expires_at: lifetime from now, in milliseconds'),
    scopes: z.array(z.enum(tokenScopes)).max(tokenScopes.length).optional().describe('delegate: the token may mint child tokens'),
    labels: z.strictObject({ session: label.optional(), task: label.optional() }).optional(),
    reason: reason.optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.budget === undefined) === (b.parent_token_id === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['budget'], message: 'give exactly one of budget (mint under a budget) or parent_token_id (delegate from a token)' });
    }
    if (b.expires_at !== undefined && b.expires_in_ms !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['expires_in_ms'], message: 'give expires_at or expires_in_ms, not both' });
    }
  });

export const ReserveBody = z.strictObject({
  budget: budgetPath,
  amount_micros: positiveMicros,
  ttl_ms: ttlMs.optional(),
  tags: z.array(tag).max(limits.tagsPerCallMax).optional().describe('the spend\'s tags: it also reserves on tags/<tag> for each tag that has a budget'),
  labels: z
    .strictObject({ model: label.optional(), session: label.optional(), task: label.optional(), request_id: label.optional(), tool: label.optional() })
    .optional(),
});

const tokenCount = z.int().min(0).max(limits.tokensPerRequestMax);

export const SettleBody = z.strictObject({
  actual_micros: micros.describe('what the call or tool actually cost'),
  usage: z
    .strictObject({ model: label.optional(), tokens_in: tokenCount.optional(), tokens_out: tokenCount.optional(), tokens_cached: tokenCount.optional(), tokens_cache_write: tokenCount.optional() })
    .optional(),
  reason: reason.optional(),
});

export const WriteHeaders = z.object({
  'x-bursar-actor': label.optional().describe('who to record as the actor of the change (default api:<role>:<key id>)'),
  'idempotency-key': text(limits.idempotencyKeyBytesMax, 1).optional().describe('a retry with the same key returns the first result and changes nothing'),
});

export const ActorHeaders = WriteHeaders.pick({ 'x-bursar-actor': true });

export const PathParams = z.strictObject({ path: budgetPath.describe('budget path, URL-encoded: acme%2Fresearch%2Fbot') });
export const TokenParams = z.strictObject({ id: tokenId });
export const ReservationParams = z.strictObject({ id: z.string().regex(/^rsv_[1-9][0-9]{0,15}$/, { error: 'is not a reservation id (rsv_<number>)' }) });
export const SessionParams = z.strictObject({ id: label.describe('session id, URL-encoded') });

const kindList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
  .pipe(z.array(z.enum(entryKinds)).max(entryKinds.length))
  .describe(`entry kinds, comma-separated: ${entryKinds.join(', ')}`);

const cursor = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'is not a cursor from a previous page' }).describe('next_cursor of the previous page');
/** The query parameters of a paged list: where to go on from, how many, and which way. */
const pageParams = {
  cursor: cursor.optional(),
  limit: queryInt(1, limits.ledgerPageMax).optional().describe(`page size (default ${limits.ledgerPageDefault})`),
  order: z.enum(['asc', 'desc']).optional().describe('default asc (oldest first)'),
};

/**
 * The fields of a report that reads a bounded number of ledger entries: how many it read, the
 * bound, and whether it stopped at the bound.
 *
 * @example
 * const UsageJson = z.object({ rows: z.array(UsageRowJson), ...scanFields });
 */
export const scanFields = { scanned_entries: z.int(), scan_limit: z.int(), truncated: z.boolean() };

export const formatParam = z.enum(['json', 'csv']).describe('csv streams every matching entry (all pages); also chosen by "Accept: text/csv"');

export const AlertsQuery = z.strictObject({
  budget: budgetPath.optional().describe('only alerts of this budget and everything under it'),
  basis: z.enum(['spent', 'committed']).optional().describe('spent, or committed (spent + reserved)'),
  since: timeParam.optional().describe('alerts raised at or after this time'),
  until: timeParam.optional().describe('alerts raised before this time'),
  ...pageParams,
});

export const RefusalsQuery = z.strictObject({
  agent: z.string().min(1).max(contractLimits.agentRefCharsMax).optional().describe('only refusals of this agent: a path, or a bare agent name when unique'),
  budget: budgetPath.optional().describe('only refusals by this budget or one under it'),
  code: z.string().regex(/^[a-z_]{1,64}$/, { error: 'is not a code (budget_exceeded, burn_limit, …)' }).optional(),
  since: timeParam.optional().describe('refusals at or after this time (a row counts when its latest refusal is)'),
  until: timeParam.optional().describe('rows that began before this time'),
  ...pageParams,
});

export const LedgerQuery = z.strictObject({
  budget: budgetPath.optional().describe('only this budget and everything under it'),
  agent: z.string().min(1).max(contractLimits.agentRefCharsMax).optional().describe('only this agent and its envelopes: a path, or a bare agent name when unique'),
  session: label.optional(),
  task: label.optional(),
  model: label.optional(),
  kind: kindList.optional(),
  since: timeParam.optional().describe('entries at or after this time'),
  until: timeParam.optional().describe('entries before this time'),
  ...pageParams,
  format: formatParam.optional(),
});

export const groupings = ['budget', 'agent', 'session', 'model', 'hour', 'day'] as const;
export type GroupBy = (typeof groupings)[number];

export const UsageQuery = z.strictObject({
  group_by: z.enum(groupings).describe('budget: the entry\'s own budget; agent: the agent above it; hour/day: time buckets'),
  since: timeParam.optional(),
  until: timeParam.optional(),
  budget: budgetPath.optional().describe('only spend under this budget'),
  timezone: timezone.optional().describe('time zone of hour/day buckets (default UTC)'),
});

export const SessionsQuery = z.strictObject({
  last: queryInt(1, contractLimits.sessionsListMax).optional().describe(`how many sessions, most recently active first (default ${contractLimits.sessionsListDefault})`),
  since: timeParam.optional().describe('only sessions active since'),
  budget: budgetPath.optional().describe('only spend under this budget'),
});

export const SessionQuery = z.strictObject({
  cursor: cursor.optional(),
  limit: queryInt(1, limits.ledgerPageMax).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  format: formatParam.optional(),
});

export const EventsQuery = z.strictObject({
  last_event_id: z.string().regex(/^\d{1,15}$/, { error: 'must be a ledger sequence number' }).transform(Number).optional().describe('resume after this ledger sequence (the Last-Event-ID header does the same)'),
});

export const EventsHeaders = z.object({
  'last-event-id': z.string().regex(/^\d{1,15}$/, { error: 'must be a ledger sequence number' }).transform(Number).optional(),
});

export const BudgetsQuery = z.strictObject({
  under: budgetPath.optional().describe('only this budget and everything under it'),
  kind: z.enum(budgetKinds).optional(),
  status: z.enum(['active', 'paused', 'closed']).optional(),
});

export const TreeQuery = z.strictObject({ root: budgetPath.optional().describe('only this budget and what is under it') });

export const TokensQuery = z.strictObject({
  budget: budgetPath.optional().describe('only tokens whose envelope lies under this budget'),
  status: z.enum(['active', 'revoked']).optional(),
});
