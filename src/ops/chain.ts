import { effectivePolicy, type BudgetView, type Policy } from '../core/index.js';
import type { AcrossLevel, Balance, BalanceLevel } from '../contract/index.js';
import type { Store } from '../store/index.js';
import { acrossOf, appliesTo } from './crosscut.js';

export type { AcrossLevel, Balance, BalanceLevel } from '../contract/index.js';

/**
 * What every door asks of a budget's chain: who may reach what (a token reaches its own
 * envelope and what was delegated from it), which level is the tightest, and the policy in force.
 */

/**
 * True when `path` is `root` or lies under it: a token reaches its own envelope and those of
 * the tokens delegated from it, whose envelopes nest in its own.
 *
 * @example
 * withinEnvelope('acme/bot/tok_A', 'acme/bot/tok_A/tok_B') // true
 * withinEnvelope('acme/bot/tok_A', 'acme/bot/tok_AB') // false
 */
export function withinEnvelope(root: string, path: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/**
 * The level of a chain with the least left to spend (the nearest to the leaf on a tie), or
 * undefined when no level has a limit.
 *
 * @example
 * tightestOf(await store.chain('acme/bot'))?.path // 'acme/bot'
 */
export function tightestOf(chain: readonly BudgetView[]): BudgetView | undefined {
  let tightest: BudgetView | undefined;
  for (const b of chain) {
    if (b.remainingMicros === null) continue;
    if (!tightest || b.remainingMicros < (tightest.remainingMicros ?? Infinity)) tightest = b;
  }
  return tightest;
}

/**
 * The policy in force at the leaf of a chain given leaf first: its own narrowed by every ancestor's.
 *
 * @example
 * effectiveOf(await store.chain('acme/research/bot')).inflightMax // 4
 */
export function effectiveOf(chainLeafFirst: readonly BudgetView[]): Policy {
  return effectivePolicy([...chainLeafFirst].reverse().map((b) => b.policy));
}

function levelOf(b: BudgetView): BalanceLevel {
  return {
    budget: b.path,
    kind: b.kind,
    status: b.status,
    limitMicros: b.limitMicros,
    spentMicros: b.spentMicros,
    reservedMicros: b.reservedMicros,
    remainingMicros: b.remainingMicros === null ? null : Math.max(0, b.remainingMicros),
    period: b.period,
    periodEndMs: b.periodEndMs,
  };
}

/**
 * The balance of a chain given leaf first, with the budgets across the tree beside it (none
 * unless given; `balanceAt` finds them).
 *
 * @example
 * balanceOf(await store.chain(envelope)).tightest // 'acme/research'
 */
export function balanceOf(chainLeafFirst: readonly BudgetView[], across: readonly BudgetView[] = []): Balance {
  const chain = chainLeafFirst.map(levelOf);
  const tightest = tightestOf(chainLeafFirst);
  return {
    remainingMicros: tightest?.remainingMicros === undefined || tightest.remainingMicros === null ? null : Math.max(0, tightest.remainingMicros),
    tightest: tightest?.path ?? null,
    active: chain.every((l) => l.status === 'active'),
    chain,
    across: across.map((b): AcrossLevel => ({ ...levelOf(b), appliesTo: appliesTo(b) })),
  };
}

/**
 * The balance of the budget at `path` (a token's envelope, an agent): its chain and the model,
 * tag and provider budgets beside it (`acrossOf`); undefined when no budget is there.
 *
 * @example
 * (await balanceAt(store, 'acme/research/bot/tok_A'))?.across[0] // { budget: 'acme/research/model:gpt-4o*', appliesTo: 'gpt-4o*', … }
 */
export async function balanceAt(store: Pick<Store, 'chain' | 'crossBudgets'>, path: string): Promise<Balance | undefined> {
  const chain = await store.chain(path);
  if (chain.length === 0) return undefined;
  const across = acrossOf(await store.crossBudgets(), chain, effectiveOf(chain).requiredTags);
  return balanceOf(chain, across);
}
