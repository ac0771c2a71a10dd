import { formatWindow, reservationId, type BudgetView } from '../core/index.js';
import { appliesTo, budgetDetail, type BudgetDetail } from '../ops/index.js';
import type { CliContext } from './context.js';
import { unwrap } from './errors.js';
import { budgetJson, isoSeconds, policyText, table, usageBar, usd } from './output.js';
import { budgetDetailToJson } from '../contract/index.js';

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

/** The model, tag and provider budgets beside the chain, with what each limits and has left. */
function acrossLines(across: readonly BudgetView[]): string[] {
  if (across.length === 0) return [];
  const rows = table(
    [{ header: 'ACROSS THE TREE' }, { header: 'KIND' }, { header: 'FOR' }, { header: 'STATUS' }, { header: 'LIMIT', align: 'right' }, { header: 'SPENT', align: 'right' }, { header: 'RESERVED', align: 'right' }, { header: 'REMAINING', align: 'right' }, { header: 'PERIOD' }],
    across.map((b) => [b.path, b.kind, appliesTo(b), b.status, usd(b.limitMicros), usd(b.spentMicros), usd(b.reservedMicros), b.remainingMicros === null ? 'unlimited' : usd(b.remainingMicros), b.period]),
  );
  return ['', 'Calls also reserve on these when their model, tags or provider match:', rows];
}

function periodLine(b: BudgetView): string {
  if (b.period === 'none') return `Period: none (never resets), since ${isoSeconds(b.periodStartMs)}`;
  return `Period: ${b.period} in ${b.timezone}, ${isoSeconds(b.periodStartMs)} to ${isoSeconds(b.periodEndMs)}`;
}

/** What loop detection counts on the budget, in a line. */
function loopLine(loop: NonNullable<BudgetView['loop']>): string {
  const top = loop.mostRepeated;
  const most = top ? `; the most repeated came ${top.count} time${top.count === 1 ? '' : 's'} (${reservationId({ seq: top.firstSeq })} to ${reservationId({ seq: top.lastSeq })})` : '';
  return `Loops: at most ${loop.repeats} repeats of one request in ${formatWindow(loop.windowMs)}; ${loop.tracked} request${loop.tracked === 1 ? '' : 's'} counted now${most}`;
}

/** The budget's guards in a line or two: its burn windows, loop detection and breaker, and the alerts raised this period. */
function guardLines(b: BudgetView): string[] {
  const lines: string[] = [];
  if (b.burn.length > 0) lines.push(`Burn: ${b.burn.map((w) => `${usd(w.burnMicros)} of ${usd(w.amountMicros)} in the last ${formatWindow(w.windowMs)}`).join('; ')}`);
  if (b.loop) lines.push(loopLine(b.loop));
  if (b.breaker !== 'closed') {
    const until = b.trippedUntilMs === null ? '' : ` until ${isoSeconds(b.trippedUntilMs)}`;
    const why = b.breakerCode === 'loop_detected' ? 'a loop was detected (one request repeated past the loop limit)' : 'a burn limit was crossed';
    const tests = b.breakerCode === 'loop_detected' ? 'whether the loop has stopped' : 'the burn rate';
    lines.push(b.breaker === 'open' ? `Breaker: open${until}: ${why}; bursar budgets reset-breaker ${b.path} closes it` : `Breaker: half-open: the next request tests ${tests}`);
  }
  const reached = [...(b.alertSpentPct > 0 ? [`spent reached ${b.alertSpentPct}%`] : []), ...(b.alertCommittedPct > 0 ? [`spent + reserved reached ${b.alertCommittedPct}%`] : [])];
  if (reached.length > 0) lines.push(`Alerts this period: ${reached.join(', ')} (bursar alerts list --budget ${b.path})`);
  return lines;
}

function humanShow(d: BudgetDetail): string {
  const { budget: leaf, chain: rootFirst, tightest } = d;
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
    ...guardLines(leaf),
    `Own policy: ${policyText(leaf.policy)}`,
    `Effective policy: ${policyText(d.effectivePolicy)}`,
    ...acrossLines(d.across),
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
  const d = unwrap(await budgetDetail(await context.backend('read'), path));
  await context.emit(
    () => ({ ok: true, ...budgetDetailToJson(d, budgetJson) }),
    () => humanShow(d),
  );
}
