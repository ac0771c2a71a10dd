import type { EntryKind, LedgerEntry, ReservationRecord, ReservationStatus } from './types.js';

/** Entry kinds that resolve a reservation, and the status each leaves it in. */
export const resolutionKinds: Partial<Record<EntryKind, ReservationStatus>> = {
  settle: 'settled',
  void: 'voided',
  expire: 'expired',
  late_charge: 'late_settled',
};

/**
 * Rebuilds a reservation from its `reserve` entry and the latest entry that resolved it (none
 * while it is open). The ledger alone is enough to know every reservation's state.
 *
 * @example
 * reservationFromLedger(reserveEntry, settleEntry).status // 'settled'
 */
export function reservationFromLedger(reserve: LedgerEntry, resolution?: LedgerEntry): ReservationRecord {
  const data = JSON.parse(reserve.data ?? '{}') as { expiresMs?: number; tool?: string; tokenId?: string };
  const labels: ReservationRecord['labels'] = {};
  if (reserve.model !== null) labels.model = reserve.model;
  if (reserve.session !== null) labels.session = reserve.session;
  if (reserve.task !== null) labels.task = reserve.task;
  if (reserve.requestId !== null) labels.requestId = reserve.requestId;
  if (reserve.actor !== null) labels.actor = reserve.actor;
  if (data.tool !== undefined) labels.tool = data.tool;
  if (data.tokenId !== undefined) labels.tokenId = data.tokenId;
  const status = resolution ? (resolutionKinds[resolution.kind] ?? 'open') : 'open';
  const charged = status === 'settled' || status === 'late_settled';
  return {
    seq: reserve.seq,
    budgetId: reserve.budgetId,
    amountMicros: reserve.amountMicros,
    status,
    createdMs: reserve.tsMs,
    expiresMs: data.expiresMs ?? reserve.tsMs,
    resolvedMs: resolution ? resolution.tsMs : null,
    actualMicros: charged && resolution ? resolution.amountMicros : null,
    labels,
  };
}
