import { assert, costMicros, limits as coreLimits, type Micros } from '../core/index.js';
import type { PriceEntry } from './schema.js';

/**
 * Token counts of one call, normalised the OpenAI way: `inputTokens` is the whole prompt and
 * includes the cached and cache-write tokens (Anthropic reports them apart; add them back).
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input served from the prompt cache (OpenAI cached tokens, Anthropic cache reads). */
  cachedTokens?: number;
  /** Input written to the cache: Anthropic 5-minute writes, OpenAI cache writes. */
  cacheWriteTokens?: number;
  /** Input written to Anthropic's 1-hour cache. */
  cacheWrite1hTokens?: number;
}

/** A call's cost, part by part; each part rounded up to a whole micro, then added. */
export interface CostBreakdown {
  costMicros: Micros;
  inputMicros: Micros;
  cachedMicros: Micros;
  cacheWriteMicros: Micros;
  outputMicros: Micros;
  /** True when the long-context prices applied to the whole request. */
  longContext: boolean;
}

interface Prices {
  input: number;
  output: number;
  cachedInput: number | null;
  cacheWrite: number | null;
  cacheWrite1h: number | null;
  longContext: boolean;
}

/** The prices that apply to a request with `inputTokens` of prompt. */
function pricesFor(entry: PriceEntry, inputTokens: number): Prices {
  const long = entry.longContext;
  if (long && inputTokens > long.inputTokensAbove) {
    return { input: long.input, output: long.output, cachedInput: long.cachedInput, cacheWrite: long.cacheWrite, cacheWrite1h: long.cacheWrite1h ?? null, longContext: true };
  }
  return { input: entry.input, output: entry.output, cachedInput: entry.cachedInput, cacheWrite: entry.cacheWrite, cacheWrite1h: entry.cacheWrite1h ?? null, longContext: false };
}

function assertTokens(value: number | undefined, name: string): number {
  const tokens = value ?? 0;
  assert(Number.isSafeInteger(tokens) && tokens >= 0 && tokens <= coreLimits.tokensPerRequestMax, `${name} must be a whole number of tokens from 0 to ${coreLimits.tokensPerRequestMax}, got ${tokens}`);
  return tokens;
}

/**
 * Prices reported usage: uncached input at the input price, cached input at `cachedInput`,
 * cache writes at `cacheWrite` (1-hour writes at `cacheWrite1h`), output at the output price, each
 * part rounded up to a whole micro. A missing cache price bills those tokens as plain input. When
 * a provider reports more cached and written tokens than input, they are still all charged
 * (uncached input counts as zero, never negative). Token counts must be validated first; an
 * invalid one is a programmer error and throws.
 *
 * @example
 * // gpt-4o-mini: 1,000 input (400 cached) and 200 output tokens
 * priceUsage(entry, { inputTokens: 1_000, cachedTokens: 400, outputTokens: 200 }).costMicros
 * // 90 (600 × 0.15) + 30 (400 × 0.075) + 120 (200 × 0.60) = 240
 */
export function priceUsage(entry: PriceEntry, usage: TokenUsage): CostBreakdown {
  const input = assertTokens(usage.inputTokens, 'inputTokens');
  const output = assertTokens(usage.outputTokens, 'outputTokens');
  const cached = assertTokens(usage.cachedTokens, 'cachedTokens');
  const written = assertTokens(usage.cacheWriteTokens, 'cacheWriteTokens');
  const written1h = assertTokens(usage.cacheWrite1hTokens, 'cacheWrite1hTokens');
  const prompt = Math.max(input, cached + written + written1h);
  const prices = pricesFor(entry, prompt);
  const inputMicros = costMicros(prompt - cached - written - written1h, prices.input);
  const cachedMicros = costMicros(cached, prices.cachedInput ?? prices.input);
  const writeMicros = costMicros(written, prices.cacheWrite ?? prices.input);
  const write1hMicros = costMicros(written1h, prices.cacheWrite1h ?? prices.cacheWrite ?? prices.input);
  const outputMicros = costMicros(output, prices.output);
  const cacheWriteMicros = writeMicros + write1hMicros;
  return {
    costMicros: inputMicros + cachedMicros + cacheWriteMicros + outputMicros,
    inputMicros,
    cachedMicros,
    cacheWriteMicros,
    outputMicros,
    longContext: prices.longContext,
  };
}

/** What bounds a request's cost before it is sent. */
export interface WorstCaseInput {
  inputTokens: number;
  maxOutputTokens: number;
  /**
   * Whether the request may write to the prompt cache: false bills all input at the input price,
   * true at the higher of input and the 5-minute write price, '1h' (and the default, when the
   * caller does not know) at the highest of input and both write prices.
   */
  cacheWrite?: boolean | '1h';
}

/**
 * The most a request can cost: every input token at the highest input-side price it may be
 * billed at (no cache discount assumed) plus `maxOutputTokens` at the output price, with the
 * long-context prices when the input is over their threshold. This is what the gateway reserves.
 *
 * @example
 * // gpt-4o-mini, 1,000 input tokens, up to 500 output tokens
 * worstCaseMicros(entry, { inputTokens: 1_000, maxOutputTokens: 500, cacheWrite: false })
 * // 150 + 300 = 450
 */
export function worstCaseMicros(entry: PriceEntry, request: WorstCaseInput): Micros {
  const input = assertTokens(request.inputTokens, 'inputTokens');
  const output = assertTokens(request.maxOutputTokens, 'maxOutputTokens');
  const prices = pricesFor(entry, input);
  const mode = request.cacheWrite ?? '1h';
  let inputPrice = prices.input;
  if (mode !== false) inputPrice = Math.max(inputPrice, prices.cacheWrite ?? 0);
  if (mode === '1h') inputPrice = Math.max(inputPrice, prices.cacheWrite1h ?? 0);
  return costMicros(input, inputPrice) + costMicros(output, prices.output);
}
