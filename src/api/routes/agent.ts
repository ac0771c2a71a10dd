import { agentRoutes, balanceToJson, delegatedToJson, expiryFromJson, reservationToJson, tokenLimitsFromJson, wireErrorOf, type FieldNames } from '../../contract/index.js';
import { limits, type Labels } from '../../core/index.js';
import { balanceOf, delegate, reserveTool, revokeToken, settle, voidReservation, type Caller } from '../../ops/index.js';
import { toolPricesToJson } from '../../pricing/index.js';
import { agentRoute, publicAgentRoute, type AgentRoute } from '../deps.js';

/**
 * The routes an agent calls with its own spend token: what it may still spend, tool spend
 * (reserve what a paid tool may cost, then settle or void it), and delegation (mint and revoke
 * child tokens that can only narrow). A token reaches only what lies at or under its envelope.
 */

/** The store's idempotency key: per token, so two agents' keys can never collide. */
function storeKey(caller: Caller, key: string | undefined): string | undefined {
  return key === undefined ? undefined : `${caller.token.id}:${key}`;
}

/** Session and task labels: the body's `labels` first, else the x-bursar-session / x-bursar-task headers. */
function sessionLabels(labels: { session?: string; task?: string } | undefined, headers: { 'x-bursar-session'?: string; 'x-bursar-task'?: string }): Labels {
  const out: Labels = {};
  const session = labels?.session ?? headers['x-bursar-session'];
  const task = labels?.task ?? headers['x-bursar-task'];
  if (session !== undefined) out.session = session;
  if (task !== undefined) out.task = task;
  return out;
}

/** Throws a refusal with its field named as these routes name it. */
function refused(failure: Parameters<typeof wireErrorOf>[0], fields: FieldNames): never {
  throw wireErrorOf(failure, fields);
}

const resolveFields: FieldNames = { reservationId: 'id', idempotencyKey: 'idempotency-key' };

const balance = agentRoute(agentRoutes.balance, async ({ caller, deps }) => balanceToJson(caller.token, balanceOf(await deps.store.chain(caller.envelope))));

const toolPrices = publicAgentRoute(agentRoutes.toolPrices, async ({ deps }) => toolPricesToJson(deps.toolPrices));

const openapi = publicAgentRoute(agentRoutes.agentOpenApi, async ({ deps }) => deps.openapi());

const reserve = agentRoute(agentRoutes.reserveTool, async ({ caller, body, headers, actor, deps }) => {
  const labels = { tokenId: caller.token.id, actor, ...sessionLabels(body.labels, headers) };
  const result = await reserveTool(deps.store, deps.toolPrices, { path: caller.envelope, tool: body.tool, estimateMicros: body.estimate_micros, ttlMs: body.ttl_ms ?? limits.reservationTtlMsDefault, idempotencyKey: storeKey(caller, headers['idempotency-key']), labels, tags: body.tags });
  if (!result.ok) refused(result, { amountMicros: body.estimate_micros === undefined ? 'tool' : 'estimate_micros', ttlMs: 'ttl_ms', idempotencyKey: 'idempotency-key', path: 'authorization' });
  const r = result.reservation;
  return { reservation: reservationToJson(r.reservation), estimate_basis: result.estimate.basis, remaining_micros: r.remainingMicros, tightest: r.tightest };
});

const settleTool = agentRoute(agentRoutes.settleTool, async ({ caller, params, body, headers, actor, deps }) => {
  const result = await settle(deps.store, { within: caller.envelope, reservationId: params.id, actualMicros: body.actual_micros, reason: body.reason, actor, idempotencyKey: storeKey(caller, headers['idempotency-key']) });
  if (!result.ok) refused(result, resolveFields);
  return { reservation: reservationToJson(result.reservation), overrun_micros: result.overrunMicros, late_charge: result.lateCharge };
});

const voidTool = agentRoute(agentRoutes.voidTool, async ({ caller, params, body, headers, actor, deps }) => {
  const result = await voidReservation(deps.store, { within: caller.envelope, reservationId: params.id, reason: body?.reason, actor, idempotencyKey: storeKey(caller, headers['idempotency-key']) });
  if (!result.ok) refused(result, resolveFields);
  return { reservation: reservationToJson(result.reservation) };
});

const delegateToken = agentRoute(agentRoutes.delegateToken, async ({ caller, body, headers, actor, deps, reply }) => {
  const nowMs = deps.now();
  const input = { ...tokenLimitsFromJson(body), limitMicros: body.max_spend_micros, expiresMs: expiryFromJson(body, nowMs), delegate: body.delegate, labels: sessionLabels(body.labels, headers), actor, reason: body.reason };
  const result = await delegate(deps.store, deps.random, { token: caller.token }, input, nowMs);
  if (!result.ok) refused(result, { limitMicros: 'max_spend_micros', expiresMs: body.expires_at !== undefined ? 'expires_at' : 'expires_in_ms', scopes: 'delegate', parentTokenId: 'authorization' });
  void reply.header('cache-control', 'no-store');
  return delegatedToJson(result, result.secret);
});

const revokeDelegated = agentRoute(agentRoutes.revokeDelegatedToken, async ({ caller, params, body, actor, deps }) => {
  const result = await revokeToken(deps.store, { tokenId: params.id, within: caller.envelope, actor, reason: body?.reason });
  if (!result.ok) refused(result, { tokenId: 'id' });
  return { revoked: result.revoked };
});

/** Every agent route, in the order the OpenAPI document lists them. */
export const agentApiRoutes: readonly AgentRoute[] = [balance, toolPrices, reserve, settleTool, voidTool, delegateToken, revokeDelegated, openapi];
