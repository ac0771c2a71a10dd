import { agentRoutes, balanceToJson, delegatedToJson, delegationFromJson, reservationToJson, settledToJson, toolReservedToJson, wireErrorOf, type FieldNames } from '../../contract/index.js';
import type { Labels } from '../../core/index.js';
import { balanceAt, balanceOf, delegate, reserveToolAs, revokeToken, settle, tokenScopedKey, voidReservation, type Caller, type RefusalNotice } from '../../ops/index.js';
import { estimateTool, toolPricesToJson } from '../../pricing/index.js';
import { agentRoute, publicAgentRoute, type AgentDeps, type AgentRoute } from '../deps.js';

/**
 * The routes an agent calls with its own spend token: what it may still spend, tool spend
 * (reserve what a paid tool may cost, then settle or void it), and delegation (mint and revoke
 * child tokens that can only narrow). A token reaches only what lies at or under its envelope.
 */

/** Session and task labels: the body's `labels` first, else the x-bursar-session / x-bursar-task headers. */
function sessionLabels(labels: { session?: string; task?: string } | undefined, headers: { 'x-bursar-session'?: string; 'x-bursar-task'?: string }): Labels {
  const out: Labels = {};
  const session = labels?.session ?? headers['x-bursar-session'];
  const task = labels?.task ?? headers['x-bursar-task'];
  if (session !== undefined) out.session = session;
  if (task !== undefined) out.task = task;
  return out;
}

/** What a refusal of an agent route is recorded with besides the refusal itself. */
type RefusedSpend = Pick<RefusalNotice, 'route' | 'tool' | 'amountMicros'> & { caller: Caller; deps: AgentDeps };

/** Records a refusal (the recorder keeps only refused spend) and throws it, its field named as these routes name it. */
function refused(failure: Parameters<typeof wireErrorOf>[0], fields: FieldNames, spend: RefusedSpend): never {
  const { caller, deps, ...where } = spend;
  deps.refusals.record({ ...where, code: failure.code, message: failure.message, budget: failure.budget, spendOn: caller.envelope, tokenId: caller.token.id });
  throw wireErrorOf(failure, fields);
}

const resolveFields: FieldNames = { reservationId: 'id', idempotencyKey: 'idempotency-key' };

const balance = agentRoute(agentRoutes.balance, async ({ caller, deps }) => balanceToJson(caller.token, (await balanceAt(deps.store, caller.envelope)) ?? balanceOf([])));

const toolPrices = publicAgentRoute(agentRoutes.toolPrices, async ({ deps }) => toolPricesToJson(deps.toolPrices));

const openapi = publicAgentRoute(agentRoutes.agentOpenApi, async ({ deps }) => deps.openapi());

const reserve = agentRoute(agentRoutes.reserveTool, async ({ caller, body, headers, actor, deps }) => {
  const result = await reserveToolAs(deps.store, deps.toolPrices, caller, { tool: body.tool, estimateMicros: body.estimate_micros, params: body.params, tags: body.tags, ttlMs: body.ttl_ms, idempotencyKey: headers['idempotency-key'], labels: sessionLabels(body.labels, headers), actor });
  if (!result.ok) {
    const spend = { caller, deps, route: agentRoutes.reserveTool.path, tool: body.tool, amountMicros: estimateTool(deps.toolPrices, body.tool, body.estimate_micros).costMicros };
    refused(result, { amountMicros: body.estimate_micros === undefined ? 'tool' : 'estimate_micros', ttlMs: 'ttl_ms', idempotencyKey: 'idempotency-key', path: 'authorization' }, spend);
  }
  return toolReservedToJson(result);
});

const settleTool = agentRoute(agentRoutes.settleTool, async ({ caller, params, body, headers, actor, deps }) => {
  const result = await settle(deps.store, { within: caller.envelope, reservationId: params.id, actualMicros: body.actual_micros, reason: body.reason, actor, idempotencyKey: tokenScopedKey(caller, headers['idempotency-key']) });
  if (!result.ok) refused(result, resolveFields, { caller, deps, route: agentRoutes.settleTool.path });
  return settledToJson(result);
});

const voidTool = agentRoute(agentRoutes.voidTool, async ({ caller, params, body, headers, actor, deps }) => {
  const result = await voidReservation(deps.store, { within: caller.envelope, reservationId: params.id, reason: body?.reason, actor, idempotencyKey: tokenScopedKey(caller, headers['idempotency-key']) });
  if (!result.ok) refused(result, resolveFields, { caller, deps, route: agentRoutes.voidTool.path });
  return { reservation: reservationToJson(result.reservation) };
});

const delegateToken = agentRoute(agentRoutes.delegateToken, async ({ caller, body, headers, actor, deps, reply }) => {
  const nowMs = deps.now();
  const input = { ...delegationFromJson(body, nowMs), labels: sessionLabels(body.labels, headers), actor };
  const result = await delegate(deps.store, deps.random, { token: caller.token }, input, nowMs);
  const spend = { caller, deps, route: agentRoutes.delegateToken.path, amountMicros: body.max_spend_micros };
  if (!result.ok) refused(result, { limitMicros: 'max_spend_micros', expiresMs: body.expires_at !== undefined ? 'expires_at' : 'expires_in_ms', scopes: 'delegate', parentTokenId: 'authorization' }, spend);
  void reply.header('cache-control', 'no-store');
  return delegatedToJson(result, result.secret);
});

const revokeDelegated = agentRoute(agentRoutes.revokeDelegatedToken, async ({ caller, params, body, actor, deps }) => {
  const result = await revokeToken(deps.store, { tokenId: params.id, within: caller.envelope, actor, reason: body?.reason });
  if (!result.ok) refused(result, { tokenId: 'id' }, { caller, deps, route: agentRoutes.revokeDelegatedToken.path });
  return { revoked: result.revoked };
});

/** Every agent route, in the order the OpenAPI document lists them. */
export const agentApiRoutes: readonly AgentRoute[] = [balance, toolPrices, reserve, settleTool, voidTool, delegateToken, revokeDelegated, openapi];
