import { draft, json } from './chain.js';
import { alertThresholdsPctDefault } from './policy.js';
import type { Tx } from './tx.js';
import type { BudgetRecord, LedgerEntry } from './types.js';

/**
 * Threshold alerts: when a budget's spent, or its spent + reserved ("committed"), reaches a
 * percentage of its limit (plus grants) for the first time in a period, an `alert` entry is
 * written. The highest threshold raised on each basis is part of the budget's state, so each
 * alert fires once per budget, basis and period, whatever process writes.
 */

export type AlertBasis = 'spent' | 'committed';

const beyondAnyThreshold = Number.MAX_SAFE_INTEGER;
const safeForTimes100 = Math.floor(Number.MAX_SAFE_INTEGER / 100);

/**
 * `floor(100 * value / cap)` in integers: how many whole percent of `cap` `value` is. A cap of
 * zero (or less) is exceeded by any spend at all.
 *
 * @example
 * percentOf(1_499_999, 2_000_000) // 74
 */
export function percentOf(value: number, cap: number): number {
  if (value <= 0) return 0;
  if (cap <= 0) return beyondAnyThreshold;
  if (value > safeForTimes100) return Number((BigInt(value) * BigInt(100)) / BigInt(cap));
  const scaled = value * 100;
  const q = Math.floor(scaled / cap);
  // A quotient rounded up to a whole number is one too many.
  return q * cap > scaled ? q - 1 : q;
}

/** The thresholds that apply to `chain[at]`: its own, else the nearest ancestor's, else the default. */
export function thresholdsAt(chain: readonly BudgetRecord[], at: number): readonly number[] {
  for (let i = at; i < chain.length; i += 1) {
    const own = chain[i]?.policy.alertThresholdsPct;
    if (own) return own;
  }
  return alertThresholdsPctDefault;
}

/** The lowest threshold above `fired` and at most `pct`, or 0 when none is. */
function nextThreshold(thresholds: readonly number[], fired: number, pct: number): number {
  let next = 0;
  for (const t of thresholds) if (t > fired && t <= pct && (next === 0 || t < next)) next = t;
  return next;
}

function raise(tx: Tx, b: BudgetRecord, basis: AlertBasis, thresholds: readonly number[], pct: number): void {
  const value = basis === 'spent' ? b.spentMicros : b.spentMicros + b.reservedMicros;
  let fired = basis === 'spent' ? b.alertSpentPct : b.alertCommittedPct;
  for (let t = nextThreshold(thresholds, fired, pct); t !== 0; t = nextThreshold(thresholds, fired, pct)) {
    tx.append(
      draft(tx, 'alert', b.id, value, {
        reason: `${basis === 'spent' ? 'spent' : 'spent + reserved'} reached ${t}% of the limit`,
        data: json({ thresholdPct: t, basis, limitMicros: b.limitMicros, grantedMicros: b.grantedMicros, spentMicros: b.spentMicros, reservedMicros: b.reservedMicros, periodStartMs: b.periodStartMs }),
      }),
    );
    fired = t;
  }
  if (basis === 'spent') b.alertSpentPct = fired;
  else b.alertCommittedPct = fired;
  tx.budgetChanged(b);
}

/**
 * Raises every alert a chain's balances have reached and not yet raised this period, lowest
 * threshold first. Costs a few integer operations per budget when nothing crosses.
 */
export function raiseAlerts(tx: Tx, chain: readonly BudgetRecord[]): void {
  for (let i = 0; i < chain.length; i += 1) {
    const b = chain[i];
    if (!b || b.limitMicros === null || (b.periodEndMs !== null && tx.nowMs >= b.periodEndMs)) continue;
    const cap = b.limitMicros + b.grantedMicros;
    const spentPct = percentOf(b.spentMicros, cap);
    const committedPct = percentOf(b.spentMicros + b.reservedMicros, cap);
    if (spentPct <= b.alertSpentPct && committedPct <= b.alertCommittedPct) continue;
    const thresholds = thresholdsAt(chain, i);
    if (nextThreshold(thresholds, b.alertSpentPct, spentPct) !== 0) raise(tx, b, 'spent', thresholds, spentPct);
    if (nextThreshold(thresholds, b.alertCommittedPct, committedPct) !== 0) raise(tx, b, 'committed', thresholds, committedPct);
  }
}

/** An alert as readers see it: what crossed, which threshold, and the balances at that moment. */
export interface AlertView {
  seq: number;
  tsMs: number;
  budgetId: number;
  thresholdPct: number;
  basis: AlertBasis;
  /** The value that reached the threshold: spent, or spent + reserved. */
  valueMicros: number;
  limitMicros: number;
  grantedMicros: number;
  spentMicros: number;
  reservedMicros: number;
  periodStartMs: number;
}

/**
 * The alert an `alert` ledger entry records, or undefined for any other entry.
 *
 * @example
 * alertOf(entry)?.thresholdPct // 75
 */
export function alertOf(e: LedgerEntry): AlertView | undefined {
  if (e.kind !== 'alert' || e.data === null) return undefined;
  const d = JSON.parse(e.data) as Partial<Record<keyof AlertView, unknown>> & { basis?: unknown };
  return {
    seq: e.seq,
    tsMs: e.tsMs,
    budgetId: e.budgetId,
    thresholdPct: Number(d.thresholdPct),
    basis: d.basis === 'spent' ? 'spent' : 'committed',
    valueMicros: e.amountMicros,
    limitMicros: Number(d.limitMicros),
    grantedMicros: Number(d.grantedMicros),
    spentMicros: Number(d.spentMicros),
    reservedMicros: Number(d.reservedMicros),
    periodStartMs: Number(d.periodStartMs),
  };
}
