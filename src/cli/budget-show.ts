import type { BudgetView } from '../core/index.js';
import { effectiveOf } from './budget-ops.js';
import { CliError, type CliContext } from './context.js';
import { budgetJson, isoSeconds, policyJson, policyText, table, usageBar, usd } from './output.js';

/**
 * The level of a chain with the least left, or undefined when no level has a limit.
 *
 * @example
 * tightestOf(await backend.chain('acme/research/bot'))?.path // 'acme/research'
 */
export function tightestOf(chain: readonly BudgetView[]): BudgetView | undefined {
  let tightest: BudgetView | undefined;
  for (const b of chain) {
    if (b.remainingMicros === null) continue;
    if (!tightest || b.remainingMicros < (tightest.remainingMicros ?? Infinity)) tightest = b;
  }
  return tightest;
}

function chainTable(rootFirst: readonly BudgetView[], tightest: BudgetView | undefined): string {
  return table(
    [
      { header: 'BUDGET' },
      { header: 'KIND' },
      { header: 'STATUS' },
      { header: 'LIMIT', align: 'right' },
      { header: 'GRANTED', align: 'right' },
      { header: 'SPENT', align: 'right' },
      { header: 'RESERVED', align: 'right' },
      { header: 'REMAINING', align: 'right' },
      { header: 'USED' },
      { header: 'PERIOD' },
    ],
    rootFirst.map((b) => [
      b === tightest ? `${b.path} *` : b.path,
      b.kind,
      b.status,
      usd(b.limitMicros),
      b.grantedMicros > 0 ? usd(b.grantedMicros) : '-',
      usd(b.spentMicros),
      usd(b.reservedMicros),
      b.remainingMicros === null ? 'unlimited' : usd(b.remainingMicros),
      usageBar(b),
      b.period,
    ]),
  );
}

function periodLine(b: BudgetView): string {
  if (b.period === 'none') return `Period: none (never resets), since ${isoSeconds(b.periodStartMs)}`;
  return `Period: ${b.period} in ${b.timezone}, ${isoSeconds(b.periodStartMs)} to ${isoSeconds(b.periodEndMs)}`;
}

function humanShow(leaf: BudgetView, rootFirst: readonly BudgetView[], tightest: BudgetView | undefined, leafFirst: readonly BudgetView[]): string {
  const paused = rootFirst.find((b) => b.status !== 'active');
  const canSpend =
    tightest === undefined
      ? `${leaf.path} has no limit on any level.`
      : `${leaf.path} can spend ${usd(Math.max(0, tightest.remainingMicros ?? 0))} more this period (* the tightest level: ${tightest.path}).`;
  return [
    chainTable(rootFirst, tightest),
    '',
    canSpend,
    ...(paused ? [`Refusing new reservations: ${paused.path} is ${paused.status}.`] : []),
    periodLine(leaf),
    `In flight: ${leaf.inflight} reservation${leaf.inflight === 1 ? '' : 's'}`,
    `Own policy: ${policyText(leaf.policy)}`,
    `Effective policy: ${policyText(effectiveOf(leafFirst))}`,
  ].join('\n');
}

/**
 * `bursar budgets show <path>`: the budget's chain from the root down, with what each level
 * can still take, and which level binds.
 *
 * @example
 * await showBudget(context, 'acme/research/bot');
 */
export async function showBudget(context: CliContext, path: string): Promise<void> {
  const backend = await context.backend('read');
  const leafFirst = await backend.chain(path);
  const leaf = leafFirst[0];
  if (!leaf) throw new CliError({ code: 'unknown_budget', message: `no budget at ${path}`, field: 'path' }, 1);
  const rootFirst = [...leafFirst].reverse();
  const tightest = tightestOf(leafFirst);
  await context.emit(
    () => ({
      ok: true,
      budget: budgetJson(leaf),
      chain: rootFirst.map(budgetJson),
      remaining_micros: tightest?.remainingMicros ?? null,
      tightest: tightest?.path ?? null,
      effective_policy: policyJson(effectiveOf(leafFirst)),
    }),
    () => humanShow(leaf, rootFirst, tightest, leafFirst),
  );
}
