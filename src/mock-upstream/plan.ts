import { countChatInputTokens } from '../pricing/index.js';
import type { MockControls } from './controls.js';
import { limits } from './limits.js';
import type { MockCall } from './requests.js';

/** Everything one answer is built from, decided before the first byte is sent. */
export interface CallPlan {
  call: MockCall;
  /** Sequence number of this call on this server (ids are derived from it). */
  seq: number;
  createdS: number;
  /** Prompt tokens, counted with src/pricing/tokens.ts and no margin. */
  promptTokens: number;
  /** Of the prompt, read from the cache. */
  cachedTokens: number;
  /** Of the prompt, written to the cache. */
  cacheWriteTokens: number;
  /** Output tokens per choice. */
  outputTokens: number;
  /**
   * Output tokens per choice as the usage reports them: what was generated, except under the
   * usage faults (`huge-usage`, `over-usage`: more; `negative-usage`, `fractional-usage`: nonsense).
   */
  reportedOutputTokens: number;
  /** True when generation stopped at the request's cap (finish_reason "length", "max_tokens"). */
  capped: boolean;
  /** The generated text, split into the stream's content chunks. */
  pieces: string[];
  /** Output tokens in each piece. */
  pieceTokens: number[];
  text: string;
  /** False under the `no-usage` fault: the answer carries no usage at all. */
  usage: boolean;
}

/** The word the mock repeats: one token, alone or after a space, in o200k and cl100k. */
const word = 'hi';

/**
 * Text of exactly `tokens` tokens by Bursar's tokenizer: "hi hi hi…".
 *
 * @example
 * generatedText(3) // 'hi hi hi'
 */
export function generatedText(tokens: number): string {
  return tokens <= 0 ? '' : word + ` ${word}`.repeat(tokens - 1);
}

/**
 * The same text split into at most `chunks` pieces on token boundaries (fewer when there are
 * fewer tokens than chunks); joined, they give `generatedText(tokens)`.
 *
 * @example
 * splitTokens(5, 2) // ['hi hi', ' hi hi hi']
 */
export function splitTokens(tokens: number, chunks: number): string[] {
  return pieceSizes(tokens, chunks).map((size, k) => (k === 0 ? generatedText(size) : ` ${word}`.repeat(size)));
}

/** How many tokens each of `splitTokens`' pieces holds. */
function pieceSizes(tokens: number, chunks: number): number[] {
  const count = Math.min(Math.max(1, chunks), tokens);
  return Array.from({ length: count }, (_, k) => Math.floor(((k + 1) * tokens) / count) - Math.floor((k * tokens) / count));
}

/** What the usage claims was generated, per choice: the truth unless a usage fault says otherwise. */
function reportedOutput(call: MockCall, controls: MockControls, outputTokens: number): number {
  switch (controls.fault) {
    case 'huge-usage':
      return limits.hugeUsageOutputTokens;
    case 'over-usage':
      return 2 * (call.cap ?? outputTokens) + limits.overUsageExtraTokens;
    case 'negative-usage':
      return -Math.max(1, outputTokens);
    case 'fractional-usage':
      return outputTokens + 0.5;
    default:
      return outputTokens;
  }
}

/** The `huge-chunk` text: " hi" repeated to `hugeChunkBytes`, sent as one piece. */
function hugeText(): string {
  return ` ${word}`.repeat(Math.floor(limits.hugeChunkBytes / (word.length + 1)));
}

function outputFor(call: MockCall, controls: MockControls): { outputTokens: number; capped: boolean } {
  if (call.route === 'embeddings') return { outputTokens: 0, capped: false };
  if (controls.outputTokens === 'max') {
    return call.cap === undefined ? { outputTokens: limits.outputTokensDefault, capped: false } : { outputTokens: call.cap, capped: true };
  }
  if (call.cap !== undefined && controls.outputTokens > call.cap) return { outputTokens: call.cap, capped: true };
  return { outputTokens: controls.outputTokens, capped: false };
}

/**
 * Decides the answer to a call: prompt tokens counted exactly as a gateway using
 * `countChatInputTokens(…, { margin: false })` would, cache counts clamped to the prompt, output
 * tokens from the controls capped by the request, and the text to stream.
 *
 * @example
 * planCall(call, { ...defaultControls, outputTokens: 5, chunks: 2 }, 1, Date.now()).pieces // ['hi hi', ' hi hi hi']
 */
export function planCall(call: MockCall, controls: MockControls, seq: number, nowMs: number): CallPlan {
  const promptTokens = countChatInputTokens(call.route, call.body, call.model, { margin: false }).tokens;
  const cachedTokens = Math.min(controls.cachedTokens, promptTokens);
  const cacheWriteTokens = Math.min(controls.cacheWriteTokens, promptTokens - cachedTokens);
  const { outputTokens, capped } = outputFor(call, controls);
  const huge = controls.fault === 'huge-chunk' && call.route !== 'embeddings';
  const pieces = huge ? [hugeText()] : splitTokens(outputTokens, controls.chunks);
  const pieceTokens = huge ? [outputTokens] : pieceSizes(outputTokens, controls.chunks);
  return {
    call,
    seq,
    createdS: Math.floor(nowMs / 1000),
    promptTokens,
    cachedTokens,
    cacheWriteTokens,
    outputTokens,
    reportedOutputTokens: reportedOutput(call, controls, outputTokens),
    capped,
    pieces,
    pieceTokens,
    text: pieces.join(''),
    usage: controls.fault !== 'no-usage',
  };
}
