import { z } from 'zod';
import { pathParamNames, type Access, type RouteSpec } from '../contract/index.js';

/**
 * The one OpenAPI 3.1 generator, for the admin API's document (`/api/openapi.json`) and the
 * agent routes' (`/v1/bursar/openapi.json`): each route's zod schemas become its parameters,
 * request body and responses. Schemas that carry an `id` (Budget, LedgerEntry, …) are hoisted
 * into `components/schemas` and referenced.
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

function parameters(r: RouteSpec, components: Record<string, unknown>): Json[] {
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

/** An error status a document describes, and which routes answer with it. */
export interface ErrorDoc {
  description: string;
  when(r: RouteSpec): boolean;
}

/** What makes one document differ from the other: its title, keys, error shape and errors. */
export interface DocumentOptions {
  version: string;
  title: string;
  description: string;
  /** The OpenAPI `security` of a route of this access level. */
  security(access: Access): Json[];
  securitySchemes: Json;
  /** The error body every error response has, under this component name. */
  error: { name: string; schema: z.ZodType };
  errors: Readonly<Record<string, ErrorDoc>>;
  /** Requests the server itself sends (OpenAPI 3.1 `webhooks`), by name: what they carry. */
  webhooks?: Readonly<Record<string, OutgoingRequest>>;
}

/** A request Bursar sends to a URL someone configured: its body and headers. */
export interface OutgoingRequest {
  summary: string;
  description: string;
  body: z.ZodType;
  headers: z.ZodObject;
  /** What the receiver's answer means. */
  answer: string;
}

function outgoing(w: OutgoingRequest, components: Record<string, unknown>): Json {
  const parameters = Object.entries(w.headers.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const schema = jsonSchema(field, 'output', components);
    return { name, in: 'header', required: true, ...(typeof schema.description === 'string' ? { description: schema.description } : {}), schema };
  });
  const requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(w.body, 'output', components) } } };
  return { post: { summary: w.summary, description: w.description, parameters, requestBody, responses: { '2XX': { description: w.answer } } } };
}

function responses(r: RouteSpec, o: DocumentOptions, components: Record<string, unknown>): Json {
  const content: Json = {};
  if (!(r.response.schema instanceof z.ZodNever)) content['application/json'] = { schema: jsonSchema(r.response.schema, 'output', components) };
  for (const alt of r.response.alt ?? []) content[alt.contentType] = { schema: { type: 'string' } };
  const out: Json = { [String(r.response.status)]: { description: r.response.description, content } };
  for (const [status, e] of Object.entries(o.errors)) {
    if (e.when(r)) out[status] = { description: e.description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${o.error.name}` } } } };
  }
  return out;
}

function operation(r: RouteSpec, o: DocumentOptions, components: Record<string, unknown>): Json {
  const op: Json = { operationId: r.operationId, summary: r.summary, tags: [r.tag], security: o.security(r.access), 'x-bursar-access': r.access };
  if (r.description) op.description = r.description;
  const params = parameters(r, components);
  if (params.length > 0) op.parameters = params;
  if (r.body) {
    op.requestBody = { required: !r.body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchema(r.body, 'input', components) } } };
  }
  op.responses = responses(r, o, components);
  return op;
}

/**
 * The OpenAPI 3.1 document for `routes`.
 *
 * @example
 * const doc = openApiDocument(Object.values(adminRoutes), adminDocument('0.1.0'));
 * Object.keys(doc.paths) // ['/api/budgets', '/api/budgets/{path}', …]
 */
export function openApiDocument(routes: readonly RouteSpec[], o: DocumentOptions): Json {
  const components: Record<string, unknown> = { [o.error.name]: jsonSchema(o.error.schema, 'output', {}) };
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const item = (paths[r.path] ??= {});
    item[r.method.toLowerCase()] = operation(r, o, components);
  }
  const tags = [...new Set(routes.map((r) => r.tag))].map((name) => ({ name }));
  const webhooks = Object.fromEntries(Object.entries(o.webhooks ?? {}).map(([name, w]) => [name, outgoing(w, components)]));
  return {
    openapi: '3.1.0',
    info: { title: o.title, version: o.version, description: o.description, license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
    servers: [{ url: '/' }],
    tags,
    paths,
    ...(Object.keys(webhooks).length > 0 ? { webhooks } : {}),
    components: { schemas: components, securitySchemes: o.securitySchemes },
  };
}
