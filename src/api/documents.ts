import { BursarErrorJson, OpenaiErrorJson, WebhookDeliveryHeaders, WebhookPayloadJson, wireCodes, type RouteSpec } from '../contract/index.js';
import type { DocumentOptions } from './openapi.js';

/** The two OpenAPI documents the one generator writes: the admin API's and the agent routes'. */

const hasInput = (r: RouteSpec) => r.params !== undefined || r.query !== undefined || r.body !== undefined || r.headers !== undefined;

const adminDescription = `Admin API of Bursar: budgets, spend tokens, reservations, the ledger, usage and live events.

Authenticate with \`Authorization: Bearer <key>\`: an admin key (BURSAR_ADMIN_KEY) may do everything; a viewer key (BURSAR_VIEWER_KEY) only reads. Spend tokens (bsr_…) are for the gateway routes and are refused here.

Money is integer micro-USD (1 USD = 1,000,000) in fields ending in _micros; durations are milliseconds (ttl_ms, expires_in_ms). Times are ISO 8601 UTC; time query parameters also take epoch milliseconds. Budget paths in URLs are URL-encoded (acme%2Fresearch%2Fbot).

Every error is \`{ "error": { "code", "message", "field"?, "budget"?, "remaining_micros"? } }\` with a stable code, whose status is the same on every route of the server: ${wireCodes.join(', ')}.`;

/**
 * The admin API's document (`/api/openapi.json`).
 *
 * @example
 * openApiDocument(adminSpecs, adminDocument('0.1.0')).info.title // 'Bursar admin API'
 */
export function adminDocument(version: string): DocumentOptions {
  return {
    version,
    title: 'Bursar admin API',
    description: adminDescription,
    security: (access) => (access === 'public' ? [] : [{ adminKey: [] }]),
    securitySchemes: { adminKey: { type: 'http', scheme: 'bearer', description: 'an admin key (BURSAR_ADMIN_KEY) or, for reads, a viewer key (BURSAR_VIEWER_KEY)' } },
    error: { name: 'Error', schema: BursarErrorJson },
    errors: {
      '400': { description: 'bad_request (a field failed validation; error.field names it) or an invalid_* code of the ledger', when: hasInput },
      '401': { description: 'unauthorized: no key, an unknown key, or a spend token (admin routes need an admin key); token_revoked or token_expired for a parent token that stopped working', when: (r) => r.access !== 'public' },
      '403': { description: 'forbidden: a viewer key on a route that needs an admin key; policy_widens (a child may only narrow); or a budget that is paused or closed', when: (r) => r.access !== 'public' },
      '404': { description: 'unknown_budget, unknown_token, unknown_reservation or not_found', when: (r) => r.params !== undefined || r.query !== undefined || r.body !== undefined },
      '409': { description: 'the request conflicts with the ledger\'s state (budget_exists, already_settled, …)', when: (r) => r.method !== 'GET' },
      '503': { description: 'store_unavailable: the ledger cannot be reached', when: () => true },
    },
    webhooks: {
      event: {
        summary: 'An event POSTed to a webhook\'s URL',
        description:
          'Sent at least once, retried with exponential backoff while the receiver fails. Duplicates carry the same id (also the Idempotency-Key header). Verify Bursar-Signature: HMAC-SHA256, keyed with the webhook\'s secret, of the signature\'s t, a dot, and the raw body, as lower-case hex in v1.',
        body: WebhookPayloadJson,
        headers: WebhookDeliveryHeaders,
        answer: 'any 2xx status acknowledges the delivery; anything else (or no answer within 10 s) is retried',
      },
    },
  };
}

const agentDescription = `The routes an agent calls with its own spend token (\`Authorization: Bearer bsr_…\` or \`x-api-key: bsr_…\`), beside the OpenAI- and Anthropic-compatible proxy routes: what it may still spend, tool spend (reserve, settle, void), and delegation (mint and revoke child tokens that can only narrow).

Money is integer micro-USD (1 USD = 1,000,000) in fields ending in _micros; durations are milliseconds (expires_in_ms, ttl_ms), as on the admin API. Errors use OpenAI's shape, \`{ "error": { "message", "type", "param", "code", "budget", "remaining_micros" } }\`, with Bursar's stable code in \`code\`, so the official SDKs raise their typed errors.`;

const agentErrors: Record<number, string> = {
  400: 'bad_request: a field failed validation (error.param names it), or an invalid_* code of the ledger',
  401: 'token_invalid, token_expired or token_revoked: the spend token is missing, unknown, expired or revoked',
  402: 'budget_exceeded (naming the budget and what it has left) or request_cost_cap',
  403: 'forbidden (the token lacks the delegate scope), policy_widens (a child may only narrow; error.param names the field), budget_paused or budget_closed',
  404: 'unknown_token or unknown_reservation: it does not exist or lies outside the calling token\'s chain',
  409: 'already_settled, already_voided, reservation_expired or idempotency_key_reused',
  429: 'too_many_inflight',
  503: 'store_unavailable: the ledger cannot be reached (nothing was recorded)',
};

/** The statuses an agent route answers with: 400 for any input, its own, and 503 unless public. */
function agentStatuses(r: RouteSpec): Set<number> {
  return new Set([...(hasInput(r) ? [400] : []), ...(r.errors ?? []), ...(r.access === 'public' ? [] : [503])]);
}

/**
 * The agent routes' document (`/v1/bursar/openapi.json`).
 *
 * @example
 * openApiDocument(agentSpecs, agentDocument('0.1.0')).info.title // 'Bursar agent API'
 */
export function agentDocument(version: string): DocumentOptions {
  const errors = Object.fromEntries(Object.entries(agentErrors).map(([status, description]) => [status, { description, when: (r: RouteSpec) => agentStatuses(r).has(Number(status)) }]));
  return {
    version,
    title: 'Bursar agent API',
    description: agentDescription,
    security: (access) => (access === 'public' ? [] : [{ spendToken: [] }, { spendTokenHeader: [] }]),
    securitySchemes: {
      spendToken: { type: 'http', scheme: 'bearer', description: 'a Bursar spend token (bsr_…)' },
      spendTokenHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'the same spend token, as the Anthropic SDK sends it' },
    },
    error: { name: 'AgentError', schema: OpenaiErrorJson },
    errors,
  };
}
