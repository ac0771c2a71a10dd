import { percentOf } from './alerts.js';
import { refuse, type Refusal, type TriedModel } from './codes.js';
import type { Reserve } from './commands.js';
import { extrasFor, scopeOf, type Scope } from './crosscut.js';
import { limits } from './limits.js';
import { globMatches } from './route-policy.js';
import type { Tx } from './tx.js';
import type { BudgetRecord } from './types.js';
import { periodEnded } from './view.js';

/**
 * Which model a call reserves for, decided in its reservation's transaction: a brownout tier of
 * a budget on its chain that is past its share sends it to a cheaper model; when the budgets
 * cannot take it, the chain's fallbacks are tried in order. Only models the caller priced
 * (`Reserve.modelAmounts`) are used. Shadow mode routes nothing.
 */

/** A reservation's model, amount and budgets, and the refusal it gets (if any). */
export interface CallPlan {
  scope: Scope;
  model: string | undefined;
  amountMicros: number;
  refusal: Refusal | undefined;
  /** Set when the call goes to another model than it asked for: the model asked for, and why. */
  from?: { model: string; why: 'brownout' | 'fallback' };
}

/** Admission of a call (a model and an amount) on a set of budgets: the first refusal, or undefined. */
export type Admit = (budgets: readonly BudgetRecord[], ask: Reserve) => Refusal | undefined;

/**
 * Plans a reservation on `tree` (its chain, leaf first): the extra budgets it reaches, brownout,
 * admission, and fallbacks when the budgets cannot take it.
 */
export function planCall(tx: Tx, tree: BudgetRecord[], cmd: Reserve, admit: Admit): CallPlan {
  const requested = cmd.labels?.model;
  let plan: CallPlan = { scope: scopeFor(tx, tree, cmd, requested), model: requested, amountMicros: cmd.amountMicros, refusal: undefined };
  const routes = requested !== undefined && cmd.enforce !== false && cmd.modelAmounts !== undefined;
  if (routes) plan = brownout(tx, tree, cmd, plan);
  const ask = plan.model === requested ? cmd : askFor(cmd, plan.model, plan.amountMicros);
  plan.refusal = admit(plan.scope.budgets, ask);
  if (!routes || plan.refusal === undefined || !fallsBack(tx, plan.refusal)) return plan;
  return fallback(tx, tree, cmd, plan, admit);
}

/** The budgets a call for `model` reaches: its chain and the extra budgets the model, tags and provider match. */
function scopeFor(tx: Tx, tree: BudgetRecord[], cmd: Reserve, model: string | undefined): Scope {
  return scopeOf(tx, tree, extrasFor(tx, tree, { model, tags: cmd.tags, provider: cmd.provider }));
}

function askFor(cmd: Reserve, model: string | undefined, amountMicros: number): Reserve {
  return { ...cmd, amountMicros, labels: { ...cmd.labels, model } };
}

/** Sends the call to the model the brownout tiers in force route it to, if any. */
function brownout(tx: Tx, tree: BudgetRecord[], cmd: Reserve, plan: CallPlan): CallPlan {
  const requested = plan.model ?? '';
  const next = brownoutModel(tree, requested, cmd.modelAmounts ?? {}, tx.nowMs);
  if (next === undefined) return plan;
  return { scope: scopeFor(tx, tree, cmd, next), model: next, amountMicros: cmd.modelAmounts?.[next] ?? cmd.amountMicros, refusal: undefined, from: { model: requested, why: 'brownout' } };
}

/** What brownout reads of a budget on the chain: its tiers and how much of it is committed. */
export type RouteBudget = Pick<BudgetRecord, 'policy' | 'limitMicros' | 'periodEndMs' | 'spentMicros' | 'reservedMicros' | 'grantedMicros'>;

/**
 * The model the brownout tiers in force send `model` to, following them hop by hop (at most
 * `limits.routeHopsMax`, never back to a model already passed), or undefined when none applies.
 * Only models in `amounts` (those priced for the call) are targets.
 *
 * @example
 * brownoutModel(chain, 'gpt-4o', { 'gpt-4o-mini': 1_200 }, nowMs) // 'gpt-4o-mini' once a 90 % tier is reached
 */
export function brownoutModel(tree: readonly RouteBudget[], model: string, amounts: Readonly<Record<string, number>>, nowMs: number): string | undefined {
  const seen = [model];
  let to: string | undefined;
  for (let hop = 0; hop < limits.routeHopsMax; hop += 1) {
    const next = brownoutTarget(tree, to ?? model, amounts, nowMs);
    if (next === undefined || seen.includes(next)) break;
    seen.push(next);
    to = next;
  }
  return to;
}

/**
 * The model the deepest brownout tier in force sends `model` to: of every budget on the chain,
 * the tier with the highest share its budget has reached, for a priced model other than this one.
 */
export function brownoutTarget(tree: readonly RouteBudget[], model: string, amounts: Readonly<Record<string, number>>, nowMs: number): string | undefined {
  let best: { atPct: number; to: string } | undefined;
  for (const b of tree) {
    const tiers = b.policy.brownout;
    if (tiers === undefined || b.limitMicros === null) continue;
    const ended = periodEnded(b, nowMs);
    const pct = percentOf((ended ? 0 : b.spentMicros) + b.reservedMicros, b.limitMicros + (ended ? 0 : b.grantedMicros));
    for (const t of tiers) {
      if (t.atPct > pct || t.to === model || amounts[t.to] === undefined || !globMatches(t.from, model)) continue;
      if (best === undefined || t.atPct > best.atPct) best = t;
    }
  }
  return best?.to;
}

/** Whether a refusal is one a cheaper model may avoid: a budget short of room, a per-request cap, a model budget switched off. */
function fallsBack(tx: Tx, refusal: Refusal): boolean {
  if (refusal.code === 'budget_exceeded' || refusal.code === 'request_cost_cap') return true;
  if (refusal.code !== 'budget_closed' && refusal.code !== 'budget_paused') return false;
  return refusal.budget !== undefined && tx.budgetByPath(refusal.budget)?.kind === 'model';
}

/**
 * The nearest fallback rule on the chain (leaf first) for `model`: its models, in order.
 *
 * @example
 * fallbacksOf(chain, 'gpt-4o') // ['gpt-4o-mini', 'gpt-4.1-nano']
 */
export function fallbacksOf(tree: readonly Pick<BudgetRecord, 'policy'>[], model: string): readonly string[] {
  for (const b of tree) {
    const rule = b.policy.fallbacks?.find((r) => globMatches(r.from, model));
    if (rule) return rule.to;
  }
  return [];
}

/** Tries the chain's fallbacks for the refused model in order; refuses, listing them, when none fits. */
function fallback(tx: Tx, tree: BudgetRecord[], cmd: Reserve, refused: CallPlan, admit: Admit): CallPlan {
  const first = refused.refusal as Refusal;
  const from = refused.from?.model ?? refused.model ?? '';
  const tried: TriedModel[] = [{ model: refused.model ?? '', code: first.code, budget: first.budget }];
  for (const model of fallbacksOf(tree, refused.model ?? '')) {
    if (tried.some((t) => t.model === model) || model === from) continue;
    const amountMicros = cmd.modelAmounts?.[model];
    if (amountMicros === undefined) {
      tried.push({ model, code: 'model_unpriced' });
      continue;
    }
    const scope = scopeFor(tx, tree, cmd, model);
    const refusal = admit(scope.budgets, askFor(cmd, model, amountMicros));
    if (refusal === undefined) return { scope, model, amountMicros, refusal, from: { model: from, why: 'fallback' } };
    tried.push({ model, code: refusal.code, budget: refusal.budget });
  }
  if (tried.length === 1) return refused;
  const list = tried.slice(1).map((t) => `${t.model} (${t.code === 'model_unpriced' ? 'not priced for this call' : `${t.code}${t.budget ? ` on ${t.budget}` : ''}`})`);
  return { ...refused, refusal: refuse(first.code, `${first.message}; fallbacks tried: ${list.join(', ')}`, { budget: first.budget, remainingMicros: first.remainingMicros, retryAfterMs: first.retryAfterMs, tried }) };
}
