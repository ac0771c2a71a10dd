import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { limits } from './limits.js';

/**
 * Failures the mock can play, per server (`fault` option) or per request (`x-mock-fault`):
 * `500` and `429` (provider-shaped errors, 429 with retry-after), `timeout` (never answers),
 * `truncate` (cut halfway between two events, no usage or end marker), `cut-mid-chunk` (cut
 * halfway through an event's bytes; a non-streamed body is cut like `truncate`), `stall` (half
 * the answer, then nothing more until the client leaves), `garbage` (a 200 whose stream or body
 * is not the provider's format after the first event), `no-usage` (ends normally, no usage
 * anywhere), `slow-stream` (a delay before every content chunk), `huge-chunk` (the whole answer
 * in one content chunk of `hugeChunkBytes`), `huge-usage` (usage claiming 200,000,000 output
 * tokens, beyond any real request), `over-usage` (usage claiming twice the request's output cap
 * and more: above what the request could have reserved), `negative-usage` and
 * `fractional-usage` (output tokens reported as a negative or a non-whole number).
 *
 * @example
 * await fetch(url, { method: 'POST', headers: { 'x-mock-fault': mockFaults[0] }, body }); // a 500
 */
export const mockFaults = [
  '500',
  '429',
  'timeout',
  'truncate',
  'cut-mid-chunk',
  'stall',
  'garbage',
  'no-usage',
  'slow-stream',
  'huge-chunk',
  'huge-usage',
  'over-usage',
  'negative-usage',
  'fractional-usage',
] as const;
/** One of `mockFaults`. */
export type MockFault = (typeof mockFaults)[number];

/** How one call behaves. Server options set the defaults; `x-mock-*` headers override them. */
export interface MockControls {
  /** Wait before answering (time to first byte). */
  latencyMs: number;
  /** Content chunks a stream is split into. */
  chunks: number;
  /** Wait before each content chunk of a stream. */
  chunkDelayMs: number;
  /** Output tokens to generate, capped by the request's own maximum; 'max' = exactly that maximum. */
  outputTokens: number | 'max';
  /** Prompt tokens reported as read from the cache. */
  cachedTokens: number;
  /** Prompt tokens reported as written to the cache. */
  cacheWriteTokens: number;
  fault: MockFault | null;
}

const count = (max: number) => z.number().int().min(0).max(max);

/**
 * Validates server-level defaults; a bad option is a programmer error.
 *
 * @example
 * controlsSchema.safeParse({ ...defaultControls, chunks: 0 }).success // false
 */
export const controlsSchema = z.strictObject({
  latencyMs: count(limits.delayMsMax),
  chunks: z.number().int().min(1).max(limits.chunksMax),
  chunkDelayMs: count(limits.delayMsMax),
  outputTokens: z.union([count(limits.outputTokensMax), z.literal('max')]),
  cachedTokens: count(limits.tokensMax),
  cacheWriteTokens: count(limits.tokensMax),
  fault: z.enum(mockFaults).nullable(),
});

/**
 * The controls when neither the server nor the request sets them: an immediate answer of 16
 * output tokens in 4 chunks, no cache, no fault.
 *
 * @example
 * startMockUpstream({ ...defaultControls, outputTokens: 64 });
 */
export const defaultControls: MockControls = {
  latencyMs: 0,
  chunks: limits.chunksDefault,
  chunkDelayMs: 0,
  outputTokens: limits.outputTokensDefault,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  fault: null,
};

type NumberControl = 'latencyMs' | 'chunks' | 'chunkDelayMs' | 'cachedTokens' | 'cacheWriteTokens';

const numberHeaders: { header: string; key: NumberControl; min: number; max: number }[] = [
  { header: 'x-mock-latency-ms', key: 'latencyMs', min: 0, max: limits.delayMsMax },
  { header: 'x-mock-chunks', key: 'chunks', min: 1, max: limits.chunksMax },
  { header: 'x-mock-chunk-delay-ms', key: 'chunkDelayMs', min: 0, max: limits.delayMsMax },
  { header: 'x-mock-cached-tokens', key: 'cachedTokens', min: 0, max: limits.tokensMax },
  { header: 'x-mock-cache-write-tokens', key: 'cacheWriteTokens', min: 0, max: limits.tokensMax },
];

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function wholeNumber(text: string, min: number, max: number): number | undefined {
  if (!/^\d{1,12}$/.test(text.trim())) return undefined;
  const value = Number(text.trim());
  return value >= min && value <= max ? value : undefined;
}

/**
 * Applies a request's `x-mock-*` headers over the server's controls. A bad header value is
 * answered with a message naming the header (the caller turns it into a 400).
 *
 * @example
 * controlsFor(defaultControls, { 'x-mock-output-tokens': 'max' }) // { ok: true, controls: { …, outputTokens: 'max' } }
 */
export function controlsFor(base: MockControls, headers: IncomingHttpHeaders): { ok: true; controls: MockControls } | { ok: false; message: string } {
  const controls: MockControls = { ...base };
  for (const { header: name, key, min, max } of numberHeaders) {
    const text = header(headers, name);
    if (text === undefined) continue;
    const value = wholeNumber(text, min, max);
    if (value === undefined) return { ok: false, message: `${name} must be a whole number from ${min} to ${max}` };
    controls[key] = value;
  }
  const output = header(headers, 'x-mock-output-tokens');
  if (output !== undefined) {
    const value = output.trim() === 'max' ? 'max' : wholeNumber(output, 0, limits.outputTokensMax);
    if (value === undefined) return { ok: false, message: `x-mock-output-tokens must be "max" or a whole number from 0 to ${limits.outputTokensMax}` };
    controls.outputTokens = value;
  }
  const fault = header(headers, 'x-mock-fault');
  if (fault !== undefined) {
    const parsed = z.enum(mockFaults).safeParse(fault.trim());
    if (!parsed.success) return { ok: false, message: `x-mock-fault must be one of ${mockFaults.join(', ')}` };
    controls.fault = parsed.data;
  }
  return { ok: true, controls };
}
