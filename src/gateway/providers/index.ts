/**
 * One adapter per provider route: how its requests are read, priced, streamed and answered.
 *
 * @example
 * for (const adapter of adapters) app.post(adapter.route, handler(adapter));
 */
import { anthropicMessages } from './anthropic-messages.js';
import { openaiChat } from './openai-chat.js';
import { openaiEmbeddings } from './openai-embeddings.js';
import { openaiResponses } from './openai-responses.js';

export type { CallUsage, ParsedCall, RouteAdapter, StreamObserver } from './adapter.js';

/** Every provider route the gateway serves. */
export const adapters = [openaiChat, openaiResponses, openaiEmbeddings, anthropicMessages];
