import { burnWindows, contractLimits, type ForecastReport } from '../contract/index.js';
import { limits, spendKinds, type BudgetView } from '../core/index.js';
import { BurnMeter, sortForecast } from '../guards/index.js';
import type { Store } from '../store/index.js';
import { extrasOfReservations, hasCrossBudgets, scanNewestFirst, spendFilter } from './reports.js';

/**
 * The forecast over a store: the last 24 hours of spend entries, read newest first up to a
 * bound, rated per budget over 5 minutes, an hour and a day (src/guards/forecast.ts).
 */

function under(path: string, root: string | undefined): boolean {
  return root === undefined || path === root || path.startsWith(`${root}/`);
}

/**
 * Which budgets a forecast lists: open ones under `root` (all without it), leaving out spend
 * tokens' envelopes that spent nothing in the last day (there may be thousands).
 */
function listed(budgets: readonly BudgetView[], root: string | undefined, meter: BurnMeter): BudgetView[] {
  return budgets.filter((b) => under(b.path, root) && b.status !== 'closed' && (b.kind !== 'envelope' || b.path === root || meter.spentRecently(b.id)));
}

/**
 * Burn rates and run-out times of every budget (or those under `budget`), soonest to run out first.
 *
 * @example
 * const report = await forecastReport(store, { budget: 'acme' });
 * report.budgets[0].windows[0] // { window: '5m', rate_micros_per_hour: 1_200_000, outlook: 'runs_out', runs_out_at: '…' }
 */
export async function forecastReport(store: Pick<Store, 'ledger' | 'listBudgets' | 'now'>, o: { budget?: string } = {}): Promise<ForecastReport> {
  const nowMs = store.now();
  const budgets = await store.listBudgets();
  const meter = new BurnMeter(budgets, nowMs);
  const longestMs = Math.max(...burnWindows.map((w) => w.ms));
  const sinceMs = nowMs - longestMs + 1;
  const root = o.budget === undefined ? undefined : budgets.find((b) => b.path === o.budget);
  const budget = root ? spendFilter(root) : o.budget;
  // Spend on a reservation's model, tag and provider budgets: their ids are on its reserve
  // entry, made at most a reservation's longest TTL before the spend.
  const held = hasCrossBudgets(budgets) ? await extrasOfReservations(store, { budget, sinceMs: sinceMs - limits.reservationTtlMsMax }, contractLimits.forecastScanEntriesMax) : undefined;
  const stats = await scanNewestFirst(store, { budget, kinds: [...spendKinds], sinceMs }, contractLimits.forecastScanEntriesMax, (e) => {
    meter.add(e, (e.reservationSeq === null ? undefined : held?.get(e.reservationSeq)) ?? []);
    return true;
  });
  // Entries at the oldest time read may be only partly counted; the figures are whole after it.
  const completeSinceMs = stats.truncated && stats.oldestMs !== null ? stats.oldestMs + 1 : null;
  const rows = sortForecast(meter.forecast({ budgets: listed(budgets, o.budget, meter), completeSinceMs }));
  return {
    now: new Date(nowMs).toISOString(),
    windows: burnWindows.map((w) => ({ window: w.name, ms: w.ms })),
    budgets: rows.slice(0, contractLimits.forecastBudgetsMax),
    budgets_omitted: Math.max(0, rows.length - contractLimits.forecastBudgetsMax),
    scanned_entries: stats.scanned_entries,
    scan_limit: contractLimits.forecastScanEntriesMax,
    truncated: stats.truncated,
    complete_since: completeSinceMs === null ? null : new Date(completeSinceMs).toISOString(),
  };
}
