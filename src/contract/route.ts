import { z } from 'zod';

/**
 * How a route of Bursar's own API is declared, once: its method and path, who may call it, and
 * the zod schemas of its inputs and answer. The server registers handlers against these
 * declarations and generates the OpenAPI documents from them; the remote clients (SDK, CLI)
 * build their requests and check the answers with the same ones.
 */

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * Who may call a route: `public` needs nothing; `viewer` takes an admin or a viewer key;
 * `admin` only an admin key; `token` an active spend token; `token-resolve` also a spend token
 * that was revoked or has expired since (what it reserved may still be settled or voided).
 */
export type Access = 'public' | 'viewer' | 'admin' | 'token' | 'token-resolve';

/** Another media type a route can answer with besides its JSON body (CSV, SSE, Prometheus text). */
export interface AltContent {
  contentType: string;
  description: string;
}

export interface RouteSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType, H extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  method: Method;
  /** OpenAPI-style path: `/api/budgets/{path}`. Parameters in braces are one URL segment each. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** Group in the OpenAPI document. */
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** Headers the route reads (lower-case names); others pass unchecked. */
  headers?: H;
  response: { status: 200 | 201; description: string; schema: R; alt?: AltContent[] };
  /** Error statuses to document besides those every route of its kind has (400, 401, 503…). */
  errors?: readonly number[];
  /** A larger request body than the API's usual bound, for a route that takes one (a plan). */
  bodyBytesMax?: number;
}

/**
 * Declares a route; types flow from the schemas to the server's handler and the clients' calls.
 *
 * @example
 * export const getBudget = routeSpec({ method: 'GET', path: '/api/budgets/{path}', operationId: 'getBudget', summary: 'Read a budget',
 *   tag: 'budgets', access: 'viewer', params: PathParams, response: { status: 200, description: 'the budget', schema: BudgetDetailJson } });
 */
export function routeSpec<P extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined, H extends z.ZodType = z.ZodUndefined, R extends z.ZodType = z.ZodType>(
  spec: RouteSpec<P, Q, B, H, R>,
): RouteSpec<P, Q, B, H, R> {
  return spec;
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

/**
 * A route's URL for these path parameters (each URL-encoded) and query (absent values left out).
 *
 * @example
 * urlOf(grantBudget, { path: 'acme/research' }) // '/api/budgets/acme%2Fresearch/grant'
 */
export function urlOf(spec: Pick<RouteSpec, 'path'>, params: Record<string, string> = {}, query: Record<string, string | number | undefined> = {}): string {
  const path = spec.path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
  const qs = search.toString();
  return qs === '' ? path : `${path}?${qs}`;
}

/**
 * Declares the public route that serves an API's OpenAPI document.
 *
 * @example
 * const openapi = documentSpec({ path: '/api/openapi.json', operationId: 'openapi', summary: 'This API\'s OpenAPI 3.1 document', tag: 'system', answer: 'the OpenAPI document' });
 */
export function documentSpec(o: { path: string; operationId: string; summary: string; tag: string; answer: string }) {
  return routeSpec({ method: 'GET', path: o.path, operationId: o.operationId, summary: o.summary, tag: o.tag, access: 'public', response: { status: 200, description: o.answer, schema: z.record(z.string(), z.unknown()) } });
}
