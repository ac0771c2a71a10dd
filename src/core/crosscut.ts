import { fail } from './assert.js';
import { chainOf } from './chain.js';
import { refuse, type Refusal } from './codes.js';
import { nameProblem, parentPath, providerPattern, tagPattern } from './names.js';
import type { Policy } from './policy.js';
import { globMatches } from './route-policy.js';
import type { Tx } from './tx.js';
import type { BudgetKind, BudgetRecord, ReservationRecord } from './types.js';

/**
 * Budgets that cut across the tree. A call reserves on its chain (envelope → agent → team →
 * org) and also on:
 * - model budgets: `<budget>/model:<glob>`, a sub-limit of a budget for the models the glob
 *   matches (`acme/research/model:gpt-4o*`), reached by calls under that budget;
 * - tag budgets: `tags/<tag>`, reached by calls carrying the tag (`x-bursar-tags`);
 * - provider budgets: `providers/<provider>`, reached by every call the provider serves.
 * Each is an ordinary budget record (same balances, periods, alerts and burn limits), held
 * together with its own ancestors; a budget reached twice is held once. The reservation's
 * `reserve` entry names the extra budgets, so settlements, expiry and the audit find them.
 */

export const tagRoot = 'tags';
export const providerRoot = 'providers';
export const modelNamePrefix = 'model:';
const modelGlobPattern = /^(?:[A-Za-z0-9][A-Za-z0-9._:@-]*\*?|\*)$/;
const none: readonly never[] = Object.freeze([]);
const noTags: readonly string[] = Object.freeze([]);
const noIds: readonly number[] = Object.freeze([]);

/** True for the kinds that cut across the tree (model, tag, provider). */
export function isCrossKind(kind: BudgetKind): boolean {
  return kind === 'model' || kind === 'tag' || kind === 'provider';
}

/**
 * The path of a model budget under `parent`.
 *
 * @example
 * modelBudgetPath('acme/research', 'gpt-4o*') // 'acme/research/model:gpt-4o*'
 */
export function modelBudgetPath(parent: string, glob: string): string {
  return `${parent}/${modelNamePrefix}${glob}`;
}

/**
 * The path of a tag's or a provider's budget.
 *
 * @example
 * scopedBudgetPath('tag', 'product:chat-bot') // 'tags/product:chat-bot'
 */
export function scopedBudgetPath(kind: 'tag' | 'provider', name: string): string {
  return `${kind === 'tag' ? tagRoot : providerRoot}/${name}`;
}

/** The model glob a model budget limits, from its name (`model:gpt-4o*` → `gpt-4o*`). */
export function modelGlobOf(b: Pick<BudgetRecord, 'name'>): string {
  return b.name.slice(modelNamePrefix.length);
}

/**
 * Why `path` cannot name a new budget of `kind`, before any state is read: model budgets are
 * named `model:<model or prefix*>`, tag and provider budgets sit at `tags/<tag>` and
 * `providers/<provider>`, and every other budget keeps to plain names outside those roots.
 */
export function crossNameProblem(path: string, kind: BudgetKind): Refusal | undefined {
  const names = path.split('/');
  const name = names[names.length - 1] ?? '';
  if (kind === 'model') {
    const glob = name.slice(modelNamePrefix.length);
    if (names.length < 2 || !name.startsWith(modelNamePrefix) || !modelGlobPattern.test(glob)) {
      return refuse('invalid_name', `a model budget sits under the budget it limits and is named model:<model or prefix*>, like acme/research/model:gpt-4o*; got ${path}`, { field: 'path' });
    }
    const plain = names.slice(0, -1).every((n) => nameProblem(n) === undefined);
    return plain ? undefined : refuse('invalid_path', `a model budget goes under an ordinary budget; ${parentPath(path) ?? ''} is not one`, { field: 'path' });
  }
  if (kind === 'tag' || kind === 'provider') {
    const root = kind === 'tag' ? tagRoot : providerRoot;
    const pattern = kind === 'tag' ? tagPattern : providerPattern;
    if (path === root || (names.length === 2 && names[0] === root && pattern.test(name))) return undefined;
    const example = kind === 'tag' ? 'tags/product:chat-bot' : 'providers/openai';
    return refuse('invalid_path', `a ${kind} budget lives at ${root}/<${kind}>, like ${example}; got ${path}`, { field: 'path' });
  }
  for (const n of names) {
    const problem = nameProblem(n);
    if (problem) return refuse('invalid_name', `in path "${path}": ${problem}`, { field: 'path' });
  }
  if (names[0] === tagRoot || names[0] === providerRoot) {
    return refuse('invalid_name', `${names[0]} is kept for ${names[0] === tagRoot ? 'tag' : 'provider'} budgets; choose another name`, { field: 'path' });
  }
  return undefined;
}

/** Why a budget of `kind` cannot go under `parent` (which exists), or undefined. */
export function crossParentProblem(kind: BudgetKind, parent: BudgetRecord): Refusal | undefined {
  const tagOrProvider = kind === 'tag' || kind === 'provider';
  if (tagOrProvider ? parent.kind === kind : !isCrossKind(parent.kind)) return undefined;
  const what = tagOrProvider ? `${kind} budgets need ${parent.path} to be their root, but it is a ${parent.kind} budget` : `budgets cannot go under ${parent.path}, a ${parent.kind} budget`;
  return refuse('invalid_path', what, { field: 'path', budget: parent.path });
}

/** Why a model, tag or provider budget cannot have this policy: calls are routed by the budgets they run under. */
export function crossPolicyProblem(kind: BudgetKind, policy: Policy | undefined): Refusal | undefined {
  if (!isCrossKind(kind) || policy === undefined) return undefined;
  const field = (['requiredTags', 'brownout', 'fallbacks'] as const).find((f) => policy[f] !== undefined);
  return field && refuse('invalid_policy', `${field} belongs on the budgets calls run under (an org, team or agent), not on a ${kind} budget`, { field: `policy.${field}` });
}

/** The budgets a reservation holds on: its chain and, held once each, the chains of its extra budgets. */
export interface Scope {
  budgets: BudgetRecord[];
  /** The chain, then each extra budget's own chain: alerts inherit thresholds along each. */
  chains: readonly BudgetRecord[][];
  /** Ids of the extra budgets (not in the chain), as the `reserve` entry records them. */
  also: readonly number[];
}

/** What `extrasFor` reads of a budget: a ledger record, or a view of one outside a transaction. */
export type CrossBudget = Pick<BudgetRecord, 'id' | 'name' | 'kind'>;

/** Where `extrasFor` finds budgets: a transaction (`Tx`), or a lookup over budgets read from a store. */
export interface BudgetLookup<B extends CrossBudget> {
  budgetByPath(path: string): B | undefined;
  /** The model budgets directly under a budget; undefined when it has none. */
  modelBudgetsUnder(id: number): readonly B[] | undefined;
}

/**
 * The model, tag and provider budgets a call for `model` with `tags` served by `provider`
 * reaches from `tree` (its chain, leaf first). Costs a map lookup per level when there are none.
 * The reservation asks its transaction; pre-flight asks a lookup over the budgets as they stand.
 *
 * @example
 * extrasFor(tx, tree, { model: 'gpt-4o', tags: ['product:chat-bot'], provider: 'openai' }).map((b) => b.path)
 * // ['acme/research/model:gpt-4o*', 'tags/product:chat-bot', 'providers/openai']
 */
export function extrasFor<B extends CrossBudget>(tx: BudgetLookup<B>, tree: readonly B[], call: { model?: string; tags?: readonly string[]; provider?: string }): readonly B[] {
  let out: B[] | undefined;
  const model = call.model;
  if (model !== undefined) {
    for (const b of tree) {
      const under = tx.modelBudgetsUnder(b.id);
      if (under === undefined) continue;
      for (const m of under) if (globMatches(modelGlobOf(m), model)) (out ??= []).push(m);
    }
  }
  for (const tag of call.tags ?? noTags) {
    const b = tx.budgetByPath(scopedBudgetPath('tag', tag));
    if (b?.kind === 'tag') (out ??= []).push(b);
  }
  if (call.provider !== undefined) {
    const b = tx.budgetByPath(scopedBudgetPath('provider', call.provider));
    if (b?.kind === 'provider') (out ??= []).push(b);
  }
  return out ?? none;
}

/** A chain with `extras` and their ancestors added, each budget once. */
export function scopeOf(tx: Tx, tree: BudgetRecord[], extras: readonly BudgetRecord[]): Scope {
  if (extras.length === 0) return { budgets: tree, chains: [tree], also: noIds };
  const budgets = [...tree];
  const chains = [tree];
  const also: number[] = [];
  for (const x of extras) {
    if (budgets.includes(x)) continue;
    also.push(x.id);
    const chain = chainOf(tx, x);
    chains.push(chain);
    for (const y of chain) if (!budgets.includes(y)) budgets.push(y);
  }
  return { budgets, chains, also };
}

/** Everything a reservation holds on: its leaf's chain and the extra budgets its entry names. */
export function reservationScope(tx: Tx, leaf: BudgetRecord, r: ReservationRecord): Scope {
  const tree = chainOf(tx, leaf);
  if (r.also === undefined || r.also.length === 0) return { budgets: tree, chains: [tree], also: noIds };
  const extras = r.also.map((id) => {
    const b = tx.budgetById(id);
    if (!b) fail(`reservation rsv_${r.seq} holds on a missing budget ${id}`);
    return b;
  });
  return scopeOf(tx, tree, extras);
}
