import { z } from 'zod';
import { pathParamNames } from '../api/registry.js';
import type { AgentRouteDoc } from './agent-route.js';
import { AgentErrorJson, AgentHeaders } from './agent-schemas.js';

/**
 * The OpenAPI 3.1 document of the agent routes (`/v1/bursar/…`), served at
 * `/v1/bursar/openapi.json`, generated from the same declarations the routes validate with.
 * The admin API has its own document at `/api/openapi.json`; the provider-compatible routes
 * (`/v1/chat/completions`, `/v1/messages`, …) are the providers' APIs and are not repeated here.
 */

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any', reused: 'inline', cycles: 'ref' }) as Json;
  delete out.$schema;
  // Agent schemas carry no ids, so nothing is hoisted; a shared id would need components.
  if (out.$defs !== undefined) throw new Error('agent route schemas must not carry ids ($defs)');
  return out;
}

const errorDescriptions: Record<number, string> = {
  400: 'bad_request: a field failed validation (error.param names it), or an invalid_* code of the ledger',
  401: 'token_invalid, token_expired or token_revoked: the spend token is missing, unknown, expired or revoked',
  402: 'budget_exceeded (naming the budget and what it has left) or request_cost_cap',
  403: 'forbidden (the token lacks the delegate scope), policy_widens (a child may only narrow; error.param names the field), budget_paused or budget_closed',
  404: 'unknown_token or unknown_reservation: it does not exist or lies outside the calling token\'s chain',
  409: 'already_settled, already_voided, reservation_expired or idempotency_key_reused',
  429: 'too_many_inflight: the budget has as many calls open as its policy allows (Retry-After says when to try again)',
  503: 'store_unavailable: the ledger cannot be reached (nothing was recorded)',
};

function parameters(r: AgentRouteDoc): Json[] {
  const out: Json[] = [];
  const add = (where: 'path' | 'header', name: string, field: z.ZodType) => {
    const schema = jsonSchema(field, 'input');
    const description = typeof schema.description === 'string' ? schema.description : undefined;
    out.push({ name, in: where, required: where === 'path', ...(description ? { description } : {}), schema });
  };
  const shape = (r.params?.shape ?? {}) as Record<string, z.ZodType>;
  for (const name of pathParamNames(r.path)) {
    const field = shape[name];
    if (!field) throw new Error(`agent route ${r.operationId}: no schema for path parameter ${name}`);
    add('path', name, field);
  }
  if (r.labelHeaders) for (const [name, field] of Object.entries(AgentHeaders.shape)) add('header', name, field);
  return out;
}

function operation(r: AgentRouteDoc): Json {
  const op: Json = { operationId: r.operationId, summary: r.summary, tags: [r.tag], security: r.auth === 'public' ? [] : [{ spendToken: [] }, { spendTokenHeader: [] }] };
  if (r.description) op.description = r.description;
  const params = parameters(r);
  if (params.length > 0) op.parameters = params;
  if (r.body) op.requestBody = { required: !r.body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } };
  const responses: Json = { [String(r.response.status)]: { description: r.response.description, content: { 'application/json': { schema: jsonSchema(r.response.schema, 'output') } } } };
  const statuses = new Set([...(r.params || r.body || r.labelHeaders ? [400] : []), ...r.errors, ...(r.auth === 'public' ? [] : [503])]);
  for (const status of [...statuses].sort()) {
    responses[String(status)] = { description: errorDescriptions[status] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/AgentError' } } } };
  }
  op.responses = responses;
  return op;
}

const description = `The routes an agent calls with its own spend token (\`Authorization: Bearer bsr_…\` or \`x-api-key: bsr_…\`), beside the OpenAI- and Anthropic-compatible proxy routes: what it may still spend, tool spend (reserve, settle, void), and delegation (mint and revoke child tokens that can only narrow).

Money is integer micro-USD (1 USD = 1,000,000) in fields ending in _micros; durations here are seconds (expires_in_s, ttl_s). Errors use OpenAI's shape, \`{ "error": { "message", "type", "param", "code", "budget", "remaining_micros" } }\`, with Bursar's stable code in \`code\`, so the official SDKs raise their typed errors.`;

/**
 * The OpenAPI 3.1 document for the agent routes.
 *
 * @example
 * const doc = agentOpenApiDocument(agentRouteDocs, { version: '0.1.0' });
 * Object.keys(doc.paths) // ['/v1/bursar/balance', '/v1/bursar/tools', '/v1/bursar/reservations', …]
 */
export function agentOpenApiDocument(routes: readonly AgentRouteDoc[], options: { version: string }): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r);
  return {
    openapi: '3.1.0',
    info: { title: 'Bursar agent API', version: options.version, description, license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: { AgentError: jsonSchema(AgentErrorJson, 'output') },
      securitySchemes: {
        spendToken: { type: 'http', scheme: 'bearer', description: 'a Bursar spend token (bsr_…)' },
        spendTokenHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'the same spend token, as the Anthropic SDK sends it' },
      },
    },
  };
}
