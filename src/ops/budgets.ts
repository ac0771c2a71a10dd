import type { BudgetKind, BudgetStatus, BudgetView, ClosedPeriod, Policy } from '../core/index.js';
import { failure, type Failure } from '../contract/errors.js';
import type { Store } from '../store/index.js';
import { effectiveOf, tightestOf, withinEnvelope } from './chain.js';
import { acrossOf } from './crosscut.js';

/**
 * Reading budgets the way every door shows them: a budget with its chain and what it can still
 * spend, filtered lists, the tree, and finding an agent by path or by its bare name. Writes go
 * straight to the store's commands (`createBudget`, `grant`, …), which refuse with stable codes.
 */

type Reads = Pick<Store, 'getBudget' | 'listBudgets'>;

/**
 * A refusal for a budget that does not exist, naming the input that named it.
 *
 * @example
 * unknownBudget('acme/nope', 'under') // { ok: false, code: 'unknown_budget', message: 'no budget at acme/nope', field: 'under' }
 */
export function unknownBudget(path: string, field = 'path'): Failure {
  return failure('unknown_budget', `no budget at ${path}`, { field });
}

/** A budget with everything above it. */
export interface BudgetDetail {
  ok: true;
  budget: BudgetView;
  /** Root first, ending with the budget. */
  chain: BudgetView[];
  /** The level with the least left; undefined when no level has a limit. */
  tightest: BudgetView | undefined;
  /** Its own policy narrowed by every ancestor's. */
  effectivePolicy: Policy;
  /** The model, tag and provider budgets its calls may also reserve on (`acrossOf`). */
  across: BudgetView[];
}

/**
 * The budget at `path` with its chain, its tightest level and the policy in force.
 *
 * @example
 * const d = await budgetDetail(store, 'acme/research/bot');
 * if (d.ok) console.log(d.tightest?.path, d.effectivePolicy.inflightMax);
 */
export async function budgetDetail(store: Pick<Store, 'chain' | 'crossBudgets'>, path: string): Promise<BudgetDetail | Failure> {
  const leafFirst = await store.chain(path);
  const leaf = leafFirst[0];
  if (!leaf) return unknownBudget(path);
  const effectivePolicy = effectiveOf(leafFirst);
  const across = acrossOf(await store.crossBudgets(), leafFirst, effectivePolicy.requiredTags);
  return { ok: true, budget: leaf, chain: [...leafFirst].reverse(), tightest: tightestOf(leafFirst), effectivePolicy, across };
}

/** Which budgets to list: under a budget (itself included), of a kind, with a status. */
export interface BudgetFilter {
  under?: string;
  kind?: BudgetKind;
  status?: BudgetStatus;
}

/**
 * The budgets a filter selects, sorted by path; an `under` that names no budget is refused.
 *
 * @example
 * await listBudgets(store, { under: 'acme', kind: 'agent' })
 */
export async function listBudgets(store: Reads, filter: BudgetFilter = {}): Promise<{ ok: true; budgets: BudgetView[] } | Failure> {
  if (filter.under !== undefined && !(await store.getBudget(filter.under))) return unknownBudget(filter.under, 'under');
  const all = await store.listBudgets();
  const budgets = all.filter((b) => (filter.under === undefined || withinEnvelope(filter.under, b.path)) && (filter.kind === undefined || b.kind === filter.kind) && (filter.status === undefined || b.status === filter.status));
  return { ok: true, budgets };
}

/** A budget and the budgets under it, siblings by name. */
export interface BudgetNode {
  budget: BudgetView;
  children: BudgetNode[];
}

/**
 * The budgets as nested nodes, siblings by name; with `root`, only that subtree (refused when
 * it names no budget). A loop, no recursion.
 *
 * @example
 * const t = await budgetTree(store);
 * if (t.ok) t.roots[0]?.children[0]?.budget.path // 'acme/research'
 */
export async function budgetTree(store: Pick<Store, 'listBudgets'>, root?: string): Promise<{ ok: true; roots: BudgetNode[] } | Failure> {
  const all = await store.listBudgets();
  if (root !== undefined && !all.some((b) => b.path === root)) return unknownBudget(root, 'root');
  const byName = [...all].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const nodes = new Map<number, BudgetNode>(byName.map((b) => [b.id, { budget: b, children: [] }]));
  const roots: BudgetNode[] = [];
  for (const b of byName) {
    const node = nodes.get(b.id);
    if (!node) continue;
    const parent = b.parentId === null ? undefined : nodes.get(b.parentId);
    if (root !== undefined ? b.path === root : b.parentId === null) roots.push(node);
    else if (parent) parent.children.push(node);
  }
  return { ok: true, roots };
}

/** Why a name found no agent: none by that name, a budget of another kind, or several agents share it. */
export type AgentLookup = { ok: true; agent: BudgetView } | { ok: false; why: 'unknown' } | { ok: false; why: 'not_an_agent'; budget: BudgetView } | { ok: false; why: 'ambiguous'; agents: BudgetView[] };

/**
 * The agent a reference names: an agent's path, or its bare name when exactly one agent has it.
 * Each door words the three ways to fail its own way.
 *
 * @example
 * const found = await findAgent(store, 'market-researcher');
 * if (found.ok) found.agent.path // 'acme/research/market-researcher'
 */
export async function findAgent(store: Reads, ref: string): Promise<AgentLookup> {
  const exact = await store.getBudget(ref);
  if (exact) return exact.kind === 'agent' ? { ok: true, agent: exact } : { ok: false, why: 'not_an_agent', budget: exact };
  const named = ref.includes('/') ? [] : (await store.listBudgets()).filter((b) => b.kind === 'agent' && b.name === ref);
  if (named.length > 1) return { ok: false, why: 'ambiguous', agents: named };
  const found = named[0];
  return found ? { ok: true, agent: found } : { ok: false, why: 'unknown' };
}

/**
 * Totals of a budget's closed periods, oldest first.
 *
 * @example
 * const p = await closedPeriods(store, 'acme');
 * if (p.ok) p.periods[0]?.spentMicros // 4_200_000
 */
export async function closedPeriods(store: Pick<Store, 'getBudget' | 'closedPeriods'>, path: string): Promise<{ ok: true; periods: ClosedPeriod[] } | Failure> {
  if (!(await store.getBudget(path))) return unknownBudget(path);
  const periods = await store.closedPeriods(path);
  return { ok: true, periods: [...periods].sort((a, b) => a.startMs - b.startMs) };
}
