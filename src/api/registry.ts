import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fastifyPath, WireError, type Access, type RouteSpec } from '../contract/index.js';
import type { Caller } from '../ops/index.js';
import type { Principal } from './auth.js';

/**
 * The one route registry of Bursar's own API, for the admin routes and the agent routes alike:
 * each route is declared once in the contract (`RouteSpec`) and bound here to its handler.
 * `registerRoutes` turns the bound routes into fastify routes that authenticate, validate with
 * the declared schemas, and leave every failure to the scope's one error handler;
 * `openApiDocument` (openapi.ts) turns the same declarations into the OpenAPI documents.
 */

/** Returned by a handler that has answered itself (a stream). */
export const sent: unique symbol = Symbol('sent');
export type Sent = typeof sent;

const none = z.strictObject({});

/** Who is calling: an admin or viewer key, a spend token, or nobody (public routes). */
export interface Identity {
  principal?: Principal;
  caller?: Caller;
  /** Who to record in the ledger for a change. */
  actor: string;
}

/** What a handler gets: validated inputs, who is calling, and the raw request and reply for streaming. */
export interface ApiCall<P, Q, B, H, D> extends Identity {
  params: P;
  query: Q;
  body: B;
  headers: H;
  deps: D;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** A declared route with its handler, types erased, as the registry holds it. */
export interface BoundRoute<D> {
  spec: RouteSpec;
  handler(call: ApiCall<unknown, unknown, unknown, unknown, D>): Promise<unknown>;
}

/**
 * Binds a handler to a route's declaration. Types flow from the schemas to the handler's
 * inputs and answer.
 *
 * @example
 * const listBudgets = bind(adminRoutes.listBudgets, async ({ query, deps }) => ({ budgets: … }));
 */
export function bind<D, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType, R extends z.ZodType>(
  spec: RouteSpec<P, Q, B, H, R>,
  handler: (call: ApiCall<z.output<P>, z.output<Q>, z.output<B>, z.output<H>, D>) => Promise<z.input<R> | Sent>,
): BoundRoute<D> {
  // The handler's input types are erased here; registerRoutes passes it exactly what the route's own schemas produced.
  return { spec, handler };
}

type Where = 'path parameter' | 'query parameter' | 'body field' | 'header';

/**
 * The 400 for a zod failure: names the first failing field and says what is wrong with it.
 *
 * @example
 * validationError(GrantBody.safeParse({ amount_micros: 0 }).error!, 'body field').field // 'amount_micros'
 */
export function validationError(error: z.ZodError, where: Where, input?: unknown): WireError {
  const issue = error.issues[0];
  if (!issue) return new WireError('bad_request', `invalid ${where}`);
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...issue.path.map(String), ...keys.slice(0, 1)];
  const field = path.join('.');
  if (issue.code === 'unrecognized_keys') {
    return new WireError('bad_request', `unknown ${where} ${field}; see the OpenAPI document for what this route takes`, { field });
  }
  if (field === '') return new WireError('bad_request', where === 'body field' ? `request body: ${issue.message}` : `${where}s: ${issue.message}`);
  const missing = valueAt(input, issue.path) === undefined && issue.code === 'invalid_type' ? ' (it is missing)' : '';
  return new WireError('bad_request', `${where} ${field}: ${issue.message}${missing}`, { field });
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
    if (where === 'body field' && value !== undefined && value !== null) throw new WireError('bad_request', 'this route takes no request body');
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
  deps: D;
  /** Who is calling a route of this access level; throws a `WireError` to refuse (before the body is read). */
  identify(access: Access, request: FastifyRequest): Promise<Identity>;
  /** Parse every JSON response with its declared schema (tests): a mismatch is a 500. */
  checkResponses?: boolean;
}

/**
 * The body bound a route declared for itself (`RouteSpec.bodyBytesMax`), else undefined.
 *
 * @example
 * wireErrorOfThrown(error, { bodyBytesMax: declaredBodyBytesMax(request) ?? apiLimits.bodyBytesMax, … })
 */
export function declaredBodyBytesMax(request: FastifyRequest): number | undefined {
  const config = request.routeOptions.config as { bodyBytesMax?: unknown } | undefined;
  return typeof config?.bodyBytesMax === 'number' ? config.bodyBytesMax : undefined;
}

/**
 * Registers bound routes on a fastify scope. `prefix` is the scope's prefix, cut from each
 * route's path. Errors thrown anywhere reach the scope's one error handler.
 *
 * @example
 * registerRoutes(scope, '/api', routes.filter((r) => r.spec.path.startsWith('/api/')), { deps, identify });
 */
export function registerRoutes<D>(scope: FastifyInstance, prefix: string, routes: readonly BoundRoute<D>[], options: RegisterOptions<D>): void {
  const identities = new WeakMap<FastifyRequest, Identity>();
  for (const route of routes) {
    const spec = route.spec;
    scope.route({
      method: spec.method,
      url: fastifyPath(spec.path.slice(prefix.length)),
      // A route that takes a larger body says so; the error path names its own bound.
      ...(spec.bodyBytesMax === undefined ? {} : { bodyLimit: spec.bodyBytesMax, config: { bodyBytesMax: spec.bodyBytesMax } }),
      onRequest: async (request) => {
        identities.set(request, await options.identify(spec.access, request));
      },
      handler: async (request, reply) => {
        const params = parseInput(spec.params ?? none, request.params, 'path parameter');
        const query = parseInput(spec.query ?? none, request.query, 'query parameter');
        const headers = parseInput(spec.headers, pickHeaders(spec.headers, request.headers), 'header');
        const body = parseInput(spec.body, request.body, 'body field');
        const identity = identities.get(request) ?? { actor: 'api' };
        const out = await route.handler({ ...identity, params, query, body, headers, deps: options.deps, request, reply });
        if (out === sent) return reply;
        if (options.checkResponses) {
          const checked = spec.response.schema.safeParse(out);
          if (!checked.success) throw new WireError('internal', `response of ${spec.operationId} does not match its schema: ${checked.error.message}`);
        }
        return reply.code(spec.response.status).send(out);
      },
    });
  }
}
