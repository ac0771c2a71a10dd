import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticate, authorize, type Access, type KeyRing, type Principal } from './auth.js';
import { ApiError } from './errors.js';

/**
 * The admin API's route registry: each route is declared once, with its method, path, access
 * level and the zod schemas of its inputs and output. `registerRoutes` turns the declarations
 * into fastify routes that validate with those schemas, and `openApiDocument` (openapi.ts)
 * turns the same declarations into the OpenAPI document, so the two cannot drift.
 */

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** Returned by a handler that has answered itself (a stream). */
export const sent: unique symbol = Symbol('sent');
export type Sent = typeof sent;

const none = z.strictObject({});
type None = typeof none;

/** What a handler gets: validated inputs, the caller, and the raw request and reply for streaming. */
export interface ApiCall<P, Q, B, H, D> {
  params: P;
  query: Q;
  body: B;
  headers: H;
  /** The caller; undefined on public routes. */
  principal: Principal | undefined;
  /** Who to record in the ledger for a change. */
  actor: string;
  deps: D;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** Another media type a route can answer with besides its JSON body (CSV, SSE, Prometheus text). */
export interface AltContent {
  contentType: string;
  description: string;
}

export interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType, R extends z.ZodType, D> {
  method: Method;
  /** OpenAPI-style path: `/api/budgets/{path}`. Parameters in braces are one URL segment each. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** Headers the route reads (lower-case names); others pass unchecked. */
  headers?: H;
  /** A larger request body than the admin API's usual bound, for routes that take one (a plan). */
  bodyBytesMax?: number;
  response: { status: 200 | 201; description: string; schema: R; alt?: AltContent[] };
  handler(call: ApiCall<z.output<P>, z.output<Q>, z.output<B>, z.output<H>, D>): Promise<z.input<R> | Sent>;
}

/** A declared route with its types erased, as the registry stores it. */
export type ApiRoute<D> = RouteDef<z.ZodType, z.ZodType, z.ZodType, z.ZodType, z.ZodType, D>;

/**
 * Declares a route. Types flow from the schemas to the handler's inputs and output.
 *
 * @example
 * route({ method: 'GET', path: '/api/budgets', operationId: 'listBudgets', summary: 'List budgets', tag: 'budgets',
 *   access: 'viewer', query: BudgetsQuery, response: { status: 200, description: 'budgets', schema: BudgetsResponse },
 *   handler: async ({ query, deps }) => ({ budgets: [] }) });
 */
export function route<D, P extends z.ZodType = None, Q extends z.ZodType = None, B extends z.ZodType = z.ZodUndefined, H extends z.ZodType = z.ZodObject, R extends z.ZodType = z.ZodType>(
  def: RouteDef<P, Q, B, H, R, D>,
): ApiRoute<D> {
  // The handler's input types are erased here (a method is checked bivariantly); registerRoutes
  // passes it exactly what the route's own schemas produced.
  return def;
}

/**
 * A route path in fastify's syntax.
 *
 * @example
 * fastifyPath('/api/budgets/{path}/grant') // '/api/budgets/:path/grant'
 */
export function fastifyPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

/**
 * Path parameter names of an OpenAPI-style path, in order.
 *
 * @example
 * pathParamNames('/api/reservations/{id}/settle') // ['id']
 */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] ?? '');
}

type Where = 'path parameter' | 'query parameter' | 'body field' | 'header';

/**
 * The 400 for a zod failure: names the first failing field and says what is wrong with it.
 *
 * @example
 * validationError(GrantBody.safeParse({ amount_micros: 0 }).error!, 'body field').field // 'amount_micros'
 */
export function validationError(error: z.ZodError, where: Where, input?: unknown): ApiError {
  const issue = error.issues[0];
  if (!issue) return new ApiError('bad_request', `invalid ${where}`);
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...issue.path.map(String), ...keys.slice(0, 1)];
  const field = path.join('.');
  if (issue.code === 'unrecognized_keys') {
    return new ApiError('bad_request', `unknown ${where} ${field}; see /api/openapi.json for what this route takes`, { field });
  }
  if (field === '') return new ApiError('bad_request', where === 'body field' ? `request body: ${issue.message}` : `${where}s: ${issue.message}`);
  const missing = valueAt(input, issue.path) === undefined && issue.code === 'invalid_type' ? ' (it is missing)' : '';
  return new ApiError('bad_request', `${where} ${field}: ${issue.message}${missing}`, { field });
}

/** The value at a path inside parsed input, or undefined (a loop over the path). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = input;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

function parseInput(schema: z.ZodType | undefined, value: unknown, where: Where): unknown {
  if (!schema) {
    if (where === 'body field' && value !== undefined && value !== null) throw new ApiError('bad_request', 'this route takes no request body');
    return where === 'body field' ? undefined : {};
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, where, value);
  return parsed.data;
}

/** Only the headers a route declares, so unrelated ones never fail validation. */
function pickHeaders(schema: z.ZodType | undefined, headers: FastifyRequest['headers']): Record<string, unknown> {
  const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(shape)) if (headers[name] !== undefined) out[name] = headers[name];
  return out;
}

export interface RegisterOptions<D> {
  keys: KeyRing;
  deps: D;
  /** Parse every JSON response with its declared schema (tests): a mismatch is a 500. */
  checkResponses?: boolean;
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The hook that authenticates and authorizes before the body is even read. */
function authHook(keys: KeyRing, access: Access) {
  return async (request: FastifyRequest): Promise<void> => {
    if (access === 'public') return;
    const principal = authenticate(keys, request.headers.authorization);
    authorize(principal, access);
    principals.set(request, principal);
  };
}

function actorOf(principal: Principal | undefined, headers: unknown): string {
  const given = (headers as { 'x-bursar-actor'?: unknown } | undefined)?.['x-bursar-actor'];
  if (typeof given === 'string') return given;
  return principal ? `api:${principal.role}:${principal.keyId}` : 'api';
}

/**
 * Registers declared routes on a fastify scope. `prefix` is the scope's prefix, cut from each
 * route's path. Errors thrown anywhere reach the scope's one error handler.
 *
 * @example
 * registerRoutes(scope, '/api', routes.filter((r) => r.path.startsWith('/api/')), { keys, deps });
 */
export function registerRoutes<D>(scope: FastifyInstance, prefix: string, routes: readonly ApiRoute<D>[], options: RegisterOptions<D>): void {
  for (const r of routes) {
    scope.route({
      method: r.method,
      url: fastifyPath(r.path.slice(prefix.length)),
      ...(r.bodyBytesMax === undefined ? {} : { bodyLimit: r.bodyBytesMax, config: { bodyBytesMax: r.bodyBytesMax } }),
      onRequest: authHook(options.keys, r.access),
      handler: async (request, reply) => {
        const params = parseInput(r.params ?? none, request.params, 'path parameter');
        const query = parseInput(r.query ?? none, request.query, 'query parameter');
        const headers = parseInput(r.headers, pickHeaders(r.headers, request.headers), 'header');
        const body = parseInput(r.body, request.body, 'body field');
        const principal = principals.get(request);
        const out = await r.handler({ params, query, body, headers, principal, actor: actorOf(principal, headers), deps: options.deps, request, reply });
        if (out === sent) return reply;
        if (options.checkResponses) {
          const checked = r.response.schema.safeParse(out);
          if (!checked.success) throw new ApiError('internal', `response of ${r.operationId} does not match its schema: ${checked.error.message}`);
        }
        return reply.code(r.response.status).send(out);
      },
    });
  }
}
