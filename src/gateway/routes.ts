import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { allowedModels } from '../ops/models.js';
import { authenticate } from './auth.js';
import { isGatewayError } from './errors.js';
import type { Gateway } from './proxy.js';
import { sendError, sendJson } from './respond.js';

/**
 * `GET /v1/models`: the catalog models the calling token may use, in the OpenAI list shape, or
 * the Anthropic one when the request carries `anthropic-version`.
 */
export async function modelsRoute(g: Gateway, headers: IncomingHttpHeaders, res: ServerResponse): Promise<void> {
  const anthropic = typeof headers['anthropic-version'] === 'string';
  const caller = await authenticate(g.store, headers, g.now());
  if (isGatewayError(caller)) return sendError(res, anthropic ? 'anthropic' : 'openai', caller);
  const models = await allowedModels(g.store, g.pricing, caller.envelope);
  if (anthropic) {
    const data = models.filter((m) => m.entry.provider === 'anthropic').map((m) => ({ type: 'model', id: m.model, display_name: m.model, created_at: '1970-01-01T00:00:00Z' }));
    return sendJson(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null });
  }
  const data = models.map((m) => ({ id: m.model, object: 'model', created: 0, owned_by: m.entry.provider }));
  sendJson(res, 200, { object: 'list', data });
}
