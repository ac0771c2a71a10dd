import { z } from 'zod';
import { budgetKinds, limits, periods } from '../core/index.js';
import { contractLimits } from './limits.js';
import { budgetPath, scanFields, tag, text, tokenId } from './schemas.js';

/**
 * The wire shapes of the guards that look ahead: a pre-flight plan (what `POST /api/preflight`
 * and `bursar preflight --plan` read, strictly: an unknown field is an error), and the
 * pre-flight, forecast and reservation-metrics reports (snake_case, integer micros, ISO times).
 */

function wholeNumber(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

const title = text(contractLimits.planTitleBytesMax, 1);

const modelName = z
  .string({ error: 'must be a model id like gpt-4o-mini' })
  .min(1, { error: 'cannot be empty' })
  .max(256, { error: 'is longer than 256 characters' });

/** One line of a plan: `count` calls of one model on one budget (or spend token). */
export const PlanItemJson = z
  .strictObject({
    title: title.optional().describe('what the calls are for; test-like titles (test, sample, placeholder…) are flagged'),
    budget: budgetPath.optional().describe('the budget the calls spend from (one of budget and token)'),
    token: tokenId.optional().describe('or the id of the spend token they use (never its bsr_ secret): its envelope is the budget'),
    model: modelName.describe('the model each call asks for, as the gateway would see it'),
    input_tokens: wholeNumber(0, limits.tokensPerRequestMax).optional().describe('input tokens per call (one of input_tokens and input)'),
    input: z.string().optional().describe('or the input text of one call, counted with the model\'s tokenizer as the gateway counts it'),
    max_output_tokens: wholeNumber(0, limits.tokensPerRequestMax).optional().describe('output cap per call; default: the chain\'s policy, else 4,096, never above the model\'s maximum'),
    count: wholeNumber(1, contractLimits.planCallsMax).optional().describe('how many such calls (default 1)'),
    tags: z.array(tag).max(limits.tagsPerCallMax).optional().describe('the tags each call carries (x-bursar-tags): it also reserves on tags/<tag> for each tag that has a budget, and meets a policy\'s required tags'),
  })
  .superRefine((item, ctx) => {
    if ((item.budget === undefined) === (item.token === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['budget'], message: 'give exactly one of budget (a path) and token (a token id)' });
    }
    if ((item.input_tokens === undefined) === (item.input === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['input_tokens'], message: 'give exactly one of input_tokens (a count) and input (the text)' });
    }
  });
export type PlanItem = z.output<typeof PlanItemJson>;

const planShape = {
  title: title.optional().describe('what the plan is'),
  concurrency: wholeNumber(1, contractLimits.planConcurrencyMax).optional().describe('calls the plan runs at once (default 1), checked against the in-flight caps'),
  items: z.array(PlanItemJson).min(1, { error: 'a plan lists at least one item' }).max(contractLimits.planItemsMax, { error: `a plan lists at most ${contractLimits.planItemsMax} items` }),
};

/** The plan-wide bounds: calls and input text added up over every item. */
function checkTotals(plan: { items: PlanItem[] }, ctx: z.RefinementCtx): void {
  const calls = plan.items.reduce((n, item) => n + (item.count ?? 1), 0);
  if (calls > contractLimits.planCallsMax) {
    ctx.addIssue({ code: 'custom', path: ['items'], message: `the items add up to ${calls} calls; a plan holds at most ${contractLimits.planCallsMax}` });
  }
  const inputBytes = plan.items.reduce((n, item) => n + (item.input === undefined ? 0 : Buffer.byteLength(item.input)), 0);
  if (inputBytes > contractLimits.planInputBytesMax) {
    ctx.addIssue({ code: 'custom', path: ['items'], message: `the items' input texts add up to ${inputBytes} bytes; a plan carries at most ${contractLimits.planInputBytesMax} (give input_tokens instead)` });
  }
}

/** A plan file (`bursar preflight --plan`). */
export const PlanJson = z.strictObject(planShape).superRefine(checkTotals);
export type Plan = z.output<typeof PlanJson>;

/** What `POST /api/preflight` takes: a plan and, optionally, how strict to be. */
export const PreflightBody = z
  .strictObject({
    ...planShape,
    confirm_over_micros: z.int().min(0).max(limits.amountMicrosMax).optional().describe(`a total above this needs confirmation (default ${contractLimits.preflightConfirmOverMicrosDefault} micros)`),
    queue_calls_warn: wholeNumber(1, contractLimits.planCallsMax).optional().describe(`more calls than this is a warning (default ${contractLimits.preflightQueueCallsWarnDefault})`),
    queue_calls_max: wholeNumber(1, contractLimits.planCallsMax).optional().describe(`more calls than this is a failure (default ${contractLimits.preflightQueueCallsMaxDefault})`),
    confirmed: z.boolean().optional().describe('the caller confirms a total above confirm_over_micros (the CLI\'s --yes)'),
  })
  .superRefine(checkTotals);
export type PreflightRequest = z.output<typeof PreflightBody>;

// ---- Reports -------------------------------------------------------------------------------

const checkStatuses = ['pass', 'warn', 'fail'] as const;
const budgetStatuses = ['active', 'paused', 'closed'] as const;

/** The checks of a pre-flight, in the order it lists them. */
export const checkNames = ['queue_size', 'test_titles', 'budget_status', 'model_policy', 'budget_availability', 'inflight', 'burn_limits', 'confirmation'] as const;
export type CheckName = (typeof checkNames)[number];
export type CheckStatus = (typeof checkStatuses)[number];

const PreflightCheckJson = z.object({
  name: z.enum(checkNames),
  status: z.enum(checkStatuses).describe('pass ✓, warn ⚠, fail ✗'),
  message: z.string(),
  budget: z.string().optional().describe('the budget the check is about, when one'),
  items: z.array(z.int()).optional().describe('indexes of the plan items it is about'),
});
export type PreflightCheck = z.output<typeof PreflightCheckJson>;

const PreflightItemJson = z.object({
  index: z.int(),
  title: z.string().nullable(),
  budget: z.string().describe('the budget the calls reserve on (a token\'s envelope for a token)'),
  token: z.string().nullable(),
  model: z.string().describe('the catalog id the model resolved to'),
  count: z.int(),
  input_tokens: z.int(),
  max_output_tokens: z.int(),
  call_micros: z.int().describe('what the gateway would reserve for one call: its worst case'),
  total_micros: z.int(),
  tightest: z.object({ budget: z.string(), remaining_micros: z.int() }).nullable().describe('the level of the item\'s chain with the least left now'),
  requested_model: z.string().nullable().describe('the model the item asks for when its calls would be sent to another one now (model is that one); else null'),
  route: z.enum(['brownout', 'fallback']).nullable().describe('why: a brownout tier of the chain is reached, or the requested model\'s budgets cannot take a call and a fallback can'),
  across: z.array(z.string()).describe('the model, tag and provider budgets each call would also reserve on (the gateway\'s rule, for the model, tags and provider of the call)'),
});
export type PreflightItem = z.output<typeof PreflightItemJson>;

const PreflightBudgetJson = z.object({
  budget: z.string(),
  kind: z.enum(budgetKinds),
  status: z.enum(budgetStatuses),
  limit_micros: z.int().nullable(),
  remaining_micros: z.int().nullable().describe('what the budget can still spend this period (limit + granted − spent − reserved)'),
  planned_micros: z.int().describe('the plan\'s total through this budget'),
  share_pct: z.int().nullable().describe('planned / remaining, whole percent rounded up'),
  calls: z.int(),
  inflight: z.int(),
  inflight_max: z.int().nullable(),
  planned_concurrency: z.int().describe('calls the plan would have open here at once'),
  period_end: z.string().nullable(),
});
export type PreflightBudget = z.output<typeof PreflightBudgetJson>;

/** `POST /api/preflight`'s answer. */
export const PreflightReportJson = z
  .object({
    title: z.string().nullable(),
    calls: z.int(),
    concurrency: z.int(),
    total_micros: z.int().describe('the plan\'s worst case: every call at its reservation'),
    items: z.array(PreflightItemJson),
    budgets: z.array(PreflightBudgetJson).describe('every budget on the items\' paths, by path'),
    checks: z.array(PreflightCheckJson),
    verdict: z.enum(checkStatuses).describe('the worst check'),
    confirm_over_micros: z.int(),
    confirmation_required: z.boolean().describe('the total is above confirm_over_micros'),
    confirmed: z.boolean(),
    proceed: z.boolean().describe('no check failed, and a total above the threshold was confirmed'),
  })
  .meta({ id: 'PreflightReport' });
export type PreflightReport = z.output<typeof PreflightReportJson>;

/** The windows a forecast measures the burn rate over, shortest first. */
export const burnWindows = [
  { name: '5m', ms: 5 * 60_000 },
  { name: '1h', ms: 3_600_000 },
  { name: '24h', ms: 24 * 3_600_000 },
] as const;
export type BurnWindowName = (typeof burnWindows)[number]['name'];

/**
 * Where a budget stands at one window's rate: it runs out at `runs_out_at` within its period;
 * it outlasts its period (`not_this_period`) or, without a period, the forecast's horizon of a
 * year (`not_within_horizon`); nothing was spent in the window (`no_burn`); nothing is left
 * (`exhausted`); or it has no limit.
 */
export const outlooks = ['runs_out', 'not_this_period', 'not_within_horizon', 'no_burn', 'exhausted', 'no_limit'] as const;
export type Outlook = (typeof outlooks)[number];

const ForecastWindowJson = z.object({
  window: z.enum(['5m', '1h', '24h']),
  spent_micros: z.int().describe('net spend in the window on this budget and everything under it'),
  rate_micros_per_hour: z.int(),
  complete: z.boolean().describe('false: the ledger read stopped inside the window, and the rate is over the part read'),
  outlook: z.enum(outlooks),
  runs_out_at: z.string().nullable().describe('when it runs out at this rate (outlook runs_out)'),
});
export type ForecastWindow = z.output<typeof ForecastWindowJson>;

const ForecastBudgetJson = z.object({
  budget: z.string(),
  kind: z.enum(budgetKinds),
  status: z.enum(budgetStatuses),
  period: z.enum(periods),
  period_end: z.string().nullable(),
  limit_micros: z.int().nullable(),
  spent_micros: z.int(),
  reserved_micros: z.int(),
  remaining_micros: z.int().nullable(),
  windows: z.array(ForecastWindowJson),
});
export type ForecastBudget = z.output<typeof ForecastBudgetJson>;

/** `GET /api/forecast`'s answer. */
export const ForecastReportJson = z
  .object({
    now: z.string(),
    windows: z.array(z.object({ window: z.string(), ms: z.int() })),
    budgets: z.array(ForecastBudgetJson).describe('soonest to run out first'),
    budgets_omitted: z.int().describe(`budgets beyond the first ${contractLimits.forecastBudgetsMax}`),
    ...scanFields,
    complete_since: z.string().nullable().describe('spend is counted from this time on (null: over every window)'),
  })
  .meta({ id: 'Forecast' });
export type ForecastReport = z.output<typeof ForecastReportJson>;

const reservationStatsShape = {
  reservations: z.int().describe('reservations made in the range'),
  reserved_micros: z.int(),
  settled: z.int().describe('reservations whose actual cost arrived (on time or after their TTL)'),
  voided: z.int(),
  expired: z.int().describe('released at their TTL'),
  charged: z.int().describe('charged at their TTL: no settlement came in time'),
  settled_reserved_micros: z.int(),
  settled_actual_micros: z.int(),
  reserve_to_settle: z.number().nullable().describe('reservations per settlement, to 3 decimals; well above 1 means retries or abandoned calls'),
  estimate_accuracy: z.number().nullable().describe('actual cost over what the settled reservations held, to 3 decimals'),
};

const ReservationStatsJson = z.object(reservationStatsShape);
export type ReservationStats = z.output<typeof ReservationStatsJson>;
const ReservationRowJson = z.object({ key: z.string().nullable(), model: z.string().nullable(), ...reservationStatsShape });
export type ReservationRow = z.output<typeof ReservationRowJson>;

/** The `reservations` part of `GET /api/usage?metrics=reservations`. */
export const ReservationReportJson = z.object({
  rows: z.array(ReservationRowJson).describe('per group and model, most reservations first'),
  other: ReservationStatsJson.nullable().describe(`rows beyond the first ${contractLimits.reservationRowsMax}, summed`),
  totals: ReservationStatsJson,
  ...scanFields,
  complete_since: z.string().nullable(),
});
export type ReservationReport = z.output<typeof ReservationReportJson>;

/** `GET /api/forecast`'s query. */
export const ForecastQuery = z.strictObject({ budget: budgetPath.optional().describe('only this budget and everything under it') });

/** What `GET /api/usage` may add besides spend. */
export const usageMetrics = ['reservations'] as const;
