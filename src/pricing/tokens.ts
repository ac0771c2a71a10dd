import { loadBpeCounter, type BpeCounter } from './bpe/index.js';
import { pricingLimits } from './limits.js';
import { SegmentCounts } from './segment-counts.js';

/** An encoding's counter (special-token text counts as plain text), and the counts of the segments it counted lately. */
interface Encoder {
  count: (text: string) => number;
  segments: SegmentCounts;
}

// Each encoding's table takes a few megabytes (read from gpt-tokenizer's rank files into typed
// arrays, see ./bpe): load one only when a model first needs it.
const encoders = new Map<EncodingName, Encoder>();

function encoder(encoding: EncodingName): Encoder {
  let found = encoders.get(encoding);
  if (!found) {
    const segments = new SegmentCounts(pricingLimits.segmentCountsCharsMax, pricingLimits.segmentCountsSegmentCharsMin);
    const counter: BpeCounter = loadBpeCounter(encoding);
    found = { count: (text) => counter.count(text), segments };
    encoders.set(encoding, found);
  }
  return found;
}

/**
 * How often segments' counts were found kept (see `SegmentCounts`), over every encoding, and
 * the characters kept; `reset` empties them first.
 *
 * @example
 * segmentCountStats().hits // segments not tokenized again
 */
export function segmentCountStats(options: { reset?: boolean } = {}): { hits: number; misses: number; chars: number } {
  const stats = { hits: 0, misses: 0, chars: 0 };
  for (const { segments } of encoders.values()) {
    if (options.reset) segments.clear();
    stats.hits += segments.hits;
    stats.misses += segments.misses;
    stats.chars += segments.size;
  }
  return stats;
}

/**
 * Extra tokens added to an o200k count for Claude models on Anthropic's older tokenizer
 * (Claude 3 to Opus 4.6 / Sonnet 4.6 / Haiku 4.5), which counts somewhat more tokens than o200k.
 */
export const anthropicTokenMarginPercent = 20;

/**
 * Margin for Claude models on Anthropic's newer tokenizer (Opus 4.7 and later, every Claude 5,
 * Fable and Mythos model): Anthropic documents that it counts about 30% more tokens than the
 * older one for the same text, so the older margin is compounded (1.2 × 1.3 ≈ 1.56, rounded up).
 */
export const anthropicNewTokenizerMarginPercent = 60;

/**
 * Tokens counted for each image in a request, whatever its size. Conservative: an OpenAI
 * high-detail image costs at most about 1,500 tokens on GPT-4o and about 2,500 on the patch-based
 * mini models; an Anthropic image at most about 1,600 (older models) and more on newer ones at
 * full resolution. Settlement uses the provider's reported usage, so this only sizes the reservation.
 */
export const imageTokensPerPart = 3_000;

/**
 * Tokens counted for each file, PDF document or audio part. A fixed guess: a long PDF can cost
 * more (roughly 1,500 to 3,000 tokens a page), which then shows as an overrun at settlement.
 */
export const fileTokensPerPart = 10_000;

/** Tokens a chat format adds around each message (role and delimiters). */
export const messageOverheadTokens = 4;

/** Tokens a chat format adds to prime the reply. */
export const replyPrimingTokens = 3;

/** The encodings Bursar counts with (gpt-tokenizer's, counted by ./bpe to the same result). */
export type EncodingName = 'o200k_base' | 'cl100k_base';

/**
 * The tokenizer for a model: cl100k_base for GPT-3.5, GPT-4 (not 4o/4.1/4.5) and the
 * text-embedding models; o200k_base for everything newer, and for Claude models (which are then
 * given a margin).
 *
 * @example
 * encodingForModel('gpt-4-turbo') // 'cl100k_base'
 * encodingForModel('gpt-5.4-mini') // 'o200k_base'
 */
export function encodingForModel(model: string): EncodingName {
  if (/^(gpt-3\.5|gpt-4(-|$)|text-embedding-|davinci|babbage)/.test(model)) return 'cl100k_base';
  return 'o200k_base';
}

/**
 * The margin added to token counts for a model, in percent: 0 for OpenAI models, whose tokenizer
 * is known exactly; a margin for Anthropic models, counted with o200k as a stand-in.
 *
 * @example
 * tokenMarginPercent('gpt-4o') // 0
 * tokenMarginPercent('claude-haiku-4-5') // 20
 * tokenMarginPercent('claude-sonnet-5-5') // 60
 */
export function tokenMarginPercent(model: string): number {
  if (!model.includes('claude')) return 0;
  return usesNewClaudeTokenizer(model) ? anthropicNewTokenizerMarginPercent : anthropicTokenMarginPercent;
}

function usesNewClaudeTokenizer(model: string): boolean {
  if (/fable|mythos/.test(model)) return true;
  if (/claude-\d(-\d)?-(opus|sonnet|haiku)/.test(model)) return false; // Claude 3.x naming
  const match = /claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2})(?!\d))?/.exec(model);
  if (!match) return true; // an unknown naming scheme gets the larger margin
  const major = Number(match[1]);
  const minor = match[2] === undefined ? 0 : Number(match[2]);
  return major > 4 || (major === 4 && minor >= 7);
}

/**
 * Adds a percentage margin, rounding up.
 *
 * @example
 * withMargin(101, 20) // 122 (121.2 rounded up)
 */
export function withMargin(tokens: number, marginPercent: number): number {
  if (marginPercent <= 0) return tokens;
  return Math.ceil((tokens * (100 + marginPercent)) / 100);
}

/**
 * Tokens in `text` for `model`, with the model's margin unless `margin: false`. Exact up to
 * `pricingLimits.tokenizeCharsMax` characters (except inside runs of over `tokenizeSegmentCharsMax`
 * characters with no space, which are counted in pieces: slightly more tokens, bounded time);
 * past that each further UTF-8 byte counts as one token (an upper bound).
 *
 * @example
 * countTokens('hello world', 'gpt-4o') // 2
 * countTokens('hello world', 'claude-haiku-4-5') // 3 (2 plus 20%, rounded up)
 */
export function countTokens(text: string, model: string, options: { margin?: boolean } = {}): number {
  const raw = countRaw(text, encodingForModel(model));
  return options.margin === false ? raw : withMargin(raw, tokenMarginPercent(model));
}

/** Tokens in `text`, exact for its first `charsMax` characters and one per UTF-8 byte after them. */
function countRaw(text: string, encoding: EncodingName, charsMax: number = pricingLimits.tokenizeCharsMax): number {
  if (text.length === 0) return 0;
  const { count, segments } = encoder(encoding);
  const end = safeCut(text, Math.max(0, Math.min(text.length, charsMax)));
  let tokens = 0;
  let from = 0;
  while (from < end) {
    const to = segmentEnd(text, from, end);
    const segment = text.slice(from, to);
    tokens += to - from < segments.segmentCharsMin ? count(segment) : segments.countOf(segment, count);
    from = to;
  }
  return end < text.length ? tokens + Buffer.byteLength(text.slice(end), 'utf8') : tokens;
}

/** `at`, moved back by one if it would split a surrogate pair. */
function safeCut(text: string, at: number): number {
  if (at >= text.length) return text.length;
  const before = text.charCodeAt(at - 1);
  return before >= 0xd800 && before <= 0xdbff ? at - 1 : at;
}

const isSpace = (code: number) => code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0x3000 || (code >= 0x2000 && code <= 0x200a);

/**
 * Where the segment starting at `from` ends: at most `tokenizeSegmentCharsMax` later, just
 * before a space that sits between two non-space characters. The tokenizers' pre-split always
 * separates text there (the space starts the next word), so cutting there keeps counts exact.
 */
function segmentEnd(text: string, from: number, end: number): number {
  const limit = from + pricingLimits.tokenizeSegmentCharsMax;
  if (limit >= end) return end;
  const floor = from + pricingLimits.tokenizeSegmentCharsMax / 2;
  for (let i = limit; i > floor; i -= 1) {
    if (text.charCodeAt(i) === 32 && !isSpace(text.charCodeAt(i - 1)) && i + 1 < text.length && !isSpace(text.charCodeAt(i + 1))) return i;
  }
  return safeCut(text, limit);
}

/** The request shapes whose input can be counted. */
export type InputRoute = 'chat' | 'responses' | 'messages' | 'embeddings';

/** What a request sends, in tokens, and how the count was made. */
export interface InputTokenCount {
  /** Everything below, with the margin applied. */
  tokens: number;
  /** Tokens in text and in tool/schema JSON, without margin. */
  textTokens: number;
  imageParts: number;
  fileParts: number;
  messages: number;
  /** Per-message and reply-priming tokens. */
  overheadTokens: number;
  marginPercent: number;
  /** False when a bound was reached and part of the input was counted by bytes. */
  exact: boolean;
}

/**
 * Counts the input tokens of a request body: the text of every message (system, instructions,
 * user, assistant and tool content), tool definitions and response schemas as JSON, images and
 * files at `imageTokensPerPart` / `fileTokensPerPart`, plus `messageOverheadTokens` per message and
 * `replyPrimingTokens`. Embeddings count each input on its own (token arrays by length) with no
 * overhead. The margin for the model is applied unless `margin: false` (the mock upstream counts
 * without it, so a gateway using this function predicts the mock's usage exactly).
 *
 * @example
 * countChatInputTokens('chat', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, 'gpt-4o').tokens
 * // 10: 'user\nhi' is 3 tokens, + 4 for the message, + 3 to prime the reply
 */
export function countChatInputTokens(route: InputRoute, body: unknown, model: string, options: { margin?: boolean } = {}): InputTokenCount {
  const record = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const raw = route === 'embeddings' ? countEmbeddingInput(record.input, model) : countConversation(route, record, model);
  const marginPercent = options.margin === false ? 0 : tokenMarginPercent(model);
  const subtotal = raw.textTokens + raw.imageParts * imageTokensPerPart + raw.fileParts * fileTokensPerPart + raw.overheadTokens;
  return { ...raw, tokens: withMargin(subtotal, marginPercent), marginPercent };
}

type RawCount = Omit<InputTokenCount, 'tokens' | 'marginPercent'>;

function countEmbeddingInput(input: unknown, model: string): RawCount {
  const items = Array.isArray(input) && input.every((x) => typeof x !== 'number') ? (input as unknown[]) : [input];
  let textTokens = 0;
  let exact = true;
  for (const item of items) {
    if (typeof item === 'string') {
      textTokens += countRaw(item, encodingForModel(model));
      exact &&= item.length <= pricingLimits.tokenizeCharsMax;
    } else if (Array.isArray(item)) {
      textTokens += item.length; // a token array: one entry per token
    }
  }
  return { textTokens, imageParts: 0, fileParts: 0, messages: 0, overheadTokens: 0, exact };
}

/** Where each route keeps its text (read value by value) and its JSON (tools, schemas). */
function partsOf(route: Exclude<InputRoute, 'embeddings'>, body: Record<string, unknown>): { text: unknown[]; json: unknown[]; messages: number } {
  const count = (value: unknown) => (Array.isArray(value) ? value.length : value === undefined || value === null ? 0 : 1);
  if (route === 'chat') {
    return { text: [body.messages], json: [body.tools, body.functions, body.response_format], messages: count(body.messages) };
  }
  if (route === 'responses') {
    return { text: [body.instructions, body.input], json: [body.tools, body.text], messages: count(body.instructions) + count(body.input) };
  }
  return { text: [body.system, body.messages], json: [body.tools], messages: count(body.system) + count(body.messages) };
}

function countConversation(route: Exclude<InputRoute, 'embeddings'>, body: Record<string, unknown>, model: string): RawCount {
  const parts = partsOf(route, body);
  const collected = collectText(parts.text);
  const json: string[] = [];
  for (const value of parts.json) {
    if (value !== undefined && value !== null) json.push(JSON.stringify(value));
  }
  const text = collected.texts.join('\n');
  let textTokens = countTextAndJson(text, json.join('\n'), encodingForModel(model));
  let exact = text.length + 1 + json.length <= pricingLimits.tokenizeCharsMax && !collected.exhausted;
  if (collected.exhausted) {
    // Too many JSON nodes to walk: fall back to the size of the whole input, an upper bound.
    textTokens = Math.max(textTokens, Buffer.byteLength(JSON.stringify([parts.text, parts.json]), 'utf8'));
    exact = false;
  }
  const overheadTokens = parts.messages * messageOverheadTokens + replyPrimingTokens;
  return { textTokens, imageParts: collected.imageParts, fileParts: collected.fileParts, messages: parts.messages, overheadTokens, exact };
}

/**
 * Tokens in a request's text and its JSON (tools, schemas) joined by a newline, within one
 * `tokenizeCharsMax`. The JSON is counted on its own: the pre-split always cuts between a newline
 * and JSON's first character (a bracket, brace, quote, digit, minus or letter), so the sum is
 * the joined text's count, except inside runs without spaces longer than a segment, which are
 * cut in pieces either way. Apart, the JSON's segments do not move when the conversation before
 * it grows, so an agent's unchanged tools are found among the kept counts (see `SegmentCounts`).
 */
function countTextAndJson(text: string, json: string, encoding: EncodingName): number {
  if (json === '') return countRaw(text, encoding);
  if (text === '') return countRaw(json, encoding);
  const head = `${text}\n`;
  return countRaw(head, encoding) + countRaw(json, encoding, pricingLimits.tokenizeCharsMax - head.length);
}

const imageTypes = new Set(['image_url', 'image', 'input_image']);
const fileTypes = new Set(['input_file', 'file', 'document', 'input_audio']);
const skippedKeys = new Set(['type', 'cache_control']);

/**
 * Every string in nested message content, in document order, except `type` tags and cache
 * markers; image and file parts are counted instead of read. Iterative and bounded.
 *
 * @example
 * collectText([{ role: 'user', content: 'hi' }]).texts // ['user', 'hi']
 */
export function collectText(root: unknown): { texts: string[]; imageParts: number; fileParts: number; exhausted: boolean } {
  const out = { texts: [] as string[], imageParts: 0, fileParts: 0, exhausted: false };
  const stack: unknown[] = [root];
  let visited = 0;
  while (stack.length > 0) {
    if (visited >= pricingLimits.collectNodesMax) {
      out.exhausted = true;
      break;
    }
    visited += 1;
    const value = stack.pop();
    if (typeof value === 'string') {
      out.texts.push(value);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) stack.push(value[i]);
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      const type = typeof record.type === 'string' ? record.type : '';
      if (imageTypes.has(type)) out.imageParts += 1;
      else if (fileTypes.has(type)) out.fileParts += 1;
      else pushEntries(stack, record);
    }
  }
  return out;
}

function pushEntries(stack: unknown[], record: Record<string, unknown>): void {
  const keys = Object.keys(record);
  for (let i = keys.length - 1; i >= 0; i -= 1) {
    const key = keys[i] as string;
    if (!skippedKeys.has(key)) stack.push(record[key]);
  }
}
