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
 * How an answer is cut short on purpose: not at all, between two events (`truncate`), halfway
 * through an event's bytes (`cut-mid-chunk`), or left hanging after half of it (`stall`).
 */
export type Cut = 'none' | 'between-events' | 'mid-event' | 'stall';

/** How to send an answer: where to cut it, and the wait before each content chunk. */
export interface AnswerMode {
  cut: Cut;
  delayMs: number;
}

/** How an answer ended, as the mock sent it. */
export type Sent = 'completed' | 'truncated' | 'client_closed';

/**
 * Answers a call without streaming. When cut, half the body is sent and the connection is cut
 * (the declared content-length is never reached), or, under `stall`, held open until the client
 * leaves. Returns how it ended.
 *
 * @example
 * await sendAnswer(ex, plan, { cut: 'none', delayMs: 0 }); // 'completed'
 */
export async function sendAnswer(ex: Exchange, plan: CallPlan, mode: AnswerMode): Promise<Sent> {
  if (!(await pause(mode.delayMs * plan.pieces.length, ex.signal))) return 'client_closed';
  const text = JSON.stringify(jsonBuilders[plan.call.route](plan));
  ex.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), [idHeader(ex.provider)]: ex.requestId });
  if (mode.cut === 'none') {
    ex.res.end(text);
    return 'completed';
  }
  await writeFlushed(ex, text.slice(0, Math.floor(text.length / 2)));
  return endCut(ex, mode.cut);
}

/** Ends an answer cut on purpose: hangs until the client leaves (`stall`), or cuts the connection. */
async function endCut(ex: Exchange, cut: Exclude<Cut, 'none'>): Promise<Sent> {
  if (cut === 'stall') {
    await untilAborted(ex.signal);
    return 'client_closed';
  }
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
 * stopping as soon as the client goes away. A cut stream stops halfway through the content,
 * without its usage or end marker: the connection is then cut after a whole event
 * (`between-events`) or after half of the next one's bytes (`mid-event`), or held open with
 * nothing more sent (`stall`).
 *
 * @example
 * await streamAnswer(ex, plan, { cut: 'none', delayMs: 10 }); // 'completed'
 */
export async function streamAnswer(ex: Exchange, plan: CallPlan, mode: AnswerMode): Promise<Sent> {
  const route = plan.call.route === 'embeddings' ? 'chat' : plan.call.route;
  const events = streamBuilders[route](plan);
  const end = mode.cut === 'none' ? events.length : cutIndex(events);
  ex.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', [idHeader(ex.provider)]: ex.requestId });
  ex.res.flushHeaders();
  for (let i = 0; i < end; i += 1) {
    const event = events[i] as OutEvent;
    if (event.content && !(await pause(mode.delayMs, ex.signal))) return 'client_closed';
    // Before a deliberate cut, wait until the last event has really left.
    if (mode.cut === 'between-events' && i === end - 1) await writeFlushed(ex, event.text);
    else if (!(await write(ex, event.text))) return 'client_closed';
    if (ex.signal.aborted) return 'client_closed';
    if (event.content) ex.onChunk();
  }
  if (mode.cut === 'none') {
    ex.res.end();
    return 'completed';
  }
  const next = events[end];
  if (mode.cut === 'mid-event' && next) await writeFlushed(ex, next.text.slice(0, Math.ceil(next.text.length / 2)));
  return endCut(ex, mode.cut);
}

/** What the `garbage` fault streams after a first good event: nothing a provider would send. */
const garbageEvents = [
  'data: {"choices":[{"delta":{"content":"hi\n\n',
  '\u0000\u00ff\u00fe not an event at all\n\n',
  'data: <html><body>502 Bad Gateway</body></html>\n\n',
  'event: ???\ndata: {{{{\n\n',
].join('');

/** What the `garbage` fault answers instead of a JSON body. */
const garbageBody = '<html><body><h1>502 Bad Gateway</h1></body></html>\u0000\u00ff';

/**
 * Answers 200 with what no provider sends: a stream whose first event is good and the rest is
 * not SSE nor JSON, or a body that is not JSON, then ends the response normally.
 *
 * @example
 * await sendGarbage(ex, plan); // 'completed'
 */
export async function sendGarbage(ex: Exchange, plan: CallPlan): Promise<Sent> {
  if (!plan.call.stream || plan.call.route === 'embeddings') {
    ex.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(garbageBody), [idHeader(ex.provider)]: ex.requestId });
    ex.res.end(garbageBody);
    return 'completed';
  }
  const first = streamBuilders[plan.call.route](plan)[0] as OutEvent;
  ex.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', [idHeader(ex.provider)]: ex.requestId });
  if (!(await write(ex, first.text + garbageEvents))) return 'client_closed';
  ex.res.end();
  return 'completed';
}
