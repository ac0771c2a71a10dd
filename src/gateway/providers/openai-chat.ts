import { errorBody, gatewayError, isGatewayError, type GatewayError } from '../errors.js';
import { gatewayLimits } from '../limits.js';
import { formatSse, type SseEvent } from '../sse.js';
import { collectText } from '../../pricing/tokens.js';
import { counts, messagesMissing, readGenerating, dryRunText, TextObserver, usageField, type ParsedCall, type ReportedUsage, type RouteAdapter } from './adapter.js';

function parse(body: Record<string, unknown>): ParsedCall | GatewayError {
  const read = readGenerating(body, ['max_completion_tokens', 'max_tokens'], messagesMissing);
  if (isGatewayError(read)) return read;
  const n = body.n ?? 1;
  if (!Number.isSafeInteger(n) || (n as number) < 1 || (n as number) > gatewayLimits.choicesMax) return gatewayError('bad_request', `n must be a whole number from 1 to ${gatewayLimits.choicesMax}`, { param: 'n' });
  return { model: read.model, stream: read.stream, maxOutputTokens: read.cap, choices: n as number, writesCache: undefined };
}

/** Usage in OpenAI's shape, whichever names the route gives its fields (chat: prompt/completion; responses: input/output). */
export function openaiUsage(value: unknown, names: { input: string; output: string; details: string }): ReportedUsage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const u = value as Record<string, unknown>;
  const totals = counts(u, [names.input, names.output]);
  const detailsValue = u[names.details];
  const details = counts(typeof detailsValue === 'object' && detailsValue !== null ? (detailsValue as Record<string, unknown>) : {}, ['cached_tokens', 'cache_write_tokens']);
  const invalid = totals.invalid ?? details.invalid;
  const inputTokens = totals.values[names.input];
  const outputTokens = totals.values[names.output];
  if (inputTokens === undefined && outputTokens === undefined) return invalid === undefined ? undefined : { invalid };
  const usage: ReportedUsage = { inputTokens, outputTokens, cachedTokens: details.values.cached_tokens ?? 0, cacheWriteTokens: details.values.cache_write_tokens ?? 0, cacheWrite1hTokens: 0 };
  return invalid === undefined ? usage : { ...usage, invalid };
}

/**
 * The event that ends a Chat Completions stream that broke off: `data: {"error": …}`, which the
 * `openai` SDK raises as an `APIError` carrying Bursar's code.
 *
 * @example
 * openaiStreamError(gatewayError('upstream_error', 'the provider ended the stream early')) // 'data: {"error":{…"code":"upstream_error"…}}\n\n'
 */
export function openaiStreamError(error: GatewayError): string {
  return formatSse(JSON.stringify(errorBody('openai', error)));
}

const chatUsage = (value: unknown) => openaiUsage(value, { input: 'prompt_tokens', output: 'completion_tokens', details: 'prompt_tokens_details' });

class ChatObserver extends TextObserver {
  constructor(private readonly clientWantsUsage: boolean) {
    super();
  }

  forward(event: SseEvent): string | null {
    if (event.data === '[DONE]') {
      this.done = true;
      return event.raw;
    }
    const chunk = this.json(event);
    if (chunk === undefined) return null;
    if (chunk === null) return event.raw;
    const usage = chatUsage(chunk.usage);
    if (usage) this.reported = usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) this.keepDelta((choice as { delta?: unknown }).delta);
    if (this.clientWantsUsage || !('usage' in chunk)) return event.raw;
    // Bursar asked for usage; the client did not: send what it would have got without us.
    if (choices.length === 0 && usage) return null;
    delete chunk.usage;
    return formatSse(JSON.stringify(chunk), event.event);
  }

  /**
   * Keeps a delta's text (the role's name aside): its `content` at once when that is all it holds,
   * as in nearly every chunk, else every string in it.
   */
  private keepDelta(delta: unknown): void {
    const content = typeof delta === 'object' && delta !== null ? (delta as { content?: unknown }).content : undefined;
    if (typeof content === 'string' && onlyContent(delta as object)) {
      if (content !== 'assistant') this.keep(content);
      return;
    }
    for (const piece of collectText(delta).texts) if (piece !== 'assistant') this.keep(piece);
  }
}

/** Whether an object's only key is `content`. */
function onlyContent(value: object): boolean {
  for (const key in value) if (key !== 'content') return false;
  return true;
}

/** `POST /v1/chat/completions` (OpenAI Chat Completions). */
export const openaiChat: RouteAdapter = {
  provider: 'openai',
  route: '/v1/chat/completions',
  embeddings: false,
  inputRoute: 'chat',
  parse,
  upstreamBody(body, call, maxOutputTokens) {
    const out: Record<string, unknown> = { ...body };
    // Newer models take only max_completion_tokens; keep whichever field the client used.
    if ('max_tokens' in body && body.max_tokens !== null && body.max_tokens !== undefined && !('max_completion_tokens' in body)) out.max_tokens = maxOutputTokens;
    else out.max_completion_tokens = maxOutputTokens;
    if (call.stream) out.stream_options = { ...((body.stream_options) ?? {}), include_usage: true };
    return out;
  },
  usageFromBody(body) {
    return chatUsage(usageField(body));
  },
  observe(body) {
    const options = body.stream_options as { include_usage?: unknown } | undefined;
    return new ChatObserver(options?.include_usage === true);
  },
  streamError: openaiStreamError,
  synthetic(call, usage) {
    const id = `chatcmpl-dryrun-${Date.now().toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const content = dryRunText;
    const u = { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens };
    const json = { id, object: 'chat.completion', created, model: call.model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }], usage: u };
    const base = { id, object: 'chat.completion.chunk', created, model: call.model };
    const events = [
      formatSse(JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: null }] })),
      formatSse(JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })),
      formatSse('[DONE]'),
    ];
    return { json, events };
  },
};
