import type { EntryKind, LedgerEntry, ReservationRecord, ReservationStatus } from './types.js';

/** Entry kinds that resolve a reservation, and the status each leaves it in. */
export const resolutionKinds: Partial<Record<EntryKind, ReservationStatus>> = {
  settle: 'settled',
  void: 'voided',
  expire: 'expired',
  expire_charged: 'charged',
  expiry_refund: 'late_settled',
  late_charge: 'late_settled',
};

/**
 * The SQL condition that picks resolving entries: `kind IN ('settle', …)`. The stores' partial
 * index `ledger_resolution` must be declared with exactly this condition.
 */
export const resolutionKindsSql = `kind IN (${Object.keys(resolutionKinds)
  .map((k) => `'${k}'`)
  .join(', ')})`;

/**
 * The same condition as equalities joined by OR: `(kind = 'settle' OR …)`. SQLite evaluates an
 * `IN` list of more than two values by building a temporary table, and it evaluates a partial
 * index's condition on every insert, so its `ledger_resolution` index is declared with this form.
 */
export const resolutionKindsSqlOr = `(${Object.keys(resolutionKinds)
  .map((k) => `kind = '${k}'`)
  .join(' OR ')})`;

/** What one entry does to spend, as usage reports count it. */
export interface SpendEffect {
  /** Added to spend (negative for a refund). */
  micros: number;
  /** Whether the entry stands for one call (a reconciling entry does not count the call again). */
  call: boolean;
  /** Whether its token counts are the call's usage. */
  tokens: boolean;
}

/** Entry kinds that change spend: settlements, late charges, charged expiries and their refunds. */
export const spendKinds: readonly EntryKind[] = ['settle', 'late_charge', 'expire_charged', 'expiry_refund'];

/**
 * How an entry changes spend, or undefined when it does not. An `overrun` entry repeats part of
 * a settlement, so it is not spend of its own.
 *
 * @example
 * spendOf(settleEntry) // { micros: 1200, call: true, tokens: true }
 */
export function spendOf(e: Pick<LedgerEntry, 'kind' | 'amountMicros' | 'data'>): SpendEffect | undefined {
  switch (e.kind) {
    case 'settle':
      return { micros: e.amountMicros, call: true, tokens: true };
    case 'expire_charged':
      return { micros: e.amountMicros, call: true, tokens: false };
    case 'late_charge':
      // After a charged expiry, the call was already counted by the charge.
      return { micros: e.amountMicros, call: !(e.data ?? '').includes('"chargedMicros"'), tokens: true };
    case 'expiry_refund':
      return { micros: -e.amountMicros, call: false, tokens: true };
    default:
      return undefined;
  }
}

interface ReserveData {
  expiresMs?: number;
  onExpiry?: 'charge';
  tool?: string;
  tokenId?: string;
  also?: number[];
}

interface ResolutionData {
  actualMicros?: number;
  voided?: boolean;
}

function statusOf(resolution: LedgerEntry | undefined, data: ResolutionData): ReservationStatus {
  if (!resolution) return 'open';
  if (resolution.kind === 'expiry_refund' && data.voided === true) return 'voided';
  return resolutionKinds[resolution.kind] ?? 'open';
}

/** What the reservation finally cost, as its latest resolving entry says (null: not charged). */
function actualOf(status: ReservationStatus, resolution: LedgerEntry | undefined, data: ResolutionData): number | null {
  if (!resolution || status === 'open' || status === 'voided' || status === 'expired') return null;
  return data.actualMicros ?? resolution.amountMicros;
}

/**
 * Rebuilds a reservation from its `reserve` entry and the latest entry that resolved it (none
 * while it is open). The ledger alone is enough to know every reservation's state.
 *
 * @example
 * reservationFromLedger(reserveEntry, settleEntry).status // 'settled'
 */
export function reservationFromLedger(reserve: LedgerEntry, resolution?: LedgerEntry): ReservationRecord {
  const data = JSON.parse(reserve.data ?? '{}') as ReserveData;
  const labels: ReservationRecord['labels'] = {};
  if (reserve.model !== null) labels.model = reserve.model;
  if (reserve.session !== null) labels.session = reserve.session;
  if (reserve.task !== null) labels.task = reserve.task;
  if (reserve.requestId !== null) labels.requestId = reserve.requestId;
  if (reserve.actor !== null) labels.actor = reserve.actor;
  if (data.tool !== undefined) labels.tool = data.tool;
  if (data.tokenId !== undefined) labels.tokenId = data.tokenId;
  const resolutionData = (resolution?.data && resolution.kind !== 'settle' ? JSON.parse(resolution.data) : {}) as ResolutionData;
  const status = statusOf(resolution, resolutionData);
  const record: ReservationRecord = {
    seq: reserve.seq,
    budgetId: reserve.budgetId,
    amountMicros: reserve.amountMicros,
    status,
    createdMs: reserve.tsMs,
    expiresMs: data.expiresMs ?? reserve.tsMs,
    resolvedMs: resolution ? resolution.tsMs : null,
    actualMicros: actualOf(status, resolution, resolutionData),
    labels,
    onExpiry: data.onExpiry === 'charge' ? 'charge' : 'release',
  };
  if (Array.isArray(data.also) && data.also.length > 0) record.also = data.also;
  return record;
}
