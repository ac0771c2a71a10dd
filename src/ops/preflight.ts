import { failure, type Failure, type PlanItem, type PreflightReport, type PreflightRequest } from '../contract/index.js';
import { brownoutModel, extrasFor, fallbacksOf, parentPath, type BudgetLookup, type BudgetView } from '../core/index.js';
import { estimatePlanItem, preflight, preflightOptions, type PlanTarget, type PreflightOptions } from '../guards/index.js';
import { resolveModel, type PriceCatalog } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import { didYouMean } from '../suggest.js';
import { budgetLookup } from './crosscut.js';

/**
 * Pre-flight over a store: each plan item's budget (or token's envelope) is looked up with its
 * chain as it stands now, then the plan is priced and checked (src/guards/preflight.ts). Reads
 * only; nothing is reserved. A plan that cannot be checked is a failure naming the field to fix
 * (`items.3.budget`): `bad_request`, `unknown_budget` or `unknown_token`. Each item also meets
 * the model, tag and provider budgets its calls would reserve on, found by the reservation's own
 * rule (`extrasFor`), and the model its calls would be sent to now (brownout tiers, fallbacks).
 */

type Reader = Pick<Store, 'chain' | 'getToken' | 'listBudgets' | 'now'>;

async function missingBudget(store: Reader, path: string, field: string): Promise<Failure> {
  const paths = (await store.listBudgets()).map((b) => b.path);
  return failure('unknown_budget', `${field}: no budget at ${path}${didYouMean(path, paths)}`, { field });
}

/** Where an item's calls would spend, with the chain read once per budget. */
async function targetOf(store: Reader, item: PlanItem, index: number, chains: Map<string, BudgetView[]>): Promise<PlanTarget | Failure> {
  const chainOf = async (path: string) => {
    let chain = chains.get(path);
    if (!chain) {
      chain = await store.chain(path);
      chains.set(path, chain);
    }
    return chain;
  };
  if (item.token !== undefined) {
    const token = await store.getToken(item.token);
    const field = `items.${index}.token`;
    if (!token) return failure('unknown_token', `${field}: no token ${item.token}`, { field });
    return { path: token.budget, chain: await chainOf(token.budget), token: { id: token.id, status: token.status, expiresMs: token.expiresMs } };
  }
  const path = item.budget ?? '';
  const chain = await chainOf(path);
  if (chain.length === 0) return missingBudget(store, path, `items.${index}.budget`);
  return { path, chain };
}

/**
 * Checks a plan against the budgets it would spend from, as they stand now.
 *
 * @example
 * const report = await runPreflight(store, catalog, { items: [{ budget: 'acme/bot', model: 'gpt-4o', input_tokens: 2_000, count: 50 }] });
 * if ('ok' in report) refuse(report); else if (!report.proceed) warn(report.checks);
 */
export async function runPreflight(store: Reader, catalog: PriceCatalog, request: PreflightRequest): Promise<PreflightReport | Failure> {
  const { confirm_over_micros: _c, queue_calls_warn: _w, queue_calls_max: _m, confirmed: _y, ...plan } = request;
  const options = optionsOf(request);
  if ('ok' in options) return options;
  const chains = new Map<string, BudgetView[]>();
  const lookup = budgetLookup(await store.listBudgets());
  const targets: PlanTarget[] = [];
  for (const [i, item] of plan.items.entries()) {
    const target = await targetOf(store, item, i, chains);
    if ('ok' in target) return target;
    targets.push(routed(target, item, i, { lookup, catalog, nowMs: store.now() }));
  }
  const report = preflight({ plan, targets, catalog, nowMs: store.now(), options });
  return 'field' in report ? failure('bad_request', report.message, { field: report.field }) : report;
}

/** The thresholds a request sets; a queue bound set alone moves the other with it. */
function optionsOf(r: PreflightRequest): PreflightOptions | Failure {
  if (r.queue_calls_warn !== undefined && r.queue_calls_max !== undefined && r.queue_calls_warn > r.queue_calls_max) {
    return failure('bad_request', `queue_calls_warn: ${r.queue_calls_warn} is above queue_calls_max (${r.queue_calls_max})`, { field: 'queue_calls_warn' });
  }
  const defaults = preflightOptions();
  const queueCallsMax = r.queue_calls_max ?? Math.max(defaults.queueCallsMax, r.queue_calls_warn ?? 0);
  const queueCallsWarn = r.queue_calls_warn ?? Math.min(defaults.queueCallsWarn, queueCallsMax);
  return preflightOptions({ confirmOverMicros: r.confirm_over_micros, queueCallsWarn, queueCallsMax, confirmed: r.confirmed });
}

/** What routing an item reads: the budgets as they stand, the prices, the time. */
interface RouteInputs {
  lookup: BudgetLookup<BudgetView>;
  catalog: PriceCatalog;
  nowMs: number;
}

/** The model an item's calls would be sent to now, priced, with the budgets across the tree it reaches. */
interface Candidate {
  model: string;
  callMicros: number;
  extras: readonly BudgetView[];
  across: readonly BudgetView[];
}

/**
 * A target with the budgets across the tree its calls reach and the model they would be sent
 * to at the current state: past a brownout tier of the chain, its cheaper model; when the
 * model's budgets cannot take one call, the first fallback that can. An unpriced model is left
 * for pre-flight to report.
 */
function routed(target: PlanTarget, item: PlanItem, index: number, r: RouteInputs): PlanTarget {
  const asked = candidate(target, item, index, item.model, r);
  if (!asked) return target;
  const routes = Object.fromEntries(target.chain.flatMap((b) => [...(b.policy.brownout ?? []).map((t) => t.to), ...(b.policy.fallbacks ?? []).flatMap((f) => f.to)]).filter((m) => resolveModel(m, r.catalog).ok).map((m) => [m, 1]));
  const browned = brownoutModel(target.chain, asked.model, routes, r.nowMs);
  const first = browned === undefined ? asked : candidate(target, item, index, browned, r);
  if (!first) return withCandidate(target, asked);
  if (takesOneCall(target, first)) return withCandidate(target, first, browned === undefined ? undefined : 'brownout');
  for (const model of fallbacksOf(target.chain, first.model)) {
    const next = routes[model] === undefined || model === asked.model ? undefined : candidate(target, item, index, model, r);
    if (next && takesOneCall(target, next)) return withCandidate(target, next, 'fallback');
  }
  return withCandidate(target, first, browned === undefined ? undefined : 'brownout');
}

function withCandidate(target: PlanTarget, c: Candidate, why?: 'brownout' | 'fallback'): PlanTarget {
  return { ...target, extras: c.extras.map((b) => b.path), across: c.across, ...(why === undefined ? {} : { route: { model: c.model, why } }) };
}

/** An item's call with another model: its price and the extra budgets `extrasFor` finds for it. */
function candidate(target: PlanTarget, item: PlanItem, index: number, model: string, r: RouteInputs): Candidate | undefined {
  const estimate = estimatePlanItem({ ...item, model }, index, r.catalog, target.chain);
  if ('field' in estimate) return undefined;
  const extras = extrasFor(r.lookup, target.chain, { model: estimate.model, tags: item.tags, provider: estimate.entry.provider });
  return { model, callMicros: estimate.callMicros, extras, across: besideChain(r.lookup, target.chain, extras) };
}

/** The extra budgets and their ancestors that are not on the chain, each once (as a reservation holds them). */
function besideChain(lookup: BudgetLookup<BudgetView>, chain: readonly BudgetView[], extras: readonly BudgetView[]): BudgetView[] {
  const out: BudgetView[] = [];
  const held = (path: string) => chain.some((b) => b.path === path) || out.some((b) => b.path === path);
  for (const x of extras) {
    for (let path: string | null = x.path; path !== null && !held(path); path = parentPath(path)) {
      const b = lookup.budgetByPath(path);
      if (b) out.push(b);
    }
  }
  return out;
}

/** Whether every budget the call holds on could take one call of it now (the refusals a fallback may avoid). */
function takesOneCall(target: PlanTarget, c: Candidate): boolean {
  return [...target.chain, ...c.across].every((b) => b.status === 'active' && (b.remainingMicros === null || b.remainingMicros >= c.callMicros) && (b.policy.requestCapMicros === undefined || c.callMicros <= b.policy.requestCapMicros));
}
