import { route, type Route } from '../deps.js';
import { adminRoutes, WireError, ok, labelsFromJson, reservationToJson, usageFromJson } from '../../contract/index.js';
import { settle as settleOp, voidReservation as voidReservationOp } from '../../ops/index.js';


/**
 * Reservations for spend that is not an LLM call through the gateway (a paid tool, a search
 * API): reserve the worst case on a budget's whole chain, then settle what it cost or void it.
 */

const reserve = route(adminRoutes.reserve, async ({ body, headers, actor, deps }) => {
  const labels = { ...labelsFromJson(body.labels), actor };
  const reserved = await deps.store.reserve({ path: body.budget, amountMicros: body.amount_micros, ttlMs: body.ttl_ms, idempotencyKey: headers['idempotency-key'], labels, tags: body.tags });
  if (!reserved.ok) {
    const spend = { route: adminRoutes.reserve.path, spendOn: body.budget, model: labels.model, tool: labels.tool, amountMicros: body.amount_micros, requestId: labels.requestId };
    deps.refusals.record({ ...spend, code: reserved.code, message: reserved.message, budget: reserved.budget });
  }
  const result = ok(reserved, { path: 'budget' });
  return { reservation: reservationToJson(result.reservation), remaining_micros: result.remainingMicros, tightest: result.tightest };
});

const getReservation = route(adminRoutes.getReservation, async ({ params, deps }) => {
  const reservation = await deps.store.getReservation(params.id);
  if (!reservation) throw new WireError('unknown_reservation', `no reservation ${params.id}`, { field: 'id' });
  return { reservation: reservationToJson(reservation) };
});

const settle = route(adminRoutes.settle, async ({ params, body, headers, actor, deps }) => {
  const usage = usageFromJson(body.usage);
  const result = ok(await settleOp(deps.store, { reservationId: params.id, actualMicros: body.actual_micros, usage, reason: body.reason, actor, idempotencyKey: headers['idempotency-key'] }), { reservationId: 'id' });
  return { reservation: reservationToJson(result.reservation), overrun_micros: result.overrunMicros, late_charge: result.lateCharge };
});

const voidReservation = route(adminRoutes.voidReservation, async ({ params, body, headers, actor, deps }) => {
  const result = ok(await voidReservationOp(deps.store, { reservationId: params.id, reason: body?.reason, actor, idempotencyKey: headers['idempotency-key'] }), { reservationId: 'id' });
  return { reservation: reservationToJson(result.reservation) };
});

export const reservationRoutes: Route[] = [reserve, getReservation, settle, voidReservation];
