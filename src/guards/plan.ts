import type { z } from 'zod';
import { PlanJson, type Plan } from '../contract/index.js';

/**
 * Reading a plan: the calls a batch, an orchestrator or an agent fleet is about to make, written
 * before it starts so that pre-flight can price it against the budgets. Its JSON (the
 * contract's `PlanJson`) is snake_case like the admin API and read strictly: an unknown field is
 * an error, not something ignored.
 */

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
 * planProblem(PlanJson.safeParse({ items: [{ model: 'gpt-4o', budget: 'a', input_tokens: 1, count: -1 }] }).error!)
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
  const parsed = PlanJson.safeParse(Array.isArray(value) ? { items: value } : value);
  return parsed.success ? parsed.data : planProblem(parsed.error);
}
