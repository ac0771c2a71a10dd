import { z } from 'zod';
import { route, type Route } from '../deps.js';
import { WireError, ok, labelsFromJson, reservationToJson, usageFromJson, ReasonBody, ReservationJson, ReservationParams, ReserveBody, SettleBody, WriteHeaders } from '../../contract/index.js';

import { settle as settleOp, voidReservation as voidReservationOp } from '../../ops/index.js';

const tag = 'reservations';
const ReservationResponse = z.object({ reservation: ReservationJson });

/**
 * Reservations for spend that is not an LLM call through the gateway (a paid tool, a search
 * API): reserve the worst case on a budget's whole chain, then settle what it cost or void it.
 */

const reserve = route({
  method: 'POST',
  path: '/api/reservations',
  operationId: 'reserve',
  summary: 'Reserve an amount on a budget and every budget above it',
  description:
    'Admitted only if every level of the chain can take it; refused with budget_exceeded (402) naming the budget and what it has left, or budget_paused, too_many_inflight, request_cost_cap… Released automatically after ttl_ms unless settled or voided.',
  tag,
  access: 'admin',
  body: ReserveBody,
  headers: WriteHeaders,
  response: {
    status: 201,
    description: 'the open reservation',
    schema: z.object({
      reservation: ReservationJson,
      remaining_micros: z.int().nullable().describe('what the tightest budget of the chain can still take'),
      tightest: z.string(),
    }),
  },
  handler: async ({ body, headers, actor, deps }) => {
    const labels = { ...labelsFromJson(body.labels), actor };
    const result = ok(await deps.store.reserve({ path: body.budget, amountMicros: body.amount_micros, ttlMs: body.ttl_ms, idempotencyKey: headers['idempotency-key'], labels }), { path: 'budget' });
    return { reservation: reservationToJson(result.reservation), remaining_micros: result.remainingMicros, tightest: result.tightest };
  },
});

const getReservation = route({
  method: 'GET',
  path: '/api/reservations/{id}',
  operationId: 'getReservation',
  summary: 'Read a reservation',
  tag,
  access: 'viewer',
  params: ReservationParams,
  response: { status: 200, description: 'the reservation', schema: ReservationResponse },
  handler: async ({ params, deps }) => {
    const reservation = await deps.store.getReservation(params.id);
    if (!reservation) throw new WireError('unknown_reservation', `no reservation ${params.id}`, { field: 'id' });
    return { reservation: reservationToJson(reservation) };
  },
});

const settle = route({
  method: 'POST',
  path: '/api/reservations/{id}/settle',
  operationId: 'settle',
  summary: 'Settle a reservation at what it actually cost',
  description: 'Above the reservation the excess is recorded as an overrun; after expiry the cost is still recorded, as a late charge.',
  tag,
  access: 'admin',
  params: ReservationParams,
  body: SettleBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the settled reservation', schema: z.object({ reservation: ReservationJson, overrun_micros: z.int(), late_charge: z.boolean() }) },
  handler: async ({ params, body, headers, actor, deps }) => {
    const usage = usageFromJson(body.usage);
    const result = ok(await settleOp(deps.store, { reservationId: params.id, actualMicros: body.actual_micros, usage, reason: body.reason, actor, idempotencyKey: headers['idempotency-key'] }), { reservationId: 'id' });
    return { reservation: reservationToJson(result.reservation), overrun_micros: result.overrunMicros, late_charge: result.lateCharge };
  },
});

const voidReservation = route({
  method: 'POST',
  path: '/api/reservations/{id}/void',
  operationId: 'voidReservation',
  summary: 'Release a reservation without charging it',
  tag,
  access: 'admin',
  params: ReservationParams,
  body: ReasonBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the voided reservation', schema: ReservationResponse },
  handler: async ({ params, body, headers, actor, deps }) => {
    const result = ok(await voidReservationOp(deps.store, { reservationId: params.id, reason: body?.reason, actor, idempotencyKey: headers['idempotency-key'] }), { reservationId: 'id' });
    return { reservation: reservationToJson(result.reservation) };
  },
});

export const reservationRoutes: Route[] = [reserve, getReservation, settle, voidReservation];
