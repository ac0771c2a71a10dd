import { z } from 'zod';
import { limits } from './limits.js';

/** The provider routes the mock serves with a generated answer. */
export type MockRoute = 'chat' | 'responses' | 'embeddings' | 'messages';

/** Whose wire format a request and its answer use. */
export type Provider = 'openai' | 'anthropic';

/**
 * Path → route, for `POST` requests.
 *
 * @example
 * routeByPath.get('/v1/messages') // 'messages'
 */
export const routeByPath: ReadonlyMap<string, MockRoute> = new Map([
  ['/v1/chat/completions', 'chat'],
  ['/v1/responses', 'responses'],
  ['/v1/embeddings', 'embeddings'],
  ['/v1/messages', 'messages'],
]);

/** What the mock needs from a request body, read once at the edge. */
export interface MockCall {
  route: MockRoute;
  model: string;
  stream: boolean;
  /** The request's output cap (max_tokens and friends), if it set one. */
  cap: number | undefined;
  /** Completions asked for (OpenAI chat `n`). */
  choices: number;
  /** Chat streams: whether `stream_options.include_usage` asked for the usage chunk. */
  includeUsage: boolean;
  /** Embeddings: how many vectors, how long, and whether base64-encoded. */
  embeddings: { count: number; dimensions: number; base64: boolean } | undefined;
  body: Record<string, unknown>;
}

const model = z.string().min(1).max(256);
const stream = z.boolean().nullish();
const cap = z.number().int().min(1).max(limits.outputTokensMax).nullish();
const tokenArray = z.array(z.number().int().min(0)).min(1);

const chatBody = z.looseObject({
  model,
  messages: z.array(z.unknown()).min(1),
  stream,
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: cap,
  max_completion_tokens: cap,
  n: z.number().int().min(1).max(limits.choicesMax).nullish(),
});

const responsesBody = z.looseObject({
  model,
  input: z.union([z.string(), z.array(z.unknown())]).nullish(),
  instructions: z.string().nullish(),
  stream,
  max_output_tokens: cap,
});

const embeddingsBody = z.looseObject({
  model,
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(limits.embeddingInputsMax),
    tokenArray,
    z.array(tokenArray).min(1).max(limits.embeddingInputsMax),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).max(limits.embeddingDimensionsMax).nullish(),
});

const messagesBody = z.looseObject({
  model,
  messages: z.array(z.unknown()).min(1),
  max_tokens: z.number().int().min(1).max(limits.outputTokensMax),
  system: z.union([z.string(), z.array(z.unknown())]).nullish(),
  stream,
});

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request body';
  const field = issue.path.map(String).join('.');
  return field ? `${field}: ${issue.message}` : issue.message;
}

function embeddingCount(input: unknown): number {
  if (typeof input === 'string') return 1;
  if (Array.isArray(input) && input.every((x) => typeof x === 'number')) return 1;
  return Array.isArray(input) ? input.length : 1;
}

/**
 * Validates a request body for its route and reads what the mock needs. A bad body is answered
 * with a message naming the field (the caller turns it into a 400 in the provider's shape).
 *
 * @example
 * parseCall('messages', { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi' }] })
 * // { ok: false, message: 'max_tokens: Invalid input: expected number, received undefined' }
 */
export function parseCall(route: MockRoute, json: unknown): { ok: true; call: MockCall } | { ok: false; message: string } {
  const base = { route, choices: 1, includeUsage: false, embeddings: undefined };
  if (route === 'chat') {
    const parsed = chatBody.safeParse(json);
    if (!parsed.success) return { ok: false, message: firstIssue(parsed.error) };
    const b = parsed.data;
    const call: MockCall = { ...base, model: b.model, stream: b.stream === true, cap: b.max_completion_tokens ?? b.max_tokens ?? undefined, choices: b.n ?? 1, includeUsage: b.stream_options?.include_usage === true, body: b };
    return { ok: true, call };
  }
  if (route === 'responses') {
    const parsed = responsesBody.safeParse(json);
    if (!parsed.success) return { ok: false, message: firstIssue(parsed.error) };
    const b = parsed.data;
    return { ok: true, call: { ...base, model: b.model, stream: b.stream === true, cap: b.max_output_tokens ?? undefined, body: b } };
  }
  if (route === 'embeddings') {
    const parsed = embeddingsBody.safeParse(json);
    if (!parsed.success) return { ok: false, message: firstIssue(parsed.error) };
    const b = parsed.data;
    const embeddings = { count: embeddingCount(b.input), dimensions: b.dimensions ?? limits.embeddingDimensionsDefault, base64: b.encoding_format === 'base64' };
    return { ok: true, call: { ...base, model: b.model, stream: false, cap: undefined, embeddings, body: b } };
  }
  const parsed = messagesBody.safeParse(json);
  if (!parsed.success) return { ok: false, message: firstIssue(parsed.error) };
  const b = parsed.data;
  return { ok: true, call: { ...base, model: b.model, stream: b.stream === true, cap: b.max_tokens, body: b } };
}
