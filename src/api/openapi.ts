import { z } from 'zod';
import { BursarErrorJson, wireCodes } from '../contract/index.js';
import { pathParamNames, type ApiRoute } from './registry.js';

/**
 * The OpenAPI 3.1 document of the admin API, generated from the route registry: each route's
 * zod schemas become its parameters, request body and response. Schemas that carry an `id`
 * (Budget, LedgerEntry, …) are hoisted into `components/schemas` and referenced.
 */

type Json = Record<string, unknown>;

/** Moves `$defs` into the shared components and points `$ref`s at them. A loop over a stack. */
function hoist(schema: Json, components: Record<string, unknown>): Json {
  const defs = (schema.$defs ?? {}) as Record<string, Json>;
  delete schema.$defs;
  delete schema.$schema;
  const stack: unknown[] = [schema, ...Object.values(defs)];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...(node as unknown[]));
    else if (node !== null && typeof node === 'object') {
      const obj = node as Json;
      if (typeof obj.$ref === 'string') obj.$ref = obj.$ref.replace(/^#\/\$defs\//, '#/components/schemas/');
      stack.push(...Object.values(obj));
    }
  }
  for (const [id, def] of Object.entries(defs)) {
    const existing = components[id];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(def)) throw new Error(`two different schemas share the id ${id}`);
    components[id] = def;
  }
  return schema;
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Record<string, unknown>): Json {
  return hoist(z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any', cycles: 'ref', reused: 'inline' }), components);
}

function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  if (schema instanceof z.ZodObject) return schema.shape;
  return {};
}

function parameters(r: ApiRoute<unknown>, components: Record<string, unknown>): Json[] {
  const out: Json[] = [];
  const add = (where: 'path' | 'query' | 'header', name: string, field: z.ZodType) => {
    const schema = jsonSchema(field, 'input', components);
    const description = typeof schema.description === 'string' ? schema.description : undefined;
    out.push({ name, in: where, required: where === 'path' || !field.safeParse(undefined).success, ...(description ? { description } : {}), schema });
  };
  const pathShape = shapeOf(r.params);
  for (const name of pathParamNames(r.path)) {
    const field = pathShape[name];
    if (!field) throw new Error(`route ${r.operationId}: no schema for path parameter ${name}`);
    add('path', name, field);
  }
  for (const [name, field] of Object.entries(shapeOf(r.query))) add('query', name, field);
  for (const [name, field] of Object.entries(shapeOf(r.headers))) add('header', name, field);
  return out;
}

const errorResponses: Record<string, { description: string; when: (r: ApiRoute<unknown>) => boolean }> = {
  '400': { description: 'bad_request (a field failed validation; error.field names it) or an invalid_* code of the ledger', when: (r) => r.params !== undefined || r.query !== undefined || r.body !== undefined || r.headers !== undefined },
  '401': { description: 'unauthorized: no key, an unknown key, or a spend token (admin routes need an admin key); token_revoked or token_expired for a parent token that stopped working', when: (r) => r.access !== 'public' },
  '403': { description: 'forbidden: a viewer key on a route that needs an admin key; policy_widens (a child may only narrow); or a budget that is paused or closed', when: (r) => r.access !== 'public' },
  '404': { description: 'unknown_budget, unknown_token, unknown_reservation or not_found', when: (r) => r.params !== undefined || r.query !== undefined || r.body !== undefined },
  '409': { description: 'the request conflicts with the ledger\'s state (budget_exists, already_settled, …)', when: (r) => r.method !== 'GET' },
  '503': { description: 'store_unavailable: the ledger cannot be reached', when: () => true },
};

function responses(r: ApiRoute<unknown>, components: Record<string, unknown>): Json {
  const content: Json = {};
  if (!(r.response.schema instanceof z.ZodNever)) content['application/json'] = { schema: jsonSchema(r.response.schema, 'output', components) };
  for (const alt of r.response.alt ?? []) content[alt.contentType] = { schema: { type: 'string' } };
  const out: Json = { [String(r.response.status)]: { description: r.response.description, content } };
  for (const [status, e] of Object.entries(errorResponses)) {
    if (e.when(r)) out[status] = { description: e.description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return out;
}

function operation(r: ApiRoute<unknown>, components: Record<string, unknown>): Json {
  const op: Json = {
    operationId: r.operationId,
    summary: r.summary,
    tags: [r.tag],
    security: r.access === 'public' ? [] : [{ adminKey: [] }],
    'x-bursar-access': r.access,
  };
  if (r.description) op.description = r.description;
  const params = parameters(r, components);
  if (params.length > 0) op.parameters = params;
  if (r.body) {
    op.requestBody = { required: !r.body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchema(r.body, 'input', components) } } };
  }
  op.responses = responses(r, components);
  return op;
}

const description = `Admin API of Bursar: budgets, spend tokens, reservations, the ledger, usage and live events.

Authenticate with \`Authorization: Bearer <key>\`: an admin key (BURSAR_ADMIN_KEY) may do everything; a viewer key (BURSAR_VIEWER_KEY) only reads. Spend tokens (bsr_…) are for the gateway routes and are refused here.

Money is integer micro-USD (1 USD = 1,000,000) in fields ending in _micros. Times are ISO 8601 UTC; time query parameters also take epoch milliseconds. Budget paths in URLs are URL-encoded (acme%2Fresearch%2Fbot).

Every error is \`{ "error": { "code", "message", "field"?, "budget"?, "remaining_micros"? } }\` with a stable code: ${wireCodes.join(', ')}.`;

/**
 * The OpenAPI 3.1 document for `routes`.
 *
 * @example
 * const doc = openApiDocument(apiRoutes, { version: '0.1.0' });
 * Object.keys(doc.paths) // ['/api/budgets', '/api/budgets/{path}', …]
 */
export function openApiDocument(routes: readonly ApiRoute<unknown>[], options: { version: string }): Json {
  const components: Record<string, unknown> = {};
  jsonSchema(z.object({ e: BursarErrorJson }), 'output', components);
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const item = (paths[r.path] ??= {});
    item[r.method.toLowerCase()] = operation(r, components);
  }
  const tags = [...new Set(routes.map((r) => r.tag))].map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: { title: 'Bursar admin API', version: options.version, description, license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
    servers: [{ url: '/' }],
    tags,
    paths,
    components: {
      schemas: components,
      securitySchemes: { adminKey: { type: 'http', scheme: 'bearer', description: 'an admin key (BURSAR_ADMIN_KEY) or, for reads, a viewer key (BURSAR_VIEWER_KEY)' } },
    },
  };
}
