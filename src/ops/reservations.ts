import type { Labels, ReserveOk, SettleOk, VoidOk } from '../core/index.js';
import { failure, type Failure } from '../contract/index.js';
import { estimateTool, type ToolEstimate, type ToolPrices } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import { withinEnvelope } from './chain.js';

/**
 * Spend that is not an LLM call (a paid tool, a search API): reserve the worst case on a
 * budget's whole chain, then settle what it cost or void it. A caller limited to a subtree (a
 * token, an SDK client) reaches only the reservations at or under it.
 */

/** A tool call to reserve for: priced from its estimate, else the tool price table. */
export interface ToolReserve {
  path: string;
  tool: string;
  estimateMicros?: number;
  ttlMs?: number;
  idempotencyKey?: string;
  /** Labels besides `tool`, which is recorded from `tool`. */
  labels?: Labels;
  /** The spend's tags: it also reserves on the budgets of those tags. */
  tags?: string[];
}

/**
 * Reserves what one tool call may cost: `estimateMicros`, else the table's price, else the
 * unknown-tool rule. The tool name is recorded as `labels.tool`.
 *
 * @example
 * const r = await reserveTool(store, prices, { path: 'acme/bot', tool: 'WebFetch' });
 * if (r.ok) console.log(r.reservation.reservation.id, r.estimate.basis);
 */
export async function reserveTool(store: Pick<Store, 'reserve'>, prices: ToolPrices, input: ToolReserve): Promise<{ ok: true; reservation: ReserveOk; estimate: ToolEstimate } | Failure> {
  const estimate = estimateTool(prices, input.tool, input.estimateMicros);
  const reservation = await store.reserve({ path: input.path, amountMicros: estimate.costMicros, ttlMs: input.ttlMs, idempotencyKey: input.idempotencyKey, labels: { ...input.labels, tool: input.tool }, tags: input.tags });
  return reservation.ok ? { ok: true, reservation, estimate } : reservation;
}

/** The reservation is the caller's: at or under `within` (when given). */
async function ownership(store: Pick<Store, 'getReservation'>, id: string, within: string | undefined): Promise<Failure | undefined> {
  if (within === undefined) return undefined;
  const found = await store.getReservation(id);
  if (found && withinEnvelope(within, found.budget)) return undefined;
  return failure('unknown_reservation', `no reservation ${id} at or under ${within}`, { field: 'reservationId' });
}

type SettleInput = Parameters<Store['settle']>[0] & { within?: string };
type VoidInput = Parameters<Store['void']>[0] & { within?: string };

/**
 * Settles a reservation at what it actually cost (above the reservation: an overrun; after
 * expiry: a late charge). With `within`, only one of the caller's own.
 *
 * @example
 * await settle(store, { reservationId: 'rsv_17', actualMicros: 7_000, within: caller.envelope });
 */
export async function settle(store: Pick<Store, 'getReservation' | 'settle'>, input: SettleInput): Promise<SettleOk | Failure> {
  const { within, ...rest } = input;
  return (await ownership(store, rest.reservationId, within)) ?? store.settle(rest);
}

/**
 * Releases a reservation without charging it. With `within`, only one of the caller's own.
 *
 * @example
 * await voidReservation(store, { reservationId: 'rsv_18', within: caller.envelope });
 */
export async function voidReservation(store: Pick<Store, 'getReservation' | 'void'>, input: VoidInput): Promise<VoidOk | Failure> {
  const { within, ...rest } = input;
  return (await ownership(store, rest.reservationId, within)) ?? store.void(rest);
}
