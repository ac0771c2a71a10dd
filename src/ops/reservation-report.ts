import { contractLimits, isoOrNull, type GroupBy, type ReservationReport } from '../contract/index.js';
import { ReservationAccumulator, reservationKinds, withRatios } from '../guards/index.js';
import type { Store } from '../store/index.js';
import type { BudgetIndex } from './budget-index.js';
import { grouper, scanNewestFirst } from './reports.js';

/**
 * Reservation metrics over a store, grouped like usage (by budget, agent, session, model, hour
 * or day) and split by model: what became of the reservations, the reserve-to-settle ratio and
 * the estimate accuracy (src/guards/reservation-metrics.ts).
 */

/**
 * Reads at most `contractLimits.reservationScanEntriesMax` reservation entries (reserve, settle,
 * void, expiries and their reconciliations), newest first, in the range.
 *
 * @example
 * const r = await reservationReport(store, index, { groupBy: 'budget', timezone: 'UTC' });
 * r.rows[0] // { key: 'acme/bot', model: 'gpt-4o', reservations: 12, settled: 10, reserve_to_settle: 1.2, estimate_accuracy: 0.31, … }
 */
export async function reservationReport(store: Pick<Store, 'ledger'>, index: BudgetIndex, o: { groupBy: GroupBy; sinceMs?: number; untilMs?: number; budget?: string; timezone: string }): Promise<ReservationReport> {
  const keyOf = grouper(o.groupBy, index, o.timezone);
  const acc = new ReservationAccumulator((e) => keyOf(e).key);
  const stats = await scanNewestFirst(store, { budget: o.budget, kinds: [...reservationKinds], sinceMs: o.sinceMs, untilMs: o.untilMs }, contractLimits.reservationScanEntriesMax, (e) => {
    acc.add(e);
    return true;
  });
  const completeSinceMs = stats.truncated && stats.oldestMs !== null ? stats.oldestMs + 1 : (o.sinceMs ?? null);
  return {
    rows: acc.rows(),
    other: acc.other === null ? null : withRatios(acc.other),
    totals: withRatios(acc.totals),
    scanned_entries: stats.scanned_entries,
    scan_limit: contractLimits.reservationScanEntriesMax,
    truncated: stats.truncated,
    complete_since: isoOrNull(completeSinceMs),
  };
}
