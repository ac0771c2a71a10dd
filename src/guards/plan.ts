import { z } from 'zod';
import { limits, parsePath } from '../core/index.js';
import { pricingLimits } from '../pricing/index.js';
import { guardLimits } from './limits.js';

/**
 * A plan: the calls a batch, an orchestrator or an agent fleet is about to make, written before
 * it starts so that pre-flight can price it against the budgets. Its JSON is snake_case like the
 * admin API, and it is read strictly: an unknown field is an error, not something ignored.
 */

const printable = /^[\x20-\x7E\u00A0-\uFFFF]*$/;

function title() {
  return z
    .string()
    .min(1, { error: 'cannot be empty' })
    .refine((s) => Buffer.byteLength(s) <= guardLimits.planTitleBytesMax, { error: `is longer than ${guardLimits.planTitleBytesMax} bytes` })
    .refine((s) => printable.test(s), { error: 'contains control characters' });
}

function wholeNumber(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

const budgetPath = z.string({ error: 'must be a budget path like acme/research/bot' }).superRefine((value, ctx) => {
  const parsed = parsePath(value);
  if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

const tokenId = z.string().regex(/^tok_[A-Za-z0-9]{8,40}$/, { error: 'must be a token id like tok_3kq9… (never the bsr_ secret)' });

const modelName = z
  .string({ error: 'must be a model id like gpt-4o-mini' })
  .min(1, { error: 'cannot be empty' })
  .max(pricingLimits.modelNameCharsMax, { error: `is longer than ${pricingLimits.modelNameCharsMax} characters` });

/** One line of a plan: `count` calls of one model on one budget (or spend token). */
export const PlanItem = z
  .strictObject({
    title: title().optional().describe('what the calls are for; test-like titles (test, sample, placeholder…) are flagged'),
    budget: budgetPath.optional().describe('the budget the calls spend from (one of budget and token)'),
    token: tokenId.optional().describe('or the id of the spend token they use: its envelope is the budget'),
    model: modelName.describe('the model each call asks for, as the gateway would see it'),
    input_tokens: wholeNumber(0, limits.tokensPerRequestMax).optional().describe('input tokens per call (one of input_tokens and input)'),
    input: z.string().optional().describe('or the input text of one call, counted with the model\'s tokenizer as the gateway counts it'),
    max_output_tokens: wholeNumber(0, limits.tokensPerRequestMax).optional().describe('output cap per call; default: the chain\'s policy, else 4,096, never above the model\'s maximum'),
    count: wholeNumber(1, guardLimits.planCallsMax).optional().describe('how many such calls (default 1)'),
  })
  .superRefine((item, ctx) => {
    if ((item.budget === undefined) === (item.token === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['budget'], message: 'give exactly one of budget (a path) and token (a token id)' });
    }
    if ((item.input_tokens === undefined) === (item.input === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['input_tokens'], message: 'give exactly one of input_tokens (a count) and input (the text)' });
    }
  });

export type PlanItem = z.infer<typeof PlanItem>;

const planShape = {
  title: title().optional().describe('what the plan is'),
  concurrency: wholeNumber(1, guardLimits.planConcurrencyMax).optional().describe('calls the plan runs at once (default 1), checked against the in-flight caps'),
  items: z.array(PlanItem).min(1, { error: 'a plan lists at least one item' }).max(guardLimits.planItemsMax, { error: `a plan lists at most ${guardLimits.planItemsMax} items` }),
};

/** The plan-wide bounds: calls and input text added up over every item. */
function checkTotals(plan: { items: PlanItem[] }, ctx: z.RefinementCtx): void {
  const calls = plan.items.reduce((n, item) => n + (item.count ?? 1), 0);
  if (calls > guardLimits.planCallsMax) {
    ctx.addIssue({ code: 'custom', path: ['items'], message: `the items add up to ${calls} calls; a plan holds at most ${guardLimits.planCallsMax}` });
  }
  const inputBytes = plan.items.reduce((n, item) => n + (item.input === undefined ? 0 : Buffer.byteLength(item.input)), 0);
  if (inputBytes > guardLimits.planInputBytesMax) {
    ctx.addIssue({ code: 'custom', path: ['items'], message: `the items' input texts add up to ${inputBytes} bytes; a plan carries at most ${guardLimits.planInputBytesMax} (give input_tokens instead)` });
  }
}

/** A plan file. */
export const Plan = z.strictObject(planShape).superRefine(checkTotals);
export type Plan = z.infer<typeof Plan>;

/** How strict a pre-flight is; each has a default in `guardLimits`. */
export const PreflightSettings = {
  confirm_over_micros: z.int().min(0).max(limits.amountMicrosMax).optional().describe('a total above this needs confirmation (default 10 USD)'),
  queue_calls_warn: wholeNumber(1, guardLimits.planCallsMax).optional().describe(`more calls than this is a warning (default ${guardLimits.queueCallsWarnDefault})`),
  queue_calls_max: wholeNumber(1, guardLimits.planCallsMax).optional().describe(`more calls than this is a failure (default ${guardLimits.queueCallsMaxDefault})`),
  confirmed: z.boolean().optional().describe('the caller confirms a total above confirm_over_micros (the CLI\'s --yes)'),
};

/** What `POST /api/preflight` takes: a plan and, optionally, how strict to be. */
export const PreflightRequest = z.strictObject({ ...planShape, ...PreflightSettings }).superRefine(checkTotals);
export type PreflightRequest = z.infer<typeof PreflightRequest>;

/** What is wrong with an input, and where. */
export interface InputProblem {
  /** Dotted path to the field: `items.3.count`. */
  field: string;
  message: string;
}

/**
 * The first problem zod found in a plan, naming its field the way the admin API does
 * (`items.2.count`; an unknown field by its own path).
 *
 * @example
 * planProblem(Plan.safeParse({ items: [{ model: 'gpt-4o', budget: 'a', input_tokens: 1, count: -1 }] }).error!)
 * // { field: 'items.0.count', message: 'items.0.count: must be a whole number from 1 to 1000000' }
 */
export function planProblem(error: z.ZodError): InputProblem {
  const issue = error.issues[0];
  if (!issue) return { field: '', message: 'the plan is invalid' };
  const keys = issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [];
  const field = [...issue.path.map(String), ...keys].join('.');
  if (issue.code === 'unrecognized_keys') return { field, message: `unknown field ${field}` };
  return { field, message: field === '' ? `the plan ${issue.message}` : `${field}: ${issue.message}` };
}

/**
 * Reads a plan: an object with `items`, or just the list of items.
 *
 * @example
 * const plan = parsePlan(JSON.parse(text));
 * if ('field' in plan) fail(plan.message);
 */
export function parsePlan(value: unknown): Plan | InputProblem {
  const parsed = Plan.safeParse(Array.isArray(value) ? { items: value } : value);
  return parsed.success ? parsed.data : planProblem(parsed.error);
}
