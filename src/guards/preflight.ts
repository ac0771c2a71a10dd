import { assert, formatUsd, groupThousands, limits, modelAllowed, tagMeets, type BudgetView } from '../core/index.js';
import type { CheckStatus, Plan, PreflightBudget, PreflightCheck, PreflightItem, PreflightReport } from '../contract/index.js';
import type { PriceCatalog } from '../pricing/index.js';
import { burnHeadroomCheck } from './burn-headroom.js';
import { estimatePlanItem, type ItemEstimate } from './estimate.js';
import { guardLimits } from './limits.js';
import type { InputProblem } from './plan.js';

/**
 * Pre-flight: a plan priced against the budgets it would spend from, before anything runs. Each
 * item is estimated as the gateway would reserve it (its worst case), the totals are set against
 * what every budget on each item's path can still spend, and a list of checks says ✓ / ⚠ / ✗.
 * The report is the admin API's JSON (the contract's `PreflightReportJson`).
 */

/** Where an item's calls would spend: resolved by the caller from its budget path or token id. */
export interface PlanTarget {
  /** The budget the calls reserve on: the item's path, or its token's envelope. */
  path: string;
  /** That budget and its ancestors, leaf first, as they stand now. */
  chain: readonly BudgetView[];
  /** The token the item names, when it names one. */
  token?: { id: string; status: 'active' | 'revoked'; expiresMs: number | null };
  /** Paths of the model, tag and provider budgets each call also reserves on. */
  extras?: readonly string[];
  /** Those budgets and their ancestors that are not on the chain, each once, as they stand now. */
  across?: readonly BudgetView[];
  /** When the calls would be sent to another model now: that model, and why. */
  route?: { model: string; why: 'brownout' | 'fallback' };
}

/** Every budget an item's calls hold on: the chain, then the budgets across the tree. */
function heldBy(t: PlanTarget): readonly BudgetView[] {
  return t.across === undefined || t.across.length === 0 ? t.chain : [...t.chain, ...t.across];
}

export interface PreflightOptions {
  confirmOverMicros: number;
  queueCallsWarn: number;
  queueCallsMax: number;
  budgetSharePctWarn: number;
  /** The caller confirmed a total above `confirmOverMicros` (`--yes`). */
  confirmed: boolean;
}

/**
 * The default options.
 *
 * @example
 * preflightOptions({ confirmed: true }).confirmOverMicros // 10_000_000
 */
export function preflightOptions(o: Partial<PreflightOptions> = {}): PreflightOptions {
  return {
    confirmOverMicros: o.confirmOverMicros ?? guardLimits.confirmOverMicrosDefault,
    queueCallsWarn: o.queueCallsWarn ?? guardLimits.queueCallsWarnDefault,
    queueCallsMax: o.queueCallsMax ?? guardLimits.queueCallsMaxDefault,
    budgetSharePctWarn: o.budgetSharePctWarn ?? guardLimits.budgetSharePctWarnDefault,
    confirmed: o.confirmed ?? false,
  };
}

/** What the checks read: the plan, its items priced, and the budgets they pass through. */
interface Priced {
  plan: Plan;
  targets: readonly PlanTarget[];
  estimates: ItemEstimate[];
  items: PreflightItem[];
  budgets: PreflightBudget[];
  views: Map<string, BudgetView>;
  calls: number;
  concurrency: number;
  totalMicros: number;
  nowMs: number;
  o: PreflightOptions;
}

const statusRank: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

/**
 * Prices a plan and checks it. `targets` holds one entry per item, in order. A model without a
 * price or an output cap above the model's maximum is returned as a problem naming the field.
 *
 * @example
 * const report = preflight({ plan, targets, catalog, nowMs: store.now(), options: preflightOptions() });
 * if ('field' in report) refuse(report.message);
 * else if (!report.proceed) exitNonZero();
 */
export function preflight(input: { plan: Plan; targets: readonly PlanTarget[]; catalog: PriceCatalog; nowMs: number; options: PreflightOptions }): PreflightReport | InputProblem {
  const { plan, targets, catalog } = input;
  assert(targets.length === plan.items.length, 'preflight needs one target per plan item');
  const estimates = estimateAll(plan, targets, catalog);
  if ('field' in estimates) return estimates;
  const priced = price(plan, targets, estimates, input.nowMs, input.options);
  const checks = [queueCheck(priced), titleCheck(priced), statusCheck(priced), policyCheck(priced), availabilityCheck(priced), inflightCheck(priced), burnCheck(priced), confirmationCheck(priced)];
  const verdict = checks.reduce<CheckStatus>((worst, c) => (statusRank[c.status] > statusRank[worst] ? c.status : worst), 'pass');
  const confirmationRequired = priced.totalMicros > input.options.confirmOverMicros;
  return {
    title: plan.title ?? null,
    calls: priced.calls,
    concurrency: priced.concurrency,
    total_micros: priced.totalMicros,
    items: priced.items,
    budgets: priced.budgets,
    checks,
    verdict,
    confirm_over_micros: input.options.confirmOverMicros,
    confirmation_required: confirmationRequired,
    confirmed: input.options.confirmed,
    proceed: verdict !== 'fail' && (!confirmationRequired || input.options.confirmed),
  };
}

/**
 * Every item priced, or the first problem. Totals stay within what the ledger counts (one
 * billion USD), so every sum below is a safe integer.
 */
function estimateAll(plan: Plan, targets: readonly PlanTarget[], catalog: PriceCatalog): ItemEstimate[] | InputProblem {
  const estimates: ItemEstimate[] = [];
  let totalMicros = 0;
  for (const [i, item] of plan.items.entries()) {
    const target = targets[i];
    assert(target !== undefined && target.chain.length > 0, `plan item ${i} has no budget chain`);
    const estimate = estimatePlanItem(target.route === undefined ? item : { ...item, model: target.route.model }, i, catalog, target.chain);
    if ('field' in estimate) return estimate;
    totalMicros += estimate.callMicros * (item.count ?? 1);
    if (totalMicros > limits.amountMicrosMax) {
      const field = `items.${i}.count`;
      return { field, message: `${field}: the plan would cost more than ${formatUsd(limits.amountMicrosMax)} by this item, more than any budget can hold` };
    }
    estimates.push(estimate);
  }
  return estimates;
}

function tightestOf(chain: readonly BudgetView[]): PreflightItem['tightest'] {
  let tightest: PreflightItem['tightest'] = null;
  for (const b of chain) {
    if (b.remainingMicros !== null && (tightest === null || b.remainingMicros < tightest.remaining_micros)) tightest = { budget: b.path, remaining_micros: b.remainingMicros };
  }
  return tightest;
}

function price(plan: Plan, targets: readonly PlanTarget[], estimates: ItemEstimate[], nowMs: number, o: PreflightOptions): Priced {
  const items: PreflightItem[] = [];
  const views = new Map<string, BudgetView>();
  const load = new Map<string, { micros: number; calls: number }>();
  for (const [index, item] of plan.items.entries()) {
    const target = targets[index] as PlanTarget;
    const estimate = estimates[index] as ItemEstimate;
    const count = item.count ?? 1;
    const totalMicros = estimate.callMicros * count;
    assert(Number.isSafeInteger(totalMicros), `plan item ${index} costs more than a safe integer of micros`);
    items.push({
      index,
      title: item.title ?? null,
      budget: target.path,
      token: target.token?.id ?? null,
      model: estimate.model,
      count,
      input_tokens: estimate.inputTokens,
      max_output_tokens: estimate.maxOutputTokens,
      call_micros: estimate.callMicros,
      total_micros: totalMicros,
      tightest: tightestOf(target.chain),
      requested_model: target.route === undefined ? null : item.model,
      route: target.route?.why ?? null,
      across: [...(target.extras ?? [])],
    });
    for (const b of heldBy(target)) {
      views.set(b.path, b);
      const l = load.get(b.path) ?? { micros: 0, calls: 0 };
      l.micros += totalMicros;
      l.calls += count;
      load.set(b.path, l);
    }
  }
  const calls = items.reduce((n, i) => n + i.count, 0);
  const concurrency = plan.concurrency ?? 1;
  const budgets = [...views.values()]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((b) => budgetLoad(b, load.get(b.path) ?? { micros: 0, calls: 0 }, concurrency));
  const totalMicros = items.reduce((n, i) => n + i.total_micros, 0);
  return { plan, targets, estimates, items, budgets, views, calls, concurrency, totalMicros, nowMs, o };
}

function budgetLoad(b: BudgetView, l: { micros: number; calls: number }, concurrency: number): PreflightBudget {
  const remaining = b.remainingMicros;
  const share = remaining === null || remaining <= 0 ? null : Number((BigInt(l.micros) * 100n + BigInt(remaining) - 1n) / BigInt(remaining));
  return {
    budget: b.path,
    kind: b.kind,
    status: b.status,
    limit_micros: b.limitMicros,
    remaining_micros: remaining,
    planned_micros: l.micros,
    share_pct: share,
    calls: l.calls,
    inflight: b.inflight,
    inflight_max: b.policy.inflightMax ?? null,
    planned_concurrency: Math.min(concurrency, l.calls),
    period_end: b.periodEndMs === null ? null : new Date(b.periodEndMs).toISOString(),
  };
}

/** "a, b, c and 4 more" */
function listed(names: readonly string[]): string {
  const shown = names.slice(0, guardLimits.checkExamplesMax);
  const more = names.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function itemName(p: Priced, index: number): string {
  const title = p.plan.items[index]?.title;
  return title === undefined ? `item ${index}` : `item ${index} "${title}"`;
}

function queueCheck(p: Priced): PreflightCheck {
  const { calls, o } = p;
  const planned = `${groupThousands(calls)} call${calls === 1 ? '' : 's'} in ${p.items.length} item${p.items.length === 1 ? '' : 's'}`;
  if (calls > o.queueCallsMax) return { name: 'queue_size', status: 'fail', message: `${planned}: more than ${groupThousands(o.queueCallsMax)}; split the plan or raise the bound` };
  if (calls > o.queueCallsWarn) return { name: 'queue_size', status: 'warn', message: `${planned}: more than ${groupThousands(o.queueCallsWarn)}; is the queue what you meant to run?` };
  return { name: 'queue_size', status: 'pass', message: planned };
}

/** Words that mark test or leftover data in a title. */
const testLike = /\b(test|tests|testing|sample|samples|example|placeholder|dummy|lorem|ipsum|foo|bar|baz|fake|mock|scratch|tmp|temp|todo|asdf|qwerty|xxx)\b/i;

/**
 * True when a title looks like test or leftover data (a whole word such as test, sample,
 * placeholder, dummy, lorem).
 *
 * @example
 * looksLikeTestData('Test task 17') // true
 * looksLikeTestData('Latest contest results') // false
 */
export function looksLikeTestData(title: string): boolean {
  return testLike.test(title.replace(/[_-]+/g, ' '));
}

function titleCheck(p: Priced): PreflightCheck {
  const flagged = p.plan.items.flatMap((item, i) => (item.title !== undefined && looksLikeTestData(item.title) ? [i] : []));
  const planTitle = p.plan.title !== undefined && looksLikeTestData(p.plan.title);
  if (flagged.length === 0 && !planTitle) return { name: 'test_titles', status: 'pass', message: 'no title looks like test data' };
  const names = [...(planTitle ? [`the plan "${p.plan.title ?? ''}"`] : []), ...flagged.map((i) => itemName(p, i))];
  return { name: 'test_titles', status: 'warn', message: `${names.length} title${names.length === 1 ? ' looks' : 's look'} like test data: ${listed(names)}`, items: flagged };
}

function statusCheck(p: Priced): PreflightCheck {
  const problems: { text: string; items: number[]; budget?: string }[] = [];
  for (const b of p.budgets) {
    if (b.status === 'active') continue;
    const items = p.targets.flatMap((t, i) => (heldBy(t).some((c) => c.path === b.budget) ? [i] : []));
    problems.push({ text: `budget ${b.budget} is ${b.status}`, items, budget: b.budget });
  }
  for (const [i, t] of p.targets.entries()) {
    if (!t.token) continue;
    if (t.token.status === 'revoked') problems.push({ text: `token ${t.token.id} is revoked`, items: [i] });
    else if (t.token.expiresMs !== null && t.token.expiresMs <= p.nowMs) problems.push({ text: `token ${t.token.id} has expired`, items: [i] });
  }
  const first = problems[0];
  if (!first) return { name: 'budget_status', status: 'pass', message: 'every budget is active and every token valid' };
  const items = [...new Set(problems.flatMap((x) => x.items))].sort((a, b) => a - b);
  const check: PreflightCheck = { name: 'budget_status', status: 'fail', message: `${listed(problems.map((x) => x.text))}: their calls would be refused`, items };
  if (first.budget !== undefined) check.budget = first.budget;
  return check;
}

/** The first reason the chain's policy refuses every call of an item, or undefined. */
function policyRefusal(p: Priced, index: number): { text: string; budget: string } | undefined {
  const target = p.targets[index] as PlanTarget;
  const estimate = p.estimates[index] as ItemEstimate;
  // Root-most first, as the ledger names the budget that refuses; then the budgets across the tree.
  const rootFirst = [...target.chain].reverse().concat(target.across ?? []);
  const banning = rootFirst.find((b) => b.policy.models !== undefined && !modelAllowed(b.policy.models, estimate.model));
  if (banning) return { budget: banning.path, text: `${itemName(p, index)} uses ${estimate.model}, which budget ${banning.path} does not allow (allowed: ${(banning.policy.models ?? []).join(', ') || 'none'})` };
  const tags = p.plan.items[index]?.tags ?? [];
  for (const b of rootFirst) {
    const missing = b.policy.requiredTags?.find((r) => !tags.some((t) => tagMeets(t, r)));
    if (missing !== undefined) return { budget: b.path, text: `${itemName(p, index)} carries no ${missing} tag, which budget ${b.path} requires (tag_required)` };
  }
  const capped = rootFirst
    .filter((b) => b.policy.requestCapMicros !== undefined && estimate.callMicros > b.policy.requestCapMicros)
    .sort((a, b) => (a.policy.requestCapMicros ?? 0) - (b.policy.requestCapMicros ?? 0))[0];
  if (capped) return { budget: capped.path, text: `${itemName(p, index)} reserves ${formatUsd(estimate.callMicros)} a call, above the ${formatUsd(capped.policy.requestCapMicros ?? 0)} per-request cap of ${capped.path}` };
  return undefined;
}

function policyCheck(p: Priced): PreflightCheck {
  const refused = p.items.flatMap((item) => {
    const r = policyRefusal(p, item.index);
    return r ? [{ ...r, index: item.index }] : [];
  });
  const first = refused[0];
  if (!first) return { name: 'model_policy', status: 'pass', message: 'every model is allowed and every call within the per-request caps' };
  return { name: 'model_policy', status: 'fail', message: `${listed(refused.map((r) => r.text))}: every such call would be refused`, budget: first.budget, items: refused.map((r) => r.index) };
}

function availabilityCheck(p: Priced): PreflightCheck {
  const limited = p.budgets.filter((b) => b.remaining_micros !== null);
  if (limited.length === 0) return { name: 'budget_availability', status: 'warn', message: `no budget on the plan's paths has a limit: nothing would stop ${formatUsd(p.totalMicros)} or more` };
  const short = limited.filter((b) => b.planned_micros > (b.remaining_micros ?? 0)).sort((a, b) => (a.remaining_micros ?? 0) - (b.remaining_micros ?? 0) || a.planned_micros - b.planned_micros);
  const worst = short[0];
  if (worst) {
    const more = short.length > 1 ? ` (${short.length - 1} more budget${short.length === 2 ? '' : 's'} fall short too)` : '';
    const left = Math.max(0, worst.remaining_micros ?? 0);
    return { name: 'budget_availability', status: 'fail', budget: worst.budget, message: `the plan needs ${formatUsd(worst.planned_micros)} on ${worst.budget}, which has ${formatUsd(left)} left this period${more}` };
  }
  const pct = BigInt(p.o.budgetSharePctWarn);
  const heavy = limited
    .filter((b) => BigInt(b.planned_micros) * 100n > BigInt(b.remaining_micros ?? 0) * pct)
    .sort((a, b) => (b.share_pct ?? 0) - (a.share_pct ?? 0))[0];
  if (heavy) {
    return { name: 'budget_availability', status: 'warn', budget: heavy.budget, message: `the plan takes ${heavy.share_pct ?? 100}% of what ${heavy.budget} has left (${formatUsd(heavy.planned_micros)} of ${formatUsd(heavy.remaining_micros ?? 0)})` };
  }
  const keeps = (b: PreflightBudget) => (b.remaining_micros ?? 0) - b.planned_micros;
  const tightest = [...limited].sort((a, b) => keeps(a) - keeps(b))[0] as PreflightBudget;
  return { name: 'budget_availability', status: 'pass', budget: tightest.budget, message: `every budget can take it; the tightest, ${tightest.budget}, keeps ${formatUsd(keeps(tightest))}` };
}

function inflightCheck(p: Priced): PreflightCheck {
  const capped = p.budgets.filter((b) => b.inflight_max !== null);
  const over = capped
    .map((b) => ({ b, slots: Math.max(0, (b.inflight_max ?? 0) - b.inflight) }))
    .filter((x) => x.b.planned_concurrency > x.slots)
    .sort((a, b) => a.slots - b.slots);
  const worst = over[0];
  const atOnce = `${p.concurrency} call${p.concurrency === 1 ? '' : 's'} at once`;
  if (worst) {
    const { b, slots } = worst;
    return { name: 'inflight', status: 'fail', budget: b.budget, message: `${atOnce} through ${b.budget}, which allows ${b.inflight_max ?? 0} in flight (${b.inflight} open now): ${b.planned_concurrency - slots} would be refused with too_many_inflight; lower the concurrency to ${slots}` };
  }
  if (capped.length === 0) return { name: 'inflight', status: 'pass', message: `${atOnce}; no in-flight cap on these paths` };
  return { name: 'inflight', status: 'pass', message: `${atOnce} fits every in-flight cap` };
}

function burnCheck(p: Priced): PreflightCheck {
  const loads = p.budgets.map((load) => {
    const maxCallMicros = p.items.reduce((most, item, i) => (heldBy(p.targets[i] as PlanTarget).some((b) => b.path === load.budget) ? Math.max(most, item.call_micros) : most), 0);
    return { load, state: p.views.get(load.budget) as BudgetView, maxCallMicros };
  });
  return burnHeadroomCheck(loads, p.nowMs);
}

function confirmationCheck(p: Priced): PreflightCheck {
  const threshold = formatUsd(p.o.confirmOverMicros);
  const total = formatUsd(p.totalMicros);
  if (p.totalMicros <= p.o.confirmOverMicros) return { name: 'confirmation', status: 'pass', message: `estimated ${total}, within the ${threshold} confirmation threshold` };
  if (p.o.confirmed) return { name: 'confirmation', status: 'pass', message: `estimated ${total}, above ${threshold}: confirmed` };
  return { name: 'confirmation', status: 'warn', message: `estimated ${total}, above the ${threshold} confirmation threshold: confirm to proceed (--yes)` };
}
