import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fastifyPath, validationError } from '../api/registry.js';
import { defaultToolPrices, toolPricesToJson, type ToolPrices } from '../pricing/index.js';
import { StoreUnavailableError } from '../store/index.js';
import { agentLimits } from './agent-limits.js';
import { agentOpenApiDocument } from './agent-openapi.js';
import { callerFor, type AgentDeps, type AgentHeaderValues, type AgentRoute, type AgentRouteDoc } from './agent-route.js';
import { agentReservationRoutes } from './agent-reservations.js';
import { AgentHeaders, BalanceJson, ToolPricesJson } from '../contract/index.js';
import { agentTokenRoutes } from './agent-tokens.js';
import type { Caller } from './auth.js';
import { gatewayError, isGatewayError, type GatewayError } from './errors.js';
import type { Gateway } from './proxy.js';
import { sendError, sendJson } from './respond.js';
import { packageVersion } from '../version.js';

/**
 * The agent routes: what an agent does with its own spend token besides calling a model.
 * Delegation (`POST /v1/bursar/tokens`, `POST /v1/bursar/tokens/{id}/revoke`), tool spend
 * (`POST /v1/bursar/reservations`, `…/{id}/settle`, `…/{id}/void`, `GET /v1/bursar/tools`),
 * and their OpenAPI document (`GET /v1/bursar/openapi.json`). Every answer is JSON; every
 * refusal is in OpenAI's error shape with Bursar's stable code, like the proxy's.
 */

/** Every agent route this module registers, in the order the OpenAPI document lists them. */
export const agentRoutes: readonly AgentRoute[] = [...agentReservationRoutes, ...agentTokenRoutes];

/** `GET /v1/bursar/balance` is served by routes.ts; it is described here for the document. */
const balanceDoc: AgentRouteDoc = {
  method: 'GET',
  path: '/v1/bursar/balance',
  operationId: 'balance',
  summary: 'What the calling token may still spend, on every level of its chain',
  tag: 'balance',
  auth: 'token',
  errors: [401],
  response: { status: 200, description: 'the chain, leaf first, and its tightest level', schema: BalanceJson },
};

const toolsDoc: AgentRouteDoc = {
  method: 'GET',
  path: '/v1/bursar/tools',
  operationId: 'toolPrices',
  summary: 'The tool price table reservations are estimated with (public: prices are no secret)',
  tag: 'tool spend',
  auth: 'public',
  errors: [],
  response: { status: 200, description: 'price of one call of each tool, in micros, and the unknown-tool rule', schema: ToolPricesJson },
};

const openApiDoc: AgentRouteDoc = {
  method: 'GET',
  path: '/v1/bursar/openapi.json',
  operationId: 'agentOpenApi',
  summary: 'This document',
  tag: 'meta',
  auth: 'public',
  errors: [],
  response: { status: 200, description: 'the OpenAPI 3.1 document of the agent routes', schema: z.record(z.string(), z.unknown()) },
};

/**
 * Every route the agent OpenAPI document describes.
 *
 * @example
 * agentRouteDocs.map((r) => `${r.method} ${r.path}`) // ['GET /v1/bursar/balance', 'POST /v1/bursar/reservations', …]
 */
export const agentRouteDocs: readonly AgentRouteDoc[] = [balanceDoc, toolsDoc, ...agentRoutes, openApiDoc];

const noStore = { 'cache-control': 'no-store' };


type Where = 'path parameter' | 'body field' | 'header';

/** A value checked with a schema, or the 400 naming the failing field. */
function check(schema: z.ZodType, value: unknown, where: Where): { value: unknown } | GatewayError {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { value: parsed.data };
  const e = validationError(parsed.error, where, value);
  return gatewayError('bad_request', e.message, { param: e.field });
}

/** The request body: absent, or JSON (the gateway reads bodies as raw bytes). */
function bodyOf(route: AgentRoute, raw: unknown): { value: unknown } | GatewayError {
  if (!route.body) return raw === undefined ? { value: undefined } : gatewayError('bad_request', 'this route takes no request body');
  let json: unknown;
  if (Buffer.isBuffer(raw) && raw.length > 0) {
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return gatewayError('bad_request', 'the request body is not valid JSON');
    }
  }
  return check(route.body, json, 'body field');
}

function headersOf(headers: IncomingHttpHeaders): AgentHeaderValues | GatewayError {
  const picked: Record<string, unknown> = {};
  for (const name of Object.keys(AgentHeaders.shape)) if (headers[name] !== undefined) picked[name] = headers[name];
  const checked = check(AgentHeaders, picked, 'header');
  if (isGatewayError(checked)) return checked;
  const h = checked.value as z.output<typeof AgentHeaders>;
  return { session: h['x-bursar-session'], task: h['x-bursar-task'], idempotencyKey: h['idempotency-key'] };
}

/** Authenticates, validates, and runs the handler: its answer or the refusal to send. */
async function run(route: AgentRoute, deps: AgentDeps, req: FastifyRequest): Promise<unknown> {
  if (route.auth === 'public') return gatewayError('internal', `route ${route.operationId} has no public handler`);
  const caller: Caller | GatewayError = await callerFor(route.auth, deps.gateway.store, req.headers, deps.gateway.now());
  if (isGatewayError(caller)) return caller;
  const params = check(route.params ?? z.object({}), req.params ?? {}, 'path parameter');
  if (isGatewayError(params)) return params;
  const body = bodyOf(route, req.body);
  if (isGatewayError(body)) return body;
  const headers = headersOf(req.headers);
  if (isGatewayError(headers)) return headers;
  return route.handler({ caller, params: params.value, body: body.value, headers, deps });
}

/** Sends a route's answer; the one place agent-route errors become responses. */
async function answer(route: AgentRoute, deps: AgentDeps, req: FastifyRequest, res: ServerResponse): Promise<void> {
  try {
    const out = await run(route, deps, req);
    if (isGatewayError(out)) return sendError(res, 'openai', out, noStore);
    sendJson(res, route.response.status, out as Record<string, unknown>, noStore);
  } catch (error) {
    if (error instanceof StoreUnavailableError) return sendError(res, 'openai', gatewayError('store_unavailable', `the ledger cannot be reached; nothing was recorded (${error.message})`), noStore);
    deps.onError(error);
    sendError(res, 'openai', gatewayError('internal', 'internal error; the server log has the details'), noStore);
  }
}

export interface AgentRouteOptions {
  /** The tool price table reservations are estimated with (default: the bundled one). */
  toolPrices?: ToolPrices;
  onError?: (error: unknown) => void;
}

/**
 * Registers the agent routes on the gateway's server (buildServer calls it).
 *
 * @example
 * registerAgentRoutes(app, gateway, { toolPrices: loadToolPrices({ path: './tools.json' }) });
 */
export function registerAgentRoutes(app: FastifyInstance, gateway: Gateway, options: AgentRouteOptions = {}): void {
  const deps: AgentDeps = {
    gateway,
    toolPrices: options.toolPrices ?? defaultToolPrices(),
    onError: options.onError ?? ((error) => process.stderr.write(`bursar agent routes: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)),
  };
  for (const route of agentRoutes) {
    app.route({
      method: route.method,
      url: fastifyPath(route.path),
      bodyLimit: agentLimits.bodyBytesMax,
      handler: async (req, reply) => {
        reply.hijack();
        await answer(route, deps, req, reply.raw);
      },
    });
  }
  app.get(toolsDoc.path, async (_req, reply) => {
    reply.hijack();
    sendJson(reply.raw, 200, toolPricesToJson(deps.toolPrices), noStore);
  });
  let document: Record<string, unknown> | undefined;
  app.get(openApiDoc.path, async (_req, reply) => {
    reply.hijack();
    document ??= agentOpenApiDocument(agentRouteDocs, { version: packageVersion() });
    sendJson(reply.raw, 200, document);
  });
}
