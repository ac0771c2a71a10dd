import type { InputRoute } from '../../pricing/tokens.js';
import { gatewayError, isGatewayError, type GatewayError, type Provider } from '../errors.js';
import { gatewayLimits } from '../limits.js';
import type { SseEvent } from '../sse.js';

/** Token counts of one call, normalised: `inputTokens` includes cached and cache-write tokens. */
export interface CallUsage {
  inputTokens: number;
  cachedTokens: number;
  /** Cache writes billed at the (5-minute) write price. */
  cacheWriteTokens: number;
  /** Anthropic 1-hour cache writes. */
  cacheWrite1hTokens: number;
  outputTokens: number;
}

/** What the gateway needs to know about a request before it reserves. */
export interface ParsedCall {
  model: string;
  stream: boolean;
  /** The request's own output cap (max_tokens and friends), if it set one. */
  maxOutputTokens: number | undefined;
  /** How many completions the request asks for (OpenAI `n`); multiplies the output bound. */
  choices: number;
  /**
   * Whether the provider may bill cache writes (priced above plain input): false when it cannot,
   * true for 5-minute writes, '1h' for 1-hour writes, undefined when unknown (assume the dearest).
   */
  writesCache: boolean | '1h' | undefined;
}

/**
 * Usage as a provider reported it, as far as it could be read: a count that is negative or not a
 * whole number is left out and named in `invalid` (`output_tokens -5`).
 */
export type ReportedUsage = Partial<CallUsage> & { invalid?: string };

/** Watches a relayed stream: decides what the client sees and collects usage on the way. */
export interface StreamObserver {
  /** The text to send the client for this event (usually `event.raw`), or null to drop it. */
  forward(event: SseEvent): string | null;
  /** Usage the provider reported, as far as it has. */
  usage(): ReportedUsage | undefined;
  /** Output text streamed so far (for pricing a stream that reported no usage). */
  outputText(): string;
  /** True once the provider's end-of-stream marker arrived. */
  finished(): boolean;
  /** True when an event was not the provider's format (not relayed): what the stream held cannot be known. */
  unreadable(): boolean;
}

/**
 * One provider route: how to read its requests, prepare them for the upstream, find usage in
 * responses and streams, and answer in its shape. One adapter per file under providers/.
 */
export interface RouteAdapter {
  provider: Provider;
  /** Path on Bursar, e.g. `/v1/chat/completions`. */
  route: string;
  /** Whether the model must be an embedding model (true) or a chat model (false). */
  embeddings: boolean;
  /** How the tokenizer reads this route's input. */
  inputRoute: InputRoute;
  parse(body: Record<string, unknown>): ParsedCall | GatewayError;
  /** The body to send upstream: output cap set, usage requested on streams. */
  upstreamBody(body: Record<string, unknown>, call: ParsedCall, maxOutputTokens: number): Record<string, unknown>;
  usageFromBody(body: unknown): ReportedUsage | undefined;
  observe(body: Record<string, unknown>): StreamObserver;
  /** The event that tells a stream's client its answer broke off, in the provider's error shape. */
  streamError(error: GatewayError): string;
  /** A made-up answer for dry-run mode, carrying the estimated usage. */
  synthetic(call: ParsedCall, usage: CallUsage): { json: Record<string, unknown>; events: string[] };
}

/**
 * What every observer of a generating stream keeps: usage as the provider reported it, the
 * output text (bounded, to price a stream that reported none), and whether the end arrived.
 * Each provider's observer only reads its events (`forward`).
 */
export abstract class TextObserver implements StreamObserver {
  protected reported: ReportedUsage | undefined;
  protected done = false;
  private readonly text: string[] = [];
  private textBytes = 0;
  private unreadableEvents = 0;

  abstract forward(event: SseEvent): string | null;

  /**
   * The event's data as a JSON object; null when it carries none (a comment, a keep-alive). An
   * event no provider sends (a line that is no SSE field, data that is not a JSON object) gives
   * undefined and is counted: it is not relayed, and what the stream cost can no longer be read
   * from it.
   */
  protected json(event: SseEvent): Record<string, unknown> | null | undefined {
    if (!event.malformed && event.data === '') return null;
    if (!event.malformed) {
      try {
        const value: unknown = JSON.parse(event.data);
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
      } catch {
        // Counted below.
      }
    }
    this.unreadableEvents += 1;
    return undefined;
  }

  /** Keeps a piece of output text while the kept text is under its bound. */
  protected keep(piece: string): void {
    if (this.textBytes >= gatewayLimits.streamTextBytesMax) return;
    this.text.push(piece);
    this.textBytes += piece.length;
  }

  usage(): ReportedUsage | undefined {
    return this.reported;
  }

  unreadable(): boolean {
    return this.unreadableEvents > 0;
  }

  outputText(): string {
    return this.text.join('');
  }

  finished(): boolean {
    return this.done;
  }
}

/** The text of every dry-run answer: nothing was forwarded. */
export const dryRunText = '[bursar dry-run] no request was sent to the provider';

/** The `usage` field of a response body, whatever the body is. */
export function usageField(body: unknown): unknown {
  return (body as { usage?: unknown } | null)?.usage;
}

/** Checks the model every request names; returns it or the refusal. */
export function readModel(body: Record<string, unknown>): string | GatewayError {
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0) return gatewayError('bad_request', 'model is required (a model id string)', { param: 'model' });
  if (model.length > gatewayLimits.modelIdCharsMax) return gatewayError('bad_request', `model is longer than ${gatewayLimits.modelIdCharsMax} characters`, { param: 'model' });
  return model;
}

/** Reads an optional output cap field; refuses nonsense values. */
function readCap(body: Record<string, unknown>, field: string): number | undefined | GatewayError {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > gatewayLimits.maxOutputTokensAbsolute) {
    return gatewayError('bad_request', `${field} must be a whole number from 1 to ${gatewayLimits.maxOutputTokensAbsolute}`, { param: field });
  }
  return value as number;
}

/** What every generating route reads before it can be priced. */
export interface Generating {
  model: string;
  stream: boolean;
  /** The request's own output cap: the first of the cap fields it sets. */
  cap: number | undefined;
}

/**
 * Reads a generating request: the model, the stream flag, the route's own required input
 * (`input` checks it), and its output cap fields (each checked; the first set wins).
 *
 * @example
 * readGenerating(body, ['max_tokens'], (b) => (Array.isArray(b.messages) ? undefined : gatewayError('bad_request', 'messages…')))
 */
export function readGenerating(body: Record<string, unknown>, capFields: readonly string[], input: (body: Record<string, unknown>) => GatewayError | undefined): Generating | GatewayError {
  const model = readModel(body);
  if (isGatewayError(model)) return model;
  const stream = body.stream ?? false;
  if (typeof stream !== 'boolean') return gatewayError('bad_request', 'stream must be true or false', { param: 'stream' });
  const missing = input(body);
  if (missing) return missing;
  let cap: number | undefined;
  for (const field of capFields) {
    const value = readCap(body, field);
    if (isGatewayError(value)) return value;
    cap ??= value;
  }
  return { model, stream, cap };
}

/** The refusal for a request whose messages are missing or empty (chat and Anthropic messages). */
export function messagesMissing(body: Record<string, unknown>): GatewayError | undefined {
  return Array.isArray(body.messages) && body.messages.length > 0 ? undefined : gatewayError('bad_request', 'messages must be a non-empty array', { param: 'messages' });
}

/** Reads a non-negative whole number field, or undefined. */
export function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Reads token counts from a usage object: each name's value when it is a whole number from 0,
 * and, in `invalid`, the first one present that is not (a provider reporting nonsense).
 *
 * @example
 * counts({ input_tokens: 9, output_tokens: -5 }, ['input_tokens', 'output_tokens']) // { values: { input_tokens: 9 }, invalid: 'output_tokens -5' }
 */
export function counts<K extends string>(usage: Record<string, unknown>, names: readonly K[]): { values: Partial<Record<K, number>>; invalid?: string } {
  const values: Partial<Record<K, number>> = {};
  let invalid: string | undefined;
  for (const name of names) {
    const value = usage[name];
    const read = count(value);
    if (read !== undefined) values[name] = read;
    else if (value !== undefined && value !== null) invalid ??= `${name} ${String(JSON.stringify(value)).slice(0, 40)}`;
  }
  return invalid === undefined ? { values } : { values, invalid };
}
