import type { InputRoute } from '../../pricing/index.js';
import type { GatewayError, Provider } from '../errors.js';
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

/** Watches a relayed stream: decides what the client sees and collects usage on the way. */
export interface StreamObserver {
  /** The text to send the client for this event (usually `event.raw`), or null to drop it. */
  forward(event: SseEvent): string | null;
  /** Usage the provider reported, as far as it has. */
  usage(): Partial<CallUsage> | undefined;
  /** Output text streamed so far (for pricing a stream that reported no usage). */
  outputText(): string;
  /** True once the provider's end-of-stream marker arrived. */
  finished(): boolean;
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
  usageFromBody(body: unknown): Partial<CallUsage> | undefined;
  observe(body: Record<string, unknown>): StreamObserver;
  /** A made-up answer for dry-run mode, carrying the estimated usage. */
  synthetic(call: ParsedCall, usage: CallUsage): { json: Record<string, unknown>; events: string[] };
}

/** Reads a non-negative whole number field, or undefined. */
export function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

const partTypes = new Set(['image_url', 'image', 'input_image', 'input_audio', 'document', 'input_file']);
const collectNodesMax = 200_000;

/**
 * Collects the text of arbitrarily nested message content (every string except `type` tags),
 * and counts images and files separately. Iterative, and bounded in how much it visits.
 *
 * @example
 * collectText([{ role: 'user', content: 'hi' }]) // { text: ['user', 'hi'], parts: 0 }
 */
export function collectText(root: unknown): { text: string[]; parts: number } {
  const out = { text: [] as string[], parts: 0 };
  const stack: unknown[] = [root];
  let visited = 0;
  while (stack.length > 0 && visited < collectNodesMax) {
    visited += 1;
    const value = stack.pop();
    if (typeof value === 'string') {
      out.text.push(value);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) stack.push(value[i]);
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if (typeof record.type === 'string' && partTypes.has(record.type)) {
        out.parts += 1;
        continue;
      }
      const entries = Object.entries(record).filter(([key]) => key !== 'type' && key !== 'cache_control');
      for (let i = entries.length - 1; i >= 0; i -= 1) stack.push(entries[i]?.[1]);
    }
  }
  return out;
}
