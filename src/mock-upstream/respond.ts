import type { ServerResponse } from 'node:http';
import { anthropicModels, messagesEvents, messagesJson } from './anthropic.js';
import { errorBody } from './errors.js';
import { limits } from './limits.js';
import { chatEvents, chatJson, embeddingsJson, openaiModels, responsesEvents, responsesJson } from './openai.js';
import type { CallPlan } from './plan.js';
import type { MockRoute, Provider } from './requests.js';
import type { OutEvent } from './sse.js';

/** One in-flight answer: where to write, how to notice the client leaving, what to log. */
export interface Exchange {
  res: ServerResponse;
  provider: Provider;
  requestId: string;
  /** Aborted when the client goes away (or the server closes). */
  signal: AbortSignal;
  /** Called once per content chunk written. */
  onChunk: () => void;
  /** Called just before the mock cuts the connection on purpose (`truncate`). */
  onTruncate: () => void;
}

/**
 * Waits `ms`, or less if the client goes away first.
 *
 * @example
 * if (!(await pause(100, signal))) return; // the client left
 */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Resolves when the client goes away: the `timeout` fault never answers.
 *
 * @example
 * if (fault === 'timeout') return untilAborted(signal);
 */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Writes, waiting for the socket to drain when its buffer is full; false once the client left. */
function write(ex: Exchange, text: string): Promise<boolean> {
  if (ex.signal.aborted) return Promise.resolve(false);
  if (ex.res.write(text)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      ex.res.off('drain', onDrain);
      ex.signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onAbort = () => done(false);
    ex.res.on('drain', onDrain);
    ex.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Writes and waits until the bytes reach the socket, so a connection cut right after still sends them. */
function writeFlushed(ex: Exchange, text: string): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => resolve();
    ex.signal.addEventListener('abort', onAbort, { once: true });
    ex.res.write(text, () => {
      ex.signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function idHeader(provider: Provider): string {
  return provider === 'anthropic' ? 'request-id' : 'x-request-id';
}

/**
 * Answers with JSON.
 *
 * @example
 * sendJson(ex, 200, { object: 'list', data: [] });
 */
export function sendJson(ex: Exchange, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  ex.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), [idHeader(ex.provider)]: ex.requestId, ...headers });
  ex.res.end(text);
}

/**
 * Answers with an error in the provider's shape (a 429 carries `retry-after`).
 *
 * @example
 * sendError(ex, 400, 'messages: expected array', 'messages');
 */
export function sendError(ex: Exchange, status: number, message: string, param: string | null = null): void {
  const headers: Record<string, string> = status === 429 ? { 'retry-after': String(limits.retryAfterS) } : {};
  if (status === 413) headers.connection = 'close';
  sendJson(ex, status, errorBody(ex.provider, status, message, ex.requestId, param), headers);
}

/**
 * `GET /v1/models`, in Anthropic's shape when the caller speaks Anthropic.
 *
 * @example
 * sendModels(ex, ['gpt-4o-mini'], Date.now());
 */
export function sendModels(ex: Exchange, models: readonly string[], nowMs: number): void {
  const body = ex.provider === 'anthropic' ? anthropicModels(models, new Date(nowMs).toISOString()) : openaiModels(models, Math.floor(nowMs / 1000));
  sendJson(ex, 200, body);
}

const jsonBuilders: Record<MockRoute, (plan: CallPlan) => Record<string, unknown>> = {
  chat: chatJson,
  responses: responsesJson,
  embeddings: embeddingsJson,
  messages: messagesJson,
};

const streamBuilders: Record<Exclude<MockRoute, 'embeddings'>, (plan: CallPlan) => OutEvent[]> = {
  chat: chatEvents,
  responses: responsesEvents,
  messages: messagesEvents,
};

/**
 * Answers a call without streaming. Under `truncate`, half the body is sent and the connection
 * is cut (the declared content-length is never reached). Returns how it ended.
 *
 * @example
 * await sendAnswer(ex, plan, { truncate: false, delayMs: 0 }); // 'completed'
 */
export async function sendAnswer(ex: Exchange, plan: CallPlan, mode: { truncate: boolean; delayMs: number }): Promise<'completed' | 'truncated' | 'client_closed'> {
  if (!(await pause(mode.delayMs * plan.pieces.length, ex.signal))) return 'client_closed';
  const text = JSON.stringify(jsonBuilders[plan.call.route](plan));
  if (!mode.truncate) {
    ex.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), [idHeader(ex.provider)]: ex.requestId });
    ex.res.end(text);
    return 'completed';
  }
  ex.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), [idHeader(ex.provider)]: ex.requestId });
  await writeFlushed(ex, text.slice(0, Math.floor(text.length / 2)));
  ex.onTruncate();
  ex.res.destroy();
  return 'truncated';
}

/** Index of the first event not sent when a stream is cut halfway through its content. */
function cutIndex(events: OutEvent[]): number {
  const contentIndexes = events.flatMap((event, index) => (event.content ? [index] : []));
  if (contentIndexes.length === 0) return 1;
  const keep = Math.ceil(contentIndexes.length / 2);
  return (contentIndexes[keep - 1] ?? 0) + 1;
}

/**
 * Streams a call as server-sent events, waiting `delayMs` before each content chunk and
 * stopping as soon as the client goes away. Under `truncate` the stream stops halfway through
 * the content, without its usage or end marker, and the connection is cut.
 *
 * @example
 * await streamAnswer(ex, plan, { truncate: false, delayMs: 10 }); // 'completed'
 */
export async function streamAnswer(ex: Exchange, plan: CallPlan, mode: { truncate: boolean; delayMs: number }): Promise<'completed' | 'truncated' | 'client_closed'> {
  const route = plan.call.route === 'embeddings' ? 'chat' : plan.call.route;
  const events = streamBuilders[route](plan);
  const end = mode.truncate ? cutIndex(events) : events.length;
  ex.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', [idHeader(ex.provider)]: ex.requestId });
  ex.res.flushHeaders();
  for (let i = 0; i < end; i += 1) {
    const event = events[i] as OutEvent;
    if (event.content && !(await pause(mode.delayMs, ex.signal))) return 'client_closed';
    // Before a deliberate cut, wait until the last event has really left.
    if (mode.truncate && i === end - 1) await writeFlushed(ex, event.text);
    else if (!(await write(ex, event.text))) return 'client_closed';
    if (ex.signal.aborted) return 'client_closed';
    if (event.content) ex.onChunk();
  }
  if (mode.truncate) {
    ex.onTruncate();
    ex.res.destroy();
    return 'truncated';
  }
  ex.res.end();
  return 'completed';
}
