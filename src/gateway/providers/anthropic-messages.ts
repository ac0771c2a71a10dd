import { errorBody, isGatewayError, type GatewayError } from '../errors.js';
import { formatSse, type SseEvent } from '../sse.js';
import { counts, messagesMissing, readGenerating, dryRunText, TextObserver, usageField, type ReportedUsage, type RouteAdapter } from './adapter.js';

const usageNames = ['input_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'output_tokens'] as const;

/** Anthropic reports uncached input separately from cache reads and writes; add them up. */
function usageOf(value: unknown): ReportedUsage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const u = value as Record<string, unknown>;
  const { values, invalid } = counts(u, usageNames);
  const fresh = values.input_tokens;
  const cached = values.cache_read_input_tokens ?? 0;
  const written = values.cache_creation_input_tokens ?? 0;
  // cache_creation splits the writes into 5-minute and 1-hour ones (priced differently).
  const split = typeof u.cache_creation === 'object' && u.cache_creation !== null ? (u.cache_creation as Record<string, unknown>) : {};
  const written1h = Math.min(written, counts(split, ['ephemeral_1h_input_tokens']).values.ephemeral_1h_input_tokens ?? 0);
  const out: ReportedUsage = {};
  if (fresh !== undefined) out.inputTokens = fresh + cached + written;
  if (values.cache_read_input_tokens !== undefined) out.cachedTokens = cached;
  if (values.cache_creation_input_tokens !== undefined) {
    out.cacheWriteTokens = written - written1h;
    out.cacheWrite1hTokens = written1h;
  }
  if (values.output_tokens !== undefined) out.outputTokens = values.output_tokens;
  if (invalid !== undefined) out.invalid = invalid;
  return Object.keys(out).length > 0 ? out : undefined;
}

class MessagesObserver extends TextObserver {
  forward(event: SseEvent): string | null {
    const type = event.event ?? '';
    const data = this.json(event) as { message?: { usage?: unknown } | null; usage?: unknown; delta?: { text?: unknown; partial_json?: unknown; thinking?: unknown } | null } | null | undefined;
    if (data === undefined) return null;
    if (type === 'message_stop') this.done = true;
    if (data === null || (type !== 'message_start' && type !== 'message_delta' && type !== 'content_block_delta')) return event.raw;
    // message_delta usage is cumulative: later values replace earlier ones. message_start's
    // output count is a placeholder (1) until then: a stream cut before message_delta is priced
    // from its text, not from it.
    const usage = usageOf(type === 'message_start' ? data.message?.usage : data.usage);
    if (usage && type === 'message_start') delete usage.outputTokens;
    if (usage) this.reported = { ...this.reported, ...usage };
    const piece = data.delta?.text ?? data.delta?.partial_json ?? data.delta?.thinking;
    if (typeof piece === 'string') this.keep(piece);
    return event.raw;
  }
}

/** The event that ends a Messages stream that broke off: an `error` event as Anthropic sends one, which `@anthropic-ai/sdk` raises as an `APIError`. */
function streamError(error: GatewayError): string {
  return formatSse(JSON.stringify(errorBody('anthropic', error)), 'error');
}

/** `POST /v1/messages` (Anthropic Messages). */
export const anthropicMessages: RouteAdapter = {
  provider: 'anthropic',
  route: '/v1/messages',
  embeddings: false,
  inputRoute: 'messages',
  parse(body) {
    const read = readGenerating(body, ['max_tokens'], messagesMissing);
    if (isGatewayError(read)) return read;
    const text = JSON.stringify(body);
    const writesCache = !text.includes('"cache_control"') ? false : /"ttl"\s*:\s*"1h"/.test(text) ? '1h' : true;
    return { model: read.model, stream: read.stream, maxOutputTokens: read.cap, choices: 1, writesCache };
  },
  upstreamBody(body, _call, maxOutputTokens) {
    return { ...body, max_tokens: maxOutputTokens };
  },
  usageFromBody(body) {
    return usageOf(usageField(body));
  },
  observe() {
    return new MessagesObserver();
  },
  streamError,
  synthetic(call, usage) {
    const id = `msg_dryrun${Date.now().toString(36)}`;
    const text = dryRunText;
    const u = { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const json = { id, type: 'message', role: 'assistant', model: call.model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: u };
    const events = [
      formatSse(JSON.stringify({ type: 'message_start', message: { ...json, content: [], stop_reason: null, usage: { ...u, output_tokens: 1 } } }), 'message_start'),
      formatSse(JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), 'content_block_start'),
      formatSse(JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }), 'content_block_delta'),
      formatSse(JSON.stringify({ type: 'content_block_stop', index: 0 }), 'content_block_stop'),
      formatSse(JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.outputTokens } }), 'message_delta'),
      formatSse(JSON.stringify({ type: 'message_stop' }), 'message_stop'),
    ];
    return { json, events };
  },
};
