import { failure, type Failure, type PlanItem, type PreflightReport, type PreflightRequest } from '../contract/index.js';
import type { BudgetView } from '../core/index.js';
import { preflight, preflightOptions, type PlanTarget, type PreflightOptions } from '../guards/index.js';
import type { PriceCatalog } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import { didYouMean } from '../suggest.js';

/**
 * Pre-flight over a store: each plan item's budget (or token's envelope) is looked up with its
 * chain as it stands now, then the plan is priced and checked (src/guards/preflight.ts). Reads
 * only; nothing is reserved. A plan that cannot be checked is a failure naming the field to fix
 * (`items.3.budget`): `bad_request`, `unknown_budget` or `unknown_token`.
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
  const targets: PlanTarget[] = [];
  for (const [i, item] of plan.items.entries()) {
    const target = await targetOf(store, item, i, chains);
    if ('ok' in target) return target;
    targets.push(target);
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
