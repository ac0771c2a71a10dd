import { z } from 'zod';
import { DelegateBody, DelegatedJson, RevokedJson, AgentHeaders, BalanceJson, SettleBodyAgent, SettleJson, ToolPricesJson, ToolReserveBody, ToolReservedJson, VoidBody, VoidJson } from './agent-schemas.js';
import { documentSpec, routeSpec } from './route.js';
import { ReservationParams, TokenParams } from './schemas.js';

/**
 * The routes an agent calls with its own spend token besides the provider-compatible ones
 * (`/v1/bursar/…`), declared once: the server binds its handlers to these, the OpenAPI document
 * at `/v1/bursar/openapi.json` is generated from them, and the SDK's remote mode calls them.
 */

const balance = routeSpec({
  method: 'GET',
  path: '/v1/bursar/balance',
  operationId: 'balance',
  summary: 'What the calling token may still spend, on every level of its chain',
  tag: 'balance',
  access: 'token',
  errors: [401],
  response: { status: 200, description: 'the chain, leaf first, and its tightest level', schema: BalanceJson },
});

const toolPrices = routeSpec({
  method: 'GET',
  path: '/v1/bursar/tools',
  operationId: 'toolPrices',
  summary: 'The tool price table reservations are estimated with (public: prices are no secret)',
  tag: 'tool spend',
  access: 'public',
  response: { status: 200, description: 'price of one call of each tool, in micros, and the unknown-tool rule', schema: ToolPricesJson },
});

const agentOpenApi = documentSpec({ path: '/v1/bursar/openapi.json', operationId: 'agentOpenApi', summary: 'This document', tag: 'meta', answer: 'the OpenAPI 3.1 document of the agent routes' });

const reserveTool = routeSpec({
  method: 'POST',
  path: '/v1/bursar/reservations',
  operationId: 'reserveTool',
  summary: 'Reserve what a paid tool call may cost, on the calling token\'s whole chain',
  tag: 'tool spend',
  description:
    'Without estimate_micros the tool price table decides (GET /v1/bursar/tools); a tool it does not list is reserved at the standard cost plus 20%. Admitted only if every budget above the token can take it; refused with budget_exceeded (402) naming the budget and what it has left, or request_cost_cap, too_many_inflight, budget_paused… The tool name is recorded as labels.tool; session and task come from the body or the x-bursar-session / x-bursar-task headers.',
  access: 'token',
  body: ToolReserveBody,
  headers: AgentHeaders,
  errors: [401, 402, 403, 409, 429],
  response: { status: 201, description: 'the open reservation: settle or void it with its id', schema: ToolReservedJson },
});

/** A route that resolves one of the calling token's reservations (settle or void it). */
function resolveSpec<B extends z.ZodType, R extends z.ZodType>(action: 'settle' | 'void', o: { summary: string; description?: string; body: B; schema: R; answer: string }) {
  return routeSpec({
    method: 'POST',
    path: `/v1/bursar/reservations/{id}/${action}`,
    operationId: `${action}Tool`,
    summary: o.summary,
    ...(o.description === undefined ? {} : { description: o.description }),
    tag: 'tool spend',
    access: 'token-resolve',
    params: ReservationParams,
    body: o.body,
    headers: AgentHeaders,
    errors: [401, 404, 409],
    response: { status: 200, description: o.answer, schema: o.schema },
  });
}

const settleTool = resolveSpec('settle', {
  summary: 'Settle a tool reservation at what the call actually cost',
  description:
    'Above the reservation the excess is recorded as an overrun; after expiry the cost is still recorded, as a late charge. A token that was revoked or expired since reserving may still settle: the money was spent. Another token\'s reservation answers 404 unknown_reservation.',
  body: SettleBodyAgent,
  schema: SettleJson,
  answer: 'the settled reservation',
});

const voidTool = resolveSpec('void', { summary: 'Release a tool reservation without charging it (the tool did not run)', body: VoidBody, schema: VoidJson, answer: 'the voided reservation' });

const delegateToken = routeSpec({
  method: 'POST',
  path: '/v1/bursar/tokens',
  operationId: 'delegateToken',
  summary: 'Mint a child token from the calling token (it needs the delegate scope)',
  tag: 'delegation',
  description:
    'The child\'s envelope budget nests in the caller\'s, so its spend counts on every ancestor. It can only narrow: max spend at most what the caller\'s chain has left, expiry no later than the caller\'s (default: the same), models a subset, per-request cap and in-flight limit at most the caller\'s. Anything wider is refused with policy_widens (403) naming the field. The secret is in this response only.',
  access: 'token',
  body: DelegateBody,
  headers: AgentHeaders,
  errors: [401, 403],
  response: { status: 201, description: 'the child token and its secret (shown once)', schema: DelegatedJson },
});

const revokeDelegatedToken = routeSpec({
  method: 'POST',
  path: '/v1/bursar/tokens/{id}/revoke',
  operationId: 'revokeDelegatedToken',
  summary: 'Revoke a token delegated from the calling token (and everything delegated from it)',
  tag: 'delegation',
  description:
    'A token may revoke itself and the tokens delegated from it, at any depth; their envelopes close. Any other token (an ancestor, a sibling, another agent\'s) answers 404 unknown_token, as an id that does not exist does.',
  access: 'token',
  params: TokenParams,
  body: VoidBody,
  errors: [401, 404],
  response: { status: 200, description: 'ids of the tokens revoked', schema: RevokedJson },
});

/**
 * Every agent route, in the order the OpenAPI document lists them.
 *
 * @example
 * urlOf(agentRoutes.settleTool, { id: 'rsv_17' }) // '/v1/bursar/reservations/rsv_17/settle'
 */
export const agentRoutes = {
  balance,
  toolPrices,
  reserveTool,
  settleTool,
  voidTool,
  delegateToken,
  revokeDelegatedToken,
  agentOpenApi,
};
