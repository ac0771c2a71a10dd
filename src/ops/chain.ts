import { effectivePolicy, type BudgetView, type Policy } from '../core/index.js';
import type { Balance } from '../contract/index.js';

export type { Balance, BalanceLevel } from '../contract/index.js';

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

/**
 * The balance of a chain given leaf first.
 *
 * @example
 * balanceOf(await store.chain(envelope)).tightest // 'acme/research'
 */
export function balanceOf(chainLeafFirst: readonly BudgetView[]): Balance {
  const chain = chainLeafFirst.map((b) => ({
    budget: b.path,
    kind: b.kind,
    status: b.status,
    limitMicros: b.limitMicros,
    spentMicros: b.spentMicros,
    reservedMicros: b.reservedMicros,
    remainingMicros: b.remainingMicros === null ? null : Math.max(0, b.remainingMicros),
    period: b.period,
    periodEndMs: b.periodEndMs,
  }));
  const tightest = tightestOf(chainLeafFirst);
  return {
    remainingMicros: tightest?.remainingMicros === undefined || tightest.remainingMicros === null ? null : Math.max(0, tightest.remainingMicros),
    tightest: tightest?.path ?? null,
    active: chain.every((l) => l.status === 'active'),
    chain,
  };
}
