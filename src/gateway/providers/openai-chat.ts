import { gatewayError, isGatewayError } from '../errors.js';
import { gatewayLimits } from '../limits.js';
import { formatSse, type SseEvent } from '../sse.js';
import { collectText, count, type CallUsage, type ParsedCall, type RouteAdapter, type StreamObserver } from './adapter.js';

/** Checks the fields every OpenAI-shaped request shares; returns the model or an error. */
export function readModel(body: Record<string, unknown>) {
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0) return gatewayError('bad_request', 'model is required (a model id string)', { param: 'model' });
  if (model.length > gatewayLimits.modelIdCharsMax) return gatewayError('bad_request', `model is longer than ${gatewayLimits.modelIdCharsMax} characters`, { param: 'model' });
  return model;
}

/** Reads an optional output cap field; refuses nonsense values. */
export function readCap(body: Record<string, unknown>, field: string) {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > gatewayLimits.maxOutputTokensAbsolute) {
    return gatewayError('bad_request', `${field} must be a whole number from 1 to ${gatewayLimits.maxOutputTokensAbsolute}`, { param: field });
  }
  return value as number;
}

export function readStream(body: Record<string, unknown>) {
  if (body.stream === undefined || body.stream === null) return false;
  if (typeof body.stream !== 'boolean') return gatewayError('bad_request', 'stream must be true or false', { param: 'stream' });
  return body.stream;
}

function parse(body: Record<string, unknown>) {
  const model = readModel(body);
  if (typeof model !== 'string') return model;
  const stream = readStream(body);
  if (typeof stream !== 'boolean') return stream;
  if (!Array.isArray(body.messages) || body.messages.length === 0) return gatewayError('bad_request', 'messages must be a non-empty array', { param: 'messages' });
  const maxTokens = readCap(body, 'max_tokens');
  if (isGatewayError(maxTokens)) return maxTokens;
  const maxCompletion = readCap(body, 'max_completion_tokens');
  if (isGatewayError(maxCompletion)) return maxCompletion;
  const n = body.n ?? 1;
  if (!Number.isSafeInteger(n) || (n as number) < 1 || (n as number) > gatewayLimits.choicesMax) return gatewayError('bad_request', `n must be a whole number from 1 to ${gatewayLimits.choicesMax}`, { param: 'n' });
  const call: ParsedCall = { model, stream, maxOutputTokens: maxCompletion ?? maxTokens, choices: n as number, writesCache: undefined };
  return call;
}

function usageOf(value: unknown): Partial<CallUsage> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const u = value as Record<string, unknown>;
  const details = (u.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const inputTokens = count(u.prompt_tokens);
  const outputTokens = count(u.completion_tokens);
  if (inputTokens === undefined && outputTokens === undefined) return undefined;
  return { inputTokens, outputTokens, cachedTokens: count(details.cached_tokens) ?? 0, cacheWriteTokens: count(details.cache_write_tokens) ?? 0, cacheWrite1hTokens: 0 };
}

class ChatObserver implements StreamObserver {
  private reported: Partial<CallUsage> | undefined;
  private readonly text: string[] = [];
  private textBytes = 0;
  private done = false;

  constructor(private readonly clientWantsUsage: boolean) {}

  forward(event: SseEvent): string | null {
    if (event.data === '[DONE]') {
      this.done = true;
      return event.raw;
    }
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(event.data) as Record<string, unknown>;
    } catch {
      return event.raw;
    }
    const usage = usageOf(chunk.usage);
    if (usage) this.reported = usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) this.keep((choice as { delta?: unknown }).delta);
    if (this.clientWantsUsage || !('usage' in chunk)) return event.raw;
    // Bursar asked for usage; the client did not: send what it would have got without us.
    if (choices.length === 0 && usage) return null;
    delete chunk.usage;
    return formatSse(JSON.stringify(chunk), event.event);
  }

  private keep(delta: unknown): void {
    if (this.textBytes > gatewayLimits.streamTextBytesMax) return;
    for (const piece of collectText(delta).text) {
      if (piece === 'assistant') continue;
      this.text.push(piece);
      this.textBytes += piece.length;
    }
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
    return usageOf((body as { usage?: unknown } | null)?.usage);
  },
  observe(body) {
    const options = body.stream_options as { include_usage?: unknown } | undefined;
    return new ChatObserver(options?.include_usage === true);
  },
  synthetic(call, usage) {
    const id = `chatcmpl-dryrun-${Date.now().toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const content = '[bursar dry-run] no request was sent to the provider';
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
