import { limits, type Labels, type ReserveOk, type SettleOk, type VoidOk } from '../core/index.js';
import { failure, type Failure } from '../contract/index.js';
import { estimateTool, type ToolEstimate, type ToolPrices } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import { withinEnvelope } from './chain.js';
import { toolFingerprint } from './fingerprint.js';
import { tokenScopedKey, type Caller } from './tokens.js';

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
  /** The tool's input: with it, the same tool called with the same params counts toward loop detection. */
  params?: Record<string, unknown>;
  ttlMs?: number;
  idempotencyKey?: string;
  /** Labels besides `tool`, which is recorded from `tool`. */
  labels?: Labels;
  /** The spend's tags: it also reserves on the budgets of those tags. */
  tags?: string[];
}

/**
 * Reserves what one tool call may cost: `estimateMicros`, else the table's price, else the
 * unknown-tool rule. The tool name is recorded as `labels.tool`; with params, the call carries
 * the tool's fingerprint for loop detection.
 *
 * @example
 * const r = await reserveTool(store, prices, { path: 'acme/bot', tool: 'WebFetch' });
 * if (r.ok) console.log(r.reservation.reservation.id, r.estimate.basis);
 */
export async function reserveTool(store: Pick<Store, 'reserve'>, prices: ToolPrices, input: ToolReserve): Promise<{ ok: true; reservation: ReserveOk; estimate: ToolEstimate } | Failure> {
  const estimate = estimateTool(prices, input.tool, input.estimateMicros);
  const fingerprint = toolFingerprint(input.tool, input.params);
  const reservation = await store.reserve({ path: input.path, amountMicros: estimate.costMicros, ttlMs: input.ttlMs, idempotencyKey: input.idempotencyKey, labels: { ...input.labels, tool: input.tool }, tags: input.tags, fingerprint });
  return reservation.ok ? { ok: true, reservation, estimate } : reservation;
}

/** A tool call a spend token reserves for: on its envelope, labelled with it, its idempotency key scoped to it. */
export interface TokenToolReserve {
  tool: string;
  estimateMicros?: number;
  /** The tool's input, for loop detection. */
  params?: Record<string, unknown>;
  /** The spend's tags: it also reserves on the budgets of those tags. */
  tags?: string[];
  /** Default `limits.reservationTtlMsDefault`. */
  ttlMs?: number;
  /** The key as the token sent it. */
  idempotencyKey?: string;
  /** Session and task. */
  labels?: Pick<Labels, 'session' | 'task'>;
  actor: string;
}

/**
 * Reserves for a tool call a spend token makes, as every agent door does: on the token's
 * envelope, labelled with the token, the actor and the call's session and task.
 *
 * @example
 * const r = await reserveToolAs(store, prices, caller, { tool: 'search', actor: `token:${caller.token.id}` });
 */
export async function reserveToolAs(store: Pick<Store, 'reserve'>, prices: ToolPrices, caller: Caller, input: TokenToolReserve): ReturnType<typeof reserveTool> {
  const labels = { tokenId: caller.token.id, actor: input.actor, ...input.labels };
  return reserveTool(store, prices, { path: caller.envelope, tool: input.tool, estimateMicros: input.estimateMicros, params: input.params, ttlMs: input.ttlMs ?? limits.reservationTtlMsDefault, idempotencyKey: tokenScopedKey(caller, input.idempotencyKey), labels, tags: input.tags });
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
