import { gatewayError, isGatewayError } from '../errors.js';
import { gatewayLimits } from '../limits.js';
import { formatSse, type SseEvent } from '../sse.js';
import { count, type CallUsage, type ParsedCall, type RouteAdapter, type StreamObserver } from './adapter.js';
import { readCap, readModel, readStream } from './openai-chat.js';

function usageOf(value: unknown): Partial<CallUsage> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const u = value as Record<string, unknown>;
  const details = (u.input_tokens_details ?? {}) as Record<string, unknown>;
  const inputTokens = count(u.input_tokens);
  const outputTokens = count(u.output_tokens);
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  return { inputTokens, outputTokens, cachedTokens: count(details.cached_tokens) ?? 0, cacheWriteTokens: count(details.cache_write_tokens) ?? 0, cacheWrite1hTokens: 0 };
}

const terminal = new Set(['response.completed', 'response.incomplete', 'response.failed']);

class ResponsesObserver implements StreamObserver {
  private reported: Partial<CallUsage> | undefined;
  private readonly text: string[] = [];
  private textBytes = 0;
  private done = false;

  forward(event: SseEvent): string | null {
    const type = event.event ?? '';
    if (type.endsWith('.delta') || terminal.has(type)) {
      try {
        const data = JSON.parse(event.data) as { delta?: unknown; response?: { usage?: unknown } };
        if (typeof data.delta === 'string' && this.textBytes < gatewayLimits.streamTextBytesMax) {
          this.text.push(data.delta);
          this.textBytes += data.delta.length;
        }
        const usage = usageOf(data.response?.usage);
        if (usage) this.reported = usage;
      } catch {
        // Not JSON: relay it untouched; the stream's usage just stays unknown.
      }
    }
    if (terminal.has(type)) this.done = true;
    return event.raw;
  }

  usage() {
    return this.reported;
  }

  outputText(): string {
    return this.text.join('');
  }

  finished(): boolean {
    return this.done;
  }
}

/** `POST /v1/responses` (OpenAI Responses API). Usage always arrives in its final event. */
export const openaiResponses: RouteAdapter = {
  provider: 'openai',
  route: '/v1/responses',
  embeddings: false,
  inputRoute: 'responses',
  parse(body) {
    const model = readModel(body);
    if (typeof model !== 'string') return model;
    const stream = readStream(body);
    if (typeof stream !== 'boolean') return stream;
    if (body.input === undefined || body.input === null) return gatewayError('bad_request', 'input is required (a string or a list of input items)', { param: 'input' });
    const cap = readCap(body, 'max_output_tokens');
    if (isGatewayError(cap)) return cap;
    const call: ParsedCall = { model, stream, maxOutputTokens: cap, choices: 1, writesCache: undefined };
    return call;
  },
  upstreamBody(body, _call, maxOutputTokens) {
    return { ...body, max_output_tokens: maxOutputTokens };
  },
  usageFromBody(body) {
    return usageOf((body as { usage?: unknown } | null)?.usage);
  },
  observe() {
    return new ResponsesObserver();
  },
  synthetic(call, usage) {
    const id = `resp_dryrun${Date.now().toString(36)}`;
    const text = '[bursar dry-run] no request was sent to the provider';
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
