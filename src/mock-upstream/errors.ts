import type { Provider } from './requests.js';

const openaiTypes: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  404: { type: 'invalid_request_error', code: 'unknown_url' },
  405: { type: 'invalid_request_error', code: null },
  413: { type: 'invalid_request_error', code: 'request_too_large' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
  500: { type: 'server_error', code: null },
};

const anthropicTypes: Record<number, string> = {
  400: 'invalid_request_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
};

/**
 * An error body in the provider's own shape, so the official SDKs raise their typed errors:
 * OpenAI `{ error: { message, type, param, code } }`, Anthropic
 * `{ type: 'error', error: { type, message }, request_id }`.
 *
 * @example
 * errorBody('anthropic', 429, 'slow down', 'req_mock1') // { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' }, request_id: 'req_mock1' }
 */
export function errorBody(provider: Provider, status: number, message: string, requestId: string, param: string | null = null): Record<string, unknown> {
  if (provider === 'anthropic') {
    return { type: 'error', error: { type: anthropicTypes[status] ?? 'api_error', message }, request_id: requestId };
  }
  const kind = openaiTypes[status] ?? { type: 'server_error', code: null };
  return { error: { message, type: kind.type, param, code: kind.code } };
}
