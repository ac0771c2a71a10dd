import { limits } from '../core/index.js';
import { reservationToJson, ReservationParams, SettleBodyAgent, SettleJson, ToolReserveBody, ToolReservedJson, VoidBody, VoidJson } from '../contract/index.js';
import { reserveTool, settle as settleOp, voidReservation as voidOp } from '../ops/index.js';
import { actorOf, agentRoute, refusalError, sessionLabels } from './agent-route.js';
import type { Caller } from './auth.js';

/**
 * Tool spend with a spend token: reserve what a paid tool may cost (the caller's estimate, or
 * the tool price table), then settle what it cost or void it. A token reaches only reservations
 * on its own envelope or on the envelopes of tokens delegated from it.
 */

/** The store's idempotency key: per token, so two agents' keys can never collide. */
function storeKey(caller: Caller, key: string | undefined): string | undefined {
  return key === undefined ? undefined : `${caller.token.id}:${key}`;
}

const reserve = agentRoute({
  method: 'POST',
  path: '/v1/bursar/reservations',
  operationId: 'reserveTool',
  summary: 'Reserve what a paid tool call may cost, on the calling token\'s whole chain',
  tag: 'tool spend',
  description:
    'Without estimate_micros the tool price table decides (GET /v1/bursar/tools); a tool it does not list is reserved at the standard cost plus 20%. Admitted only if every budget above the token can take it; refused with budget_exceeded (402) naming the budget and what it has left, or request_cost_cap, too_many_inflight, budget_paused… The tool name is recorded as labels.tool; session and task come from the body or the x-bursar-session / x-bursar-task headers.',
  auth: 'token',
  body: ToolReserveBody,
  labelHeaders: true,
  errors: [401, 402, 403, 409, 429],
  response: { status: 201, description: 'the open reservation: settle or void it with its id', schema: ToolReservedJson },
  handler: async (call) => {
    const { caller, body, headers, deps } = call;
    const ttlMs = (body.ttl_s ?? Math.floor(limits.reservationTtlMsDefault / 1_000)) * 1_000;
    const labels = { tokenId: caller.token.id, actor: actorOf(caller), ...sessionLabels(body.labels, headers) };
    const result = await reserveTool(deps.gateway.store, deps.toolPrices, { path: caller.envelope, tool: body.tool, estimateMicros: body.estimate_micros, ttlMs, idempotencyKey: storeKey(caller, headers.idempotencyKey), labels });
    if (!result.ok) return refusalError(result, { amountMicros: body.estimate_micros === undefined ? 'tool' : 'estimate_micros', ttlMs: 'ttl_s', idempotencyKey: 'idempotency-key', path: 'authorization' });
    const r = result.reservation;
    return { reservation: reservationToJson(r.reservation), estimate_basis: result.estimate.basis, remaining_micros: r.remainingMicros, tightest: r.tightest };
  },
});

const settle = agentRoute({
  method: 'POST',
  path: '/v1/bursar/reservations/{id}/settle',
  operationId: 'settleTool',
  summary: 'Settle a tool reservation at what the call actually cost',
  tag: 'tool spend',
  description:
    'Above the reservation the excess is recorded as an overrun; after expiry the cost is still recorded, as a late charge. A token that was revoked or expired since reserving may still settle: the money was spent. Another token\'s reservation answers 404 unknown_reservation.',
  auth: 'token-resolve',
  params: ReservationParams,
  body: SettleBodyAgent,
  labelHeaders: true,
  errors: [401, 404, 409],
  response: { status: 200, description: 'the settled reservation', schema: SettleJson },
  handler: async ({ caller, params, body, headers, deps }) => {
    const result = await settleOp(deps.gateway.store, { within: caller.envelope, reservationId: params.id, actualMicros: body.actual_micros, reason: body.reason, actor: actorOf(caller), idempotencyKey: storeKey(caller, headers.idempotencyKey) });
    if (!result.ok) return refusalError(result, { reservationId: 'id', idempotencyKey: 'idempotency-key' });
    return { reservation: reservationToJson(result.reservation), overrun_micros: result.overrunMicros, late_charge: result.lateCharge };
  },
});

const voidReservation = agentRoute({
  method: 'POST',
  path: '/v1/bursar/reservations/{id}/void',
  operationId: 'voidTool',
  summary: 'Release a tool reservation without charging it (the tool did not run)',
  tag: 'tool spend',
  auth: 'token-resolve',
  params: ReservationParams,
  body: VoidBody,
  labelHeaders: true,
  errors: [401, 404, 409],
  response: { status: 200, description: 'the voided reservation', schema: VoidJson },
  handler: async ({ caller, params, body, headers, deps }) => {
    const result = await voidOp(deps.gateway.store, { within: caller.envelope, reservationId: params.id, reason: body?.reason, actor: actorOf(caller), idempotencyKey: storeKey(caller, headers.idempotencyKey) });
    if (!result.ok) return refusalError(result, { reservationId: 'id', idempotencyKey: 'idempotency-key' });
    return { reservation: reservationToJson(result.reservation) };
  },
});

export const agentReservationRoutes = [reserve, settle, voidReservation];
