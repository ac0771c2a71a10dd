import type { Entry, Reservation } from './api.js';

/**
 * A page of ledger entries as lines: every entry of one reservation (reserve, then settle,
 * void, expire, late charge, overrun) folded into one line, other entries one line each.
 */

export interface EntryLine {
  kind: 'entry';
  key: string;
  entry: Entry;
}

export interface ReservationLine {
  kind: 'reservation';
  key: string;
  /** The reservation's sequence number (its id is `rsv_<seq>`). */
  seq: number;
  /** The reserve entry, when it is on the page. */
  reserve: Entry | undefined;
  /** Its other entries on the page, oldest first. */
  outcomes: Entry[];
  /** The reservation as the API reads it, when the page lacked part of its life. */
  looked: Reservation | undefined;
}

export type Line = EntryLine | ReservationLine;

const reservationKinds = new Set(['reserve', 'settle', 'void', 'expire', 'expire_charged', 'expiry_refund', 'late_charge', 'overrun']);

/**
 * Folds a page's entries into lines, keeping the page's order by each line's first entry.
 *
 * @example
 * fold([settle17, reserve17, grant]) // [{ kind: 'reservation', seq: 17, … }, { kind: 'entry', … }]
 */
export function fold(entries: readonly Entry[]): Line[] {
  const lines: Line[] = [];
  const bySeq = new Map<number, ReservationLine>();
  for (const e of entries) {
    const seq = e.kind === 'reserve' ? e.seq : reservationKinds.has(e.kind) ? e.reservation_seq : null;
    if (seq === null) {
      lines.push({ kind: 'entry', key: `e${e.seq}`, entry: e });
      continue;
    }
    let line = bySeq.get(seq);
    if (!line) {
      line = { kind: 'reservation', key: `r${seq}`, seq, reserve: undefined, outcomes: [], looked: undefined };
      bySeq.set(seq, line);
      lines.push(line);
    }
    if (e.kind === 'reserve') line.reserve = e;
    else line.outcomes.push(e);
  }
  for (const line of bySeq.values()) line.outcomes.sort((a, b) => a.seq - b.seq);
  return lines;
}

/** True when the page holds the reservation's whole life: its reserve and its resolution. */
export function complete(line: ReservationLine): boolean {
  return line.reserve !== undefined && line.outcomes.some((e) => e.kind === 'settle' || e.kind === 'void' || e.kind === 'expire' || e.kind === 'expire_charged');
}

export type LifeStatus = 'open' | 'settled' | 'voided' | 'expired' | 'charged' | 'late_settled';

/**
 * The reservation's status from what the line knows: its entries, else the looked-up record.
 *
 * @example
 * lifeStatus(line) // 'settled'
 */
export function lifeStatus(line: ReservationLine): LifeStatus {
  const kinds = new Set(line.outcomes.map((e) => e.kind));
  // A void after a charged expiry is written as a refund marked voided; the record knows which.
  if (kinds.has('expiry_refund')) return line.looked?.status === 'voided' ? 'voided' : 'late_settled';
  if (kinds.has('late_charge')) return 'late_settled';
  if (kinds.has('settle')) return 'settled';
  if (kinds.has('void')) return 'voided';
  if (kinds.has('expire')) return line.looked?.status === 'late_settled' ? 'late_settled' : 'expired';
  if (kinds.has('expire_charged')) return line.looked?.status === 'late_settled' || line.looked?.status === 'voided' ? line.looked.status : 'charged';
  return line.looked?.status ?? 'open';
}

/** The first entry of the line with a label (model, session…) set, for the line's columns. */
export function labelOf(line: ReservationLine, field: 'model' | 'session' | 'task' | 'actor' | 'budget'): string | null {
  for (const e of [line.reserve, ...line.outcomes]) if (e && e[field]) return e[field];
  if (!line.looked) return null;
  return field === 'budget' ? line.looked.budget : (line.looked.labels[field] ?? null);
}
