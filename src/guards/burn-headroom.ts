import { formatUsd, type BudgetView } from '../core/index.js';
import type { PreflightBudget, PreflightCheck } from '../contract/index.js';

/**
 * The pre-flight check of burn limits: rolling-window caps on what a budget commits (reserved,
 * then settled), whose breaker trips when one would be crossed. A plan fails it when its calls
 * would be refused at once (the breaker is open, one call is larger than a limit, or the calls it
 * starts together do not fit what the window has left) and is warned when, run at full speed, it
 * would cross a limit before it ends.
 */

/** The burn-limit and breaker fields of a budget view. */
export type BurnState = Pick<BudgetView, 'burn' | 'breaker' | 'trippedUntilMs' | 'breakerCode'>;

/**
 * A window as people say it: `1m`, `10m`, `1h`, `1d`, else seconds.
 *
 * @example
 * windowText(60_000) // '1m'
 */
export function windowText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.ceil(ms / 1_000)}s`;
}

/** A budget on the plan's paths: its load, its burn state, and the largest call the plan makes through it. */
export interface BurnLoad {
  load: PreflightBudget;
  state: BurnState;
  maxCallMicros: number;
}

/** Why a budget's burn limits refuse the plan's calls from the start, or undefined. */
function refusal(x: BurnLoad, nowMs: number): string | undefined {
  const { load, state, maxCallMicros } = x;
  if (state.breaker === 'open') {
    const until = state.trippedUntilMs === null ? '' : ` for ${Math.ceil((state.trippedUntilMs - nowMs) / 1_000)} s more`;
    return `the breaker of ${load.budget} is open${until}: its calls are refused with ${state.breakerCode ?? 'burn_limit'}`;
  }
  for (const w of state.burn) {
    const limit = `${formatUsd(w.amountMicros)} per ${windowText(w.windowMs)}`;
    if (maxCallMicros > w.amountMicros) return `one call reserves up to ${formatUsd(maxCallMicros)}, more than the burn limit of ${load.budget} (${limit}): every such call is refused`;
    const headroom = Math.max(0, w.amountMicros - w.burnMicros);
    const atOnce = load.planned_concurrency * maxCallMicros;
    if (atOnce > headroom) {
      const fits = Math.floor(headroom / maxCallMicros);
      return `${load.planned_concurrency} calls at once reserve up to ${formatUsd(atOnce)} within ${windowText(w.windowMs)}, more than the ${formatUsd(headroom)} the burn limit of ${load.budget} (${limit}) has left: the breaker trips at the start; lower the concurrency to ${fits}`;
    }
  }
  return undefined;
}

/** Why a budget's burn limits will stop a plan run at full speed before it ends, or undefined. */
function pacing(x: BurnLoad): string | undefined {
  const { load, state } = x;
  if (state.breaker === 'half_open') return `the breaker of ${load.budget} is half-open: it lets one call through before it closes again`;
  for (const w of state.burn) {
    if (load.planned_micros <= w.amountMicros - w.burnMicros) continue;
    const windows = Math.ceil(load.planned_micros / w.amountMicros);
    return `the plan puts ${formatUsd(load.planned_micros)} through ${load.budget}, whose burn limit is ${formatUsd(w.amountMicros)} per ${windowText(w.windowMs)}: at full speed it trips the breaker; pace it over at least ${windowText(windows * w.windowMs)}`;
  }
  return undefined;
}

/**
 * The `burn_limits` check over every budget on the plan's paths.
 *
 * @example
 * burnHeadroomCheck([{ load, state: { burn: [{ amountMicros: 2_000_000, windowMs: 60_000, burnMicros: 0 }] }, maxCallMicros: 350_000 }], nowMs)
 * // { name: 'burn_limits', status: 'fail', … } when 15 calls start at once
 */
export function burnHeadroomCheck(loads: readonly BurnLoad[], nowMs: number): PreflightCheck {
  const limited = loads.filter((x) => x.state.burn.length > 0 || x.state.breaker !== 'closed');
  for (const x of limited) {
    const why = refusal(x, nowMs);
    if (why) return { name: 'burn_limits', status: 'fail', budget: x.load.budget, message: why };
  }
  for (const x of limited) {
    const why = pacing(x);
    if (why) return { name: 'burn_limits', status: 'warn', budget: x.load.budget, message: why };
  }
  if (limited.length === 0) return { name: 'burn_limits', status: 'pass', message: 'no burn limit on these paths' };
  return { name: 'burn_limits', status: 'pass', message: 'the plan fits every burn limit on its paths' };
}
