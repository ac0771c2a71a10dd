import { contractLimits, type ReservationRow, type ReservationStats } from '../contract/index.js';
import type { LedgerEntry } from '../core/index.js';

/**
 * What became of reservations, from the ledger: how many were made, how many ended in a
 * settlement (the call's cost arrived), were voided, or expired; the reserve-to-settle ratio
 * (reservations per settlement: well above 1 means retries or abandoned calls) and the estimate
 * accuracy (actual cost over what was reserved for the settled ones: how tight the worst-case
 * estimates are). Entries are counted where they fall in the range read, so a reservation made
 * before it and settled inside it counts only its settlement.
 */

/** Entry kinds that tell what became of a reservation. */
export const reservationKinds = ['reserve', 'settle', 'void', 'expire', 'expire_charged', 'late_charge', 'expiry_refund'] as const;

/**
 * Zero stats.
 *
 * @example
 * emptyReservationStats().reservations // 0
 */
export function emptyReservationStats(): ReservationStats {
  return { reservations: 0, reserved_micros: 0, settled: 0, voided: 0, expired: 0, charged: 0, settled_reserved_micros: 0, settled_actual_micros: 0, reserve_to_settle: null, estimate_accuracy: null };
}

interface EntryFacts {
  reservedMicros?: number;
  actualMicros?: number;
  chargedMicros?: number;
  voided?: boolean;
}

/** The facts an entry's data carries; an entry without them (or unreadable ones) has none. */
function factsOf(e: Pick<LedgerEntry, 'data'>): EntryFacts {
  if (e.data === null) return {};
  try {
    const value: unknown = JSON.parse(e.data);
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}

function settled(s: ReservationStats, reservedMicros: number, actualMicros: number): void {
  s.settled += 1;
  s.settled_reserved_micros += reservedMicros;
  s.settled_actual_micros += actualMicros;
}

/**
 * Counts one entry into stats; kinds that say nothing about a reservation's fate change nothing.
 *
 * @example
 * addReservationEntry(stats, settleEntry) // settled + 1, with its reserved and actual amounts
 */
export function addReservationEntry(s: ReservationStats, e: Pick<LedgerEntry, 'kind' | 'amountMicros' | 'data'>): void {
  switch (e.kind) {
    case 'reserve':
      s.reservations += 1;
      s.reserved_micros += e.amountMicros;
      return;
    case 'settle':
      return settled(s, factsOf(e).reservedMicros ?? e.amountMicros, e.amountMicros);
    case 'void':
      s.voided += 1;
      return;
    case 'expire':
      s.expired += 1;
      return;
    case 'expire_charged':
      s.charged += 1;
      return;
    case 'late_charge':
    case 'expiry_refund':
      return lateResolution(s, e);
    default:
      return;
  }
}

/** A settlement or void that arrived after the reservation's TTL. */
function lateResolution(s: ReservationStats, e: Pick<LedgerEntry, 'kind' | 'amountMicros' | 'data'>): void {
  const f = factsOf(e);
  if (f.voided === true) {
    s.voided += 1;
    return;
  }
  // After a released expiry the late charge is the whole cost; after a charged one the entry
  // carries the actual cost and the charge, which was the reservation.
  if (f.chargedMicros !== undefined) settled(s, f.chargedMicros, f.actualMicros ?? f.chargedMicros);
  else settled(s, f.reservedMicros ?? e.amountMicros, e.amountMicros);
}

/** A ratio to 3 decimals, or null without a denominator. */
function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : Math.round((numerator / denominator) * 1000) / 1000;
}

/**
 * The stats with their two ratios filled in.
 *
 * @example
 * withRatios({ ...stats, reservations: 12, settled: 10 }).reserve_to_settle // 1.2
 */
export function withRatios<T extends ReservationStats>(s: T): T {
  return { ...s, reserve_to_settle: ratio(s.reservations, s.settled), estimate_accuracy: ratio(s.settled_actual_micros, s.settled_reserved_micros) };
}

/**
 * Reservation stats per group and model. At most `contractLimits.reservationRowsMax` rows are kept;
 * entries of further rows are summed in `other`.
 *
 * @example
 * const acc = new ReservationAccumulator((e) => index.pathOf(e.budgetId));
 * for (const e of entries) acc.add(e);
 * acc.rows() // [{ key: 'acme/bot', model: 'gpt-4o', reservations: 12, settled: 10, reserve_to_settle: 1.2, … }]
 */
export class ReservationAccumulator {
  private readonly groups = new Map<string, ReservationRow>();
  readonly totals = emptyReservationStats();
  other: ReservationStats | null = null;

  constructor(private readonly keyOf: (e: LedgerEntry) => string | null) {}

  add(e: LedgerEntry): void {
    const key = this.keyOf(e);
    const id = JSON.stringify([key, e.model]);
    let row = this.groups.get(id);
    if (!row && this.groups.size < contractLimits.reservationRowsMax) {
      row = { key, model: e.model, ...emptyReservationStats() };
      this.groups.set(id, row);
    }
    if (row) addReservationEntry(row, e);
    else addReservationEntry((this.other ??= emptyReservationStats()), e);
    addReservationEntry(this.totals, e);
  }

  /** Rows by reservations made, most first, then by key and model. */
  rows(): ReservationRow[] {
    const name = (r: ReservationRow) => `${r.key ?? '\uffff'}\u0000${r.model ?? '\uffff'}`;
    return [...this.groups.values()].map((r) => withRatios(r)).sort((a, b) => b.reservations - a.reservations || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  }
}
