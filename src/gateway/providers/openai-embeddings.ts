import { gatewayLimits } from '../limits.js';
import { gatewayError } from '../errors.js';
import { count, readModel, usageField, type ParsedCall, type RouteAdapter, type StreamObserver } from './adapter.js';
import { openaiStreamError } from './openai-chat.js';

/** A string, a list of strings, a token array or a list of token arrays (what OpenAI accepts). */
function validInput(input: unknown): boolean {
  if (typeof input === 'string') return true;
  if (!Array.isArray(input) || input.length === 0 || input.length > gatewayLimits.embeddingInputsMax) return false;
  const tokens = (x: unknown) => Array.isArray(x) && x.every((t) => Number.isSafeInteger(t));
  return input.every((x) => typeof x === 'string') || input.every((x) => Number.isSafeInteger(x)) || input.every(tokens);
}

const noStream: StreamObserver = {
  forward: (event) => event.raw,
  usage: () => undefined,
  outputText: () => '',
  finished: () => true,
  unreadable: () => false,
};

/** `POST /v1/embeddings`: input tokens only, never streamed. */
export const openaiEmbeddings: RouteAdapter = {
  provider: 'openai',
  route: '/v1/embeddings',
  embeddings: true,
  inputRoute: 'embeddings',
  parse(body) {
    const model = readModel(body);
    if (typeof model !== 'string') return model;
    if (!validInput(body.input)) return gatewayError('bad_request', `input must be a string, a list of strings, or token arrays (at most ${gatewayLimits.embeddingInputsMax} items)`, { param: 'input' });
    const call: ParsedCall = { model, stream: false, maxOutputTokens: 0, choices: 1, writesCache: false };
    return call;
  },
  upstreamBody(body) {
    return body;
  },
  usageFromBody(body) {
    const usage = usageField(body) as Record<string, unknown> | undefined;
    const inputTokens = count(usage?.prompt_tokens);
    return inputTokens === undefined ? undefined : { inputTokens, outputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 };
  },
  observe() {
    return noStream;
  },
  streamError: openaiStreamError,
  synthetic(call, usage) {
    const json = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: new Array<number>(8).fill(0) }], model: call.model, usage: { prompt_tokens: usage.inputTokens, total_tokens: usage.inputTokens } };
    return { json, events: [] };
  },
};
