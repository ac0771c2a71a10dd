import { globMatches, isCrossKind, modelBudgetPath, modelGlobOf, scopedBudgetPath, tagMeets, type BudgetLookup, type BudgetOk, type BudgetView, type Period, type Policy } from '../core/index.js';
import { failure, type Failure } from '../contract/errors.js';
import { resolveModel, type PriceCatalog } from '../pricing/catalog.js';
import type { Store } from '../store/index.js';
import { didYouMean } from '../suggest.js';
import { unknownBudget } from './budgets.js';

/**
 * Budgets that cut across the tree, as every door sets them: a model sub-limit under a budget,
 * a tag's budget, a provider's budget. Each is an ordinary budget the ledger holds beside a
 * call's chain; setting a limit creates it the first time and changes it after. And the check
 * every door runs on a policy's brownout tiers and fallbacks: each model they send calls to must
 * have a price.
 */

/** A limit for the models a glob matches under a budget, for a tag, or for a provider. */
export type ScopedLimit = ({ kind: 'model'; under: string; model: string } | { kind: 'tag'; tag: string } | { kind: 'provider'; provider: string }) & {
  /** Null: no limit (the budget only counts). */
  limitMicros: number | null;
  /** Default on creation: month with a limit, else none; unchanged on an update unless given. */
  period?: Period;
  timezone?: string;
  reason?: string;
  actor?: string;
};

export type ScopedLimitOk = BudgetOk & { created: boolean };

/** The path of the budget a scoped limit sets. */
export function scopedLimitPath(limit: ScopedLimit): string {
  if (limit.kind === 'model') return modelBudgetPath(limit.under, limit.model);
  return limit.kind === 'tag' ? scopedBudgetPath('tag', limit.tag) : scopedBudgetPath('provider', limit.provider);
}

/** Why a scoped limit names nothing the gateway could ever charge: a glob no priced model matches, a provider the catalog does not know. */
function unpricedScope(limit: ScopedLimit, pricing: PriceCatalog): Failure | undefined {
  const names = [...pricing.models.keys(), ...pricing.aliases.keys()];
  if (limit.kind === 'model' && pricing.defaultPrice === undefined && !names.some((m) => globMatches(limit.model, m))) {
    const suggestion = didYouMean(limit.model.replace(/\*$/, ''), names);
    return failure('bad_request', `no priced model matches ${limit.model}${suggestion === '' ? '; `bursar pricing list` lists them' : suggestion}`, { field: 'model' });
  }
  if (limit.kind !== 'provider') return undefined;
  const providers: string[] = [...new Set([...pricing.models.values()].map((e) => e.provider))].sort();
  if (providers.includes(limit.provider)) return undefined;
  return failure('bad_request', `the price catalog has no provider ${limit.provider}; known: ${providers.join(', ')}`, { field: 'provider' });
}

/**
 * Sets a model, tag or provider limit: creates its budget (and the `tags` or `providers` root)
 * the first time, changes its limit (and period, when given) after.
 *
 * @example
 * await setScopedLimit(store, pricing, { kind: 'model', under: 'acme/research', model: 'gpt-4o*', limitMicros: 20_000_000, period: 'day' });
 * await setScopedLimit(store, pricing, { kind: 'provider', provider: 'openai', limitMicros: 100_000_000, period: 'day' });
 */
export async function setScopedLimit(store: Pick<Store, 'getBudget' | 'createBudget' | 'updateBudget'>, pricing: PriceCatalog, limit: ScopedLimit): Promise<ScopedLimitOk | Failure> {
  const unpriced = unpricedScope(limit, pricing);
  if (unpriced) return unpriced;
  if (limit.kind === 'model' && !(await store.getBudget(limit.under))) return unknownBudget(limit.under);
  const path = scopedLimitPath(limit);
  const attribution = { reason: limit.reason, actor: limit.actor };
  const update = () => store.updateBudget({ path, limitMicros: limit.limitMicros, period: limit.period, timezone: limit.timezone, ...attribution });
  if (await store.getBudget(path)) return withCreated(await update(), false);
  const period = limit.period ?? (limit.limitMicros === null ? 'none' : 'month');
  const created = await store.createBudget({ path, kind: limit.kind, limitMicros: limit.limitMicros, period, timezone: limit.timezone, ...attribution });
  // Made by someone else meanwhile: set its limit instead.
  if (!created.ok && created.code === 'budget_exists') return withCreated(await update(), false);
  return withCreated(created, true);
}

function withCreated(result: BudgetOk | Failure, created: boolean): ScopedLimitOk | Failure {
  return result.ok ? { ...result, created } : result;
}

/**
 * Scoped budgets of one kind (model, tag or provider), sorted by path; model budgets only under
 * `under` when given.
 *
 * @example
 * await scopedBudgets(store, 'tag') // every tags/… budget
 */
export async function scopedBudgets(store: Pick<Store, 'listBudgets'>, kind: 'model' | 'tag' | 'provider', under?: string): Promise<BudgetView[]> {
  const all = await store.listBudgets();
  return all.filter((b) => b.kind === kind && b.parentId !== null && (under === undefined || b.path.startsWith(`${under}/`)));
}

/**
 * The first model a policy's brownout tiers or fallbacks send calls to that has no price: a call
 * routed there could not be bounded, so such a policy is refused when it is set.
 *
 * @example
 * unpricedRoute({ fallbacks: [{ from: 'gpt-4o', to: ['gpt-4o-mini', 'my-model'] }] }, pricing) // { code: 'invalid_policy', field: 'policy.fallbacks.0.to.1', … }
 */
export function unpricedRoute(policy: Pick<Policy, 'brownout' | 'fallbacks'> | undefined | null, pricing: PriceCatalog): Failure | undefined {
  const targets: [string, string][] = [
    ...(policy?.brownout ?? []).map((t, i): [string, string] => [t.to, `policy.brownout.${i}.to`]),
    ...(policy?.fallbacks ?? []).flatMap((r, i) => r.to.map((m, j): [string, string] => [m, `policy.fallbacks.${i}.to.${j}`])),
  ];
  const found = targets.find(([model]) => !resolveModel(model, pricing).ok);
  if (!found) return undefined;
  const [model, field] = found;
  const kind = field.includes('brownout') ? 'brownout tier' : 'fallback';
  return failure('invalid_policy', `the ${kind} model ${model} has no price in the catalog, so a call sent there could not be bounded${didYouMean(model, [...pricing.models.keys()])}`, { field });
}

/**
 * A lookup over budgets read from a store, so that `extrasFor` finds outside a transaction the
 * same extra budgets a reservation would hold on.
 *
 * @example
 * extrasFor(budgetLookup(await store.listBudgets()), chain, { model: 'gpt-4o', provider: 'openai' })
 */
export function budgetLookup(budgets: readonly BudgetView[]): BudgetLookup<BudgetView> {
  const byPath = new Map(budgets.map((b) => [b.path, b]));
  const models = new Map<number, BudgetView[]>();
  for (const b of budgets) {
    if (b.kind !== 'model' || b.parentId === null) continue;
    const under = models.get(b.parentId) ?? [];
    under.push(b);
    models.set(b.parentId, under);
  }
  return { budgetByPath: (path) => byPath.get(path), modelBudgetsUnder: (id) => models.get(id) };
}

/** What a model, tag or provider budget applies to: its model glob, its tag or its provider. */
export function appliesTo(b: Pick<BudgetView, 'kind' | 'name'>): string {
  return b.kind === 'model' ? modelGlobOf(b) : b.name;
}

/**
 * The budgets across the tree a chain's calls may reach, as a balance lists them beside the
 * chain: the model budgets under any level (whatever the model), the tag budgets of the tags its
 * policy requires (a required key covers its tags: `product` covers `tags/product:chat-bot`), and
 * every provider budget. Model budgets first, then tags, then providers, each by path; closed
 * ones left out. Which of them a call holds on depends on its model and tags (`extrasFor`).
 *
 * @example
 * acrossOf(await store.crossBudgets(), chain, ['product']).map((b) => b.path)
 * // ['acme/research/model:gpt-4o*', 'tags/product:chat-bot', 'providers/openai']
 */
export function acrossOf(budgets: readonly BudgetView[], chainLeafFirst: readonly BudgetView[], requiredTags: readonly string[] = []): BudgetView[] {
  const levels = new Set(chainLeafFirst.map((b) => b.id));
  const shown = budgets.filter((b) => {
    if (!isCrossKind(b.kind) || b.parentId === null || b.status === 'closed') return false;
    if (b.kind === 'model') return levels.has(b.parentId);
    return b.kind === 'provider' || requiredTags.some((r) => tagMeets(b.name, r));
  });
  const rank = { model: 0, tag: 1, provider: 2 } as Record<string, number>;
  return shown.sort((a, b) => (rank[a.kind] ?? 0) - (rank[b.kind] ?? 0) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
