import { gatewayError } from '../errors.js';
import { collectText, count, type ParsedCall, type RouteAdapter, type StreamObserver } from './adapter.js';
import { readModel } from './openai-chat.js';

/** Token-array inputs carry their count; text inputs are counted by the tokenizer. */
function readInput(input: unknown): { text: string; tokens: number } | undefined {
  if (typeof input === 'string') return { text: input, tokens: 0 };
  if (!Array.isArray(input) || input.length === 0 || input.length > 4096) return undefined;
  if (input.every((x) => typeof x === 'number')) return { text: '', tokens: input.length };
  if (input.every((x) => Array.isArray(x))) return { text: '', tokens: (input as unknown[][]).reduce((n, x) => n + x.length, 0) };
  if (input.every((x) => typeof x === 'string')) return { text: collectText(input).text.join('\n'), tokens: 0 };
  return undefined;
}

const noStream: StreamObserver = {
  forward: (event) => event.raw,
  usage: () => undefined,
  outputText: () => '',
  finished: () => true,
};

/** `POST /v1/embeddings`: input tokens only, never streamed. */
export const openaiEmbeddings: RouteAdapter = {
  provider: 'openai',
  route: '/v1/embeddings',
  embeddings: true,
  parse(body) {
    const model = readModel(body);
    if (typeof model !== 'string') return model;
    const input = readInput(body.input);
    if (!input) return gatewayError('bad_request', 'input must be a string, a list of strings, or token arrays (at most 4096 items)', { param: 'input' });
    // Token-array inputs are counted exactly: represent them as that many single-token words.
    const call: ParsedCall = { model, stream: false, maxOutputTokens: 0, choices: 1, writesCache: false, inputText: input.text + ' a'.repeat(input.tokens), inputParts: 0 };
    return call;
  },
  upstreamBody(body) {
    return body;
  },
  usageFromBody(body) {
    const usage = (body as { usage?: Record<string, unknown> } | null)?.usage;
    const inputTokens = count(usage?.prompt_tokens);
    return inputTokens === undefined ? undefined : { inputTokens, outputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 };
  },
  observe() {
    return noStream;
  },
  synthetic(call, usage) {
    const json = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: new Array<number>(8).fill(0) }], model: call.model, usage: { prompt_tokens: usage.inputTokens, total_tokens: usage.inputTokens } };
    return { json, events: [] };
  },
};
