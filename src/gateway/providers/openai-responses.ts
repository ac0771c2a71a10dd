import { errorBody, gatewayError, isGatewayError, type GatewayError } from '../errors.js';
import { formatSse, type SseEvent } from '../sse.js';
import { readGenerating, dryRunText, TextObserver, usageField, type RouteAdapter } from './adapter.js';
import { openaiUsage } from './openai-chat.js';

const responsesUsage = (value: unknown) => openaiUsage(value, { input: 'input_tokens', output: 'output_tokens', details: 'input_tokens_details' });

const terminal = new Set(['response.completed', 'response.incomplete', 'response.failed']);

class ResponsesObserver extends TextObserver {
  forward(event: SseEvent): string | null {
    const type = event.event ?? '';
    const data = this.json(event);
    if (data === undefined) return null;
    if (data !== null && (type.endsWith('.delta') || terminal.has(type))) {
      if (typeof data.delta === 'string') this.keep(data.delta);
      const usage = responsesUsage((data.response as { usage?: unknown } | null | undefined)?.usage);
      if (usage) this.reported = usage;
    }
    if (terminal.has(type)) this.done = true;
    return event.raw;
  }
}

/**
 * The event that ends a Responses stream that broke off: an `error` event as OpenAI sends one,
 * also carrying `error`, which the `openai` SDK raises as an `APIError` with Bursar's code.
 */
function streamError(error: GatewayError): string {
  return formatSse(JSON.stringify({ type: 'error', code: error.code, message: error.message, param: null, ...errorBody('openai', error) }), 'error');
}

/** `POST /v1/responses` (OpenAI Responses API). Usage always arrives in its final event. */
export const openaiResponses: RouteAdapter = {
  provider: 'openai',
  route: '/v1/responses',
  embeddings: false,
  inputRoute: 'responses',
  parse(body) {
    const read = readGenerating(body, ['max_output_tokens'], (b) => (b.input === undefined || b.input === null ? gatewayError('bad_request', 'input is required (a string or a list of input items)', { param: 'input' }) : undefined));
    if (isGatewayError(read)) return read;
    return { model: read.model, stream: read.stream, maxOutputTokens: read.cap, choices: 1, writesCache: undefined };
  },
  upstreamBody(body, _call, maxOutputTokens) {
    return { ...body, max_output_tokens: maxOutputTokens };
  },
  usageFromBody(body) {
    return responsesUsage(usageField(body));
  },
  observe() {
    return new ResponsesObserver();
  },
  streamError,
  synthetic(call, usage) {
    const id = `resp_dryrun${Date.now().toString(36)}`;
    const text = dryRunText;
    const message = { id: `msg_dryrun${Date.now().toString(36)}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
    const u = { input_tokens: usage.inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: usage.outputTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: usage.inputTokens + usage.outputTokens };
    const json = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), status: 'completed', model: call.model, output: [message], output_text: text, usage: u };
    const events = [
      formatSse(JSON.stringify({ type: 'response.created', sequence_number: 0, response: { ...json, status: 'in_progress', output: [], usage: null } }), 'response.created'),
      formatSse(JSON.stringify({ type: 'response.output_text.delta', sequence_number: 1, item_id: message.id, output_index: 0, content_index: 0, delta: text }), 'response.output_text.delta'),
      formatSse(JSON.stringify({ type: 'response.completed', sequence_number: 2, response: json }), 'response.completed'),
    ];
    return { json, events };
  },
};
