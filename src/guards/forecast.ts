import { assert, limits, spendOf, type BudgetView, type LedgerEntry } from '../core/index.js';
import { burnWindows, type ForecastBudget, type ForecastWindow, type Outlook } from '../contract/index.js';
import { guardLimits } from './limits.js';

/**
 * Forecast: how fast each budget is spending, and when it runs out at that pace. Spend is what
 * `spendOf` says each ledger entry adds (settlements, late charges, charged expiries, less
 * refunds), counted on the entry's budget and every budget above it, over the last 5 minutes,
 * hour and day. Each window's rate is its spend over the whole window; the run-out time is when
 * what the budget has left (limit + granted − spent − reserved) would be gone at that rate.
 */

const longestWindowMs = Math.max(...burnWindows.map((w) => w.ms));


/**
 * Sums spend per budget (and its ancestors) per window from ledger entries read newest first.
 *
 * @example
 * const meter = new BurnMeter(await store.listBudgets(), store.now());
 * for (const e of entries) meter.add(e);
 * meter.forecast({ budgets, completeSinceMs: null })
 */
export class BurnMeter {
  private readonly byId: Map<number, BudgetView>;
  private readonly ancestry = new Map<number, number[]>();
  /** Spend per budget id, one slot per window (shortest first). */
  private readonly spend = new Map<number, number[]>();

  constructor(
    budgets: readonly BudgetView[],
    private readonly nowMs: number,
  ) {
    this.byId = new Map(budgets.map((b) => [b.id, b]));
  }

  /** The budget and every ancestor, leaf first (a loop bounded by the path depth). */
  private chainIds(id: number): number[] {
    const known = this.ancestry.get(id);
    if (known) return known;
    const ids: number[] = [];
    let b = this.byId.get(id);
    for (let depth = 0; b && depth <= limits.pathDepthMax; depth += 1) {
      ids.push(b.id);
      b = b.parentId === null ? undefined : this.byId.get(b.parentId);
    }
    this.ancestry.set(id, ids);
    return ids;
  }

  /**
   * Counts one entry on its budget's chain and, for a reservation that also held on model, tag
   * or provider budgets (`also`, their ids), on theirs, each budget once. Entries that are not
   * spend, or older than the longest window, count nothing.
   */
  add(e: Pick<LedgerEntry, 'kind' | 'amountMicros' | 'data' | 'budgetId' | 'tsMs'>, also: readonly number[] = []): void {
    const effect = spendOf(e);
    const ageMs = this.nowMs - e.tsMs;
    if (!effect || effect.micros === 0 || ageMs >= longestWindowMs) return;
    const ids = also.length === 0 ? this.chainIds(e.budgetId) : new Set([e.budgetId, ...also].flatMap((id) => this.chainIds(id)));
    for (const id of ids) {
      let slots = this.spend.get(id);
      if (!slots) {
        slots = burnWindows.map(() => 0);
        this.spend.set(id, slots);
      }
      for (const [i, w] of burnWindows.entries()) if (ageMs < w.ms) slots[i] = (slots[i] ?? 0) + effect.micros;
    }
  }

  /** True when some spend in the longest window was counted on this budget. */
  spentRecently(id: number): boolean {
    return (this.spend.get(id) ?? []).some((m) => m !== 0);
  }

  /**
   * The forecast of each budget in `budgets`. `completeSinceMs` is from when the entries read
   * are whole (null: every window is); a window that starts before it is rated over the part read.
   */
  forecast(o: { budgets: readonly BudgetView[]; completeSinceMs: number | null }): ForecastBudget[] {
    return o.budgets.map((b) => {
      const slots = this.spend.get(b.id) ?? burnWindows.map(() => 0);
      const windows = burnWindows.map((w, i) => this.window(b, w, slots[i] ?? 0, o.completeSinceMs));
      return {
        budget: b.path,
        kind: b.kind,
        status: b.status,
        period: b.period,
        period_end: b.periodEndMs === null ? null : new Date(b.periodEndMs).toISOString(),
        limit_micros: b.limitMicros,
        spent_micros: b.spentMicros,
        reserved_micros: b.reservedMicros,
        remaining_micros: b.remainingMicros,
        windows,
      };
    });
  }

  private window(b: BudgetView, w: (typeof burnWindows)[number], spentMicros: number, completeSinceMs: number | null): ForecastWindow {
    const startMs = this.nowMs - w.ms;
    const complete = completeSinceMs === null || completeSinceMs <= startMs;
    const spanMs = complete ? w.ms : Math.max(1, this.nowMs - (completeSinceMs ?? startMs));
    const perHour = Math.max(0, Math.round((spentMicros * 3_600_000) / spanMs));
    const at = runOut(b, spentMicros, spanMs, this.nowMs);
    return { window: w.name, spent_micros: spentMicros, rate_micros_per_hour: perHour, complete, outlook: at.outlook, runs_out_at: at.atMs === null ? null : new Date(at.atMs).toISOString() };
  }
}

/**
 * When a budget runs out if it keeps spending `spentMicros` every `spanMs`.
 *
 * @example
 * runOut(budgetWith({ remainingMicros: 10_000_000, periodEndMs: null }), 1_000_000, 60_000, 0)
 * // { outlook: 'runs_out', atMs: 600_000 }  ($1 a minute, $10 left: in ten minutes)
 */
export function runOut(b: Pick<BudgetView, 'remainingMicros' | 'periodEndMs'>, spentMicros: number, spanMs: number, nowMs: number): { outlook: Outlook; atMs: number | null } {
  assert(spanMs > 0, 'a burn rate needs a window longer than zero');
  if (b.remainingMicros === null) return { outlook: 'no_limit', atMs: null };
  if (b.remainingMicros <= 0) return { outlook: 'exhausted', atMs: null };
  if (spentMicros <= 0) return { outlook: 'no_burn', atMs: null };
  // Time, not money: a float is exact enough for milliseconds (exact while the product stays
  // below 2^53, as it does for a day's window and up to ~100,000 USD left) and cannot overflow.
  const inMs = Math.ceil((b.remainingMicros * spanMs) / spentMicros);
  if (b.periodEndMs !== null && nowMs + inMs >= b.periodEndMs) return { outlook: 'not_this_period', atMs: null };
  if (b.periodEndMs === null && inMs > guardLimits.forecastHorizonMs) return { outlook: 'not_within_horizon', atMs: null };
  return { outlook: 'runs_out', atMs: nowMs + inMs };
}

/** The earliest run-out time over a budget's windows, for ordering (Infinity when none). */
function soonestMs(f: ForecastBudget): number {
  let soonest = Infinity;
  for (const w of f.windows) if (w.runs_out_at !== null) soonest = Math.min(soonest, Date.parse(w.runs_out_at));
  return soonest;
}

/**
 * Orders a forecast: budgets that run out soonest first, then the exhausted, then the rest by path.
 *
 * @example
 * sortForecast(rows)[0].budget // the budget that runs out first
 */
export function sortForecast(rows: ForecastBudget[]): ForecastBudget[] {
  const exhausted = (f: ForecastBudget) => (f.remaining_micros !== null && f.remaining_micros <= 0 ? 0 : 1);
  return rows.sort((a, b) => soonestMs(a) - soonestMs(b) || exhausted(a) - exhausted(b) || (a.budget < b.budget ? -1 : a.budget > b.budget ? 1 : 0));
}
