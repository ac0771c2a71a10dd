import type { z } from 'zod';
import type { Labels, ReservationView } from '../core/index.js';
import { reservationToJson, ReservationParams, SettleBodyAgent, SettleJson, ToolReserveBody, ToolReservedJson, VoidBody, VoidJson } from '../contract/index.js';
import { estimateTool } from '../pricing/tools.js';
import { agentLimits } from './agent-limits.js';
import { actorOf, agentRoute, refusalError, sessionLabels, withinEnvelope, type AgentCall, type AgentDeps } from './agent-route.js';
import type { Caller } from './auth.js';
import { gatewayError, isGatewayError, type GatewayError } from './errors.js';

/**
 * Tool spend with a spend token: reserve what a paid tool may cost (the caller's estimate, or
 * the tool price table), then settle what it cost or void it. A token reaches only reservations
 * on its own envelope or on the envelopes of tokens delegated from it.
 */

type ReserveInput = z.output<typeof ToolReserveBody>;

/** The store's idempotency key: per token, so two agents' keys can never collide. */
function storeKey(caller: Caller, key: string | undefined): string | undefined {
  return key === undefined ? undefined : `${caller.token.id}:${key}`;
}

function reserveLabels({ caller, body, headers }: AgentCall<ReserveInput, unknown>): Labels {
  return { tool: body.tool, tokenId: caller.token.id, actor: actorOf(caller), ...sessionLabels(body.labels, headers) };
}

/** The caller's reservation, or 404 for one that does not exist or lies outside its chain. */
async function ownReservation(deps: AgentDeps, caller: Caller, id: string): Promise<ReservationView | GatewayError> {
  const reservation = await deps.gateway.store.getReservation(id);
  if (!reservation || !withinEnvelope(caller.envelope, reservation.budget)) {
    return gatewayError('unknown_reservation', `no reservation ${id} on token ${caller.token.id} or the tokens delegated from it`, { param: 'id' });
  }
  return reservation;
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
    const estimate = estimateTool(deps.toolPrices, body.tool, body.estimate_micros);
    const result = await deps.gateway.store.reserve({
      path: caller.envelope,
      amountMicros: estimate.costMicros,
      ttlMs: (body.ttl_s ?? agentLimits.reservationTtlSDefault) * 1_000,
      idempotencyKey: storeKey(caller, headers.idempotencyKey),
      labels: reserveLabels(call),
    });
    if (!result.ok) return refusalError(result, { amountMicros: body.estimate_micros === undefined ? 'tool' : 'estimate_micros', ttlMs: 'ttl_s', idempotencyKey: 'idempotency-key', path: 'authorization' });
    return { reservation: reservationToJson(result.reservation), estimate_basis: estimate.basis, remaining_micros: result.remainingMicros, tightest: result.tightest };
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
    const own = await ownReservation(deps, caller, params.id);
    if (isGatewayError(own)) return own;
    const result = await deps.gateway.store.settle({ reservationId: params.id, actualMicros: body.actual_micros, reason: body.reason, actor: actorOf(caller), idempotencyKey: storeKey(caller, headers.idempotencyKey) });
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
    const own = await ownReservation(deps, caller, params.id);
    if (isGatewayError(own)) return own;
    const result = await deps.gateway.store.void({ reservationId: params.id, reason: body?.reason, actor: actorOf(caller), idempotencyKey: storeKey(caller, headers.idempotencyKey) });
    if (!result.ok) return refusalError(result, { reservationId: 'id', idempotencyKey: 'idempotency-key' });
    return { reservation: reservationToJson(result.reservation) };
  },
});

export const agentReservationRoutes = [reserve, settle, voidReservation];
