import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';
import type { Provider } from './errors.js';
import { gatewayLimits } from './limits.js';

// undici's connection pool only: the package's index also loads fetch, WebSocket, caches and
// mocks, which this server never uses (several MB of memory for nothing). Answers are read
// through the pool's dispatch handler directly (`UpstreamCall`): undici's `request` wraps each
// one in a stream, an abort signal's listeners and an async resource, a third of a bare
// forwarder's CPU per call.
const requireUndici = createRequire(import.meta.url);
const Agent = requireUndici('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;

export interface UpstreamConfig {
  /** OpenAI base URL including `/v1` (as the OpenAI SDK takes it). */
  openaiBaseUrl: string;
  /** Anthropic base URL without `/v1` (as the Anthropic SDK takes it). */
  anthropicBaseUrl: string;
  openaiApiKey: string | undefined;
  anthropicApiKey: string | undefined;
  timeoutMs: number;
  /** Also pass request headers with these prefixes (the mock provider's `x-mock-` controls). */
  passHeaderPrefixes?: readonly string[];
}

/** Client request headers passed through to the provider (never credentials). */
const passThrough = ['anthropic-version', 'anthropic-beta', 'openai-organization', 'openai-project', 'openai-beta', 'user-agent'];

/**
 * Forwards calls to the providers over keep-alive connection pools, with the upstream key (never
 * the client's spend token) and a timeout.
 */
export class Upstream {
  private readonly agent: UndiciAgent;

  constructor(readonly config: UpstreamConfig) {
    this.agent = new Agent({ connections: gatewayLimits.upstreamConnectionsMax, keepAliveTimeout: gatewayLimits.upstreamKeepAliveMs, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
  }

  /** The base URL calls for `provider` go to, as configured. */
  baseUrl(provider: Provider): string {
    return provider === 'anthropic' ? this.config.anthropicBaseUrl : this.config.openaiBaseUrl;
  }

  /** The host (and port, when not the scheme's) calls for `provider` go to, for messages. */
  host(provider: Provider): string {
    try {
      return new URL(this.baseUrl(provider)).host;
    } catch {
      return this.baseUrl(provider);
    }
  }

  /** True when calls for `provider` carry a provider key. */
  keyed(provider: Provider): boolean {
    return (provider === 'anthropic' ? this.config.anthropicApiKey : this.config.openaiApiKey) !== undefined;
  }

  url(provider: Provider, route: string): string {
    if (provider === 'anthropic') return `${this.config.anthropicBaseUrl.replace(/\/$/, '')}${route}`;
    return `${this.config.openaiBaseUrl.replace(/\/$/, '')}${route.replace(/^\/v1/, '')}`;
  }

  headers(provider: Provider, incoming: Record<string, string | string[] | undefined>): Record<string, string> {
    const out: Record<string, string> = { 'content-type': 'application/json' };
    for (const name of passThrough) {
      const value = incoming[name];
      if (typeof value === 'string') out[name] = value;
    }
    for (const prefix of this.config.passHeaderPrefixes ?? []) {
      for (const [name, value] of Object.entries(incoming)) if (name.startsWith(prefix) && typeof value === 'string') out[name] = value;
    }
    if (provider === 'anthropic') {
      out['anthropic-version'] ??= '2023-06-01';
      if (this.config.anthropicApiKey) out['x-api-key'] = this.config.anthropicApiKey;
    } else if (this.config.openaiApiKey) {
      out.authorization = `Bearer ${this.config.openaiApiKey}`;
    }
    return out;
  }

  /**
   * Sends one call. Resolves once the provider's status and headers arrive (rejects when it
   * cannot be reached or `call` was aborted first); the caller then reads the body from `call`.
   */
  send(provider: Provider, route: string, incoming: Record<string, string | string[] | undefined>, body: string, call: UpstreamCall): Promise<UpstreamCall> {
    const { origin, path } = this.target(provider, route);
    return call.dispatch(this.agent, { origin, path, method: 'POST', headers: this.headers(provider, incoming), body });
  }

  /** Origin and path of a route's URL, parsed once per URL (there is one per provider route). */
  private target(provider: Provider, route: string): { origin: string; path: string } {
    const url = this.url(provider, route);
    let target = this.targets.get(url);
    if (target === undefined) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      this.targets.set(url, target);
    }
    return target;
  }

  private readonly targets = new Map<string, { origin: string; path: string }>();

  async close(): Promise<void> {
    await this.agent.close();
  }
}

const causes: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening there (ECONNREFUSED)',
  ENOTFOUND: 'the host name does not resolve (ENOTFOUND)',
  EAI_AGAIN: 'the host name could not be resolved right now (EAI_AGAIN)',
  ECONNRESET: 'the connection was reset (ECONNRESET)',
  ETIMEDOUT: 'connecting timed out (ETIMEDOUT)',
  EHOSTUNREACH: 'the host is unreachable (EHOSTUNREACH)',
  ENETUNREACH: 'the network is unreachable (ENETUNREACH)',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out (UND_ERR_CONNECT_TIMEOUT)',
  UND_ERR_SOCKET: 'the connection closed before an answer (UND_ERR_SOCKET)',
};

/**
 * Why a call could not reach its provider, in words with the system's code, for the 502 a
 * client gets (never anything from the request or its credentials).
 *
 * @example
 * upstreamFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })) // 'nothing is listening there (ECONNREFUSED)'
 */
export function upstreamFailure(error: unknown): string {
  const e = error instanceof Error ? (error as NodeJS.ErrnoException & { cause?: unknown }) : undefined;
  const code = e?.code ?? (e?.cause instanceof Error ? (e.cause as NodeJS.ErrnoException).code : undefined);
  if (code !== undefined) return causes[code] ?? `${code}${e?.message ? `: ${e.message}` : ''}`;
  if (e?.name === 'AbortError') return 'the call was aborted';
  return e ? `${e.name}: ${e.message}` : String(error);
}

/** Chunks an answer may queue before its connection is paused until the reader catches up. */
const queuedChunksMax = 16;

/**
 * One call to a provider and its answer, read from undici's dispatch handler: no stream, abort
 * signal or async resource per call. `abort(reason)` ends it from anywhere (the client left, the
 * timeout fired, the server is stopping); the reader then gets the error undici raises, and
 * `reason` says why. The answer's body is read once: `text()` whole (a JSON answer), or chunk
 * by chunk with `for await` (a stream), with the connection paused while chunks wait. A body
 * larger than `gatewayLimits.upstreamBodyBytesMax` ends the call with an error.
 *
 * @example
 * const call = new UpstreamCall();
 * setTimeout(() => call.abort(timeout), 60_000);
 * const answer = await upstream.send('openai', '/v1/chat/completions', headers, body, call);
 * const text = await answer.text();
 */
export class UpstreamCall implements AsyncIterable<Buffer>, Dispatcher.DispatchHandler {
  statusCode = 0;
  private rawHeaders: Buffer[] = [];
  private parsedHeaders: Record<string, string> | undefined;
  aborted = false;
  reason: unknown;
  private cancel: ((error: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  private paused = false;
  /** Set by `text()`: the body is wanted whole, so the connection is never paused. */
  private whole = false;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private error: Error | undefined;
  private answered: { resolve(call: UpstreamCall): void; reject(error: Error): void } | undefined;
  private wake: (() => void) | undefined;
  /** A streamed answer's reader waiting for its next chunk: handed the chunk as it arrives. */
  private reader: { resolve(result: IteratorResult<Buffer, undefined>): void; reject(error: Error): void } | undefined;

  /** The answer's headers, names in lower case (the last of repeated ones); read when first asked for (most calls never do). */
  get headers(): Record<string, string> {
    if (this.parsedHeaders === undefined) {
      const raw = this.rawHeaders;
      this.parsedHeaders = {};
      for (let i = 0; i + 1 < raw.length; i += 2) this.parsedHeaders[raw[i]!.toString('latin1').toLowerCase()] = raw[i + 1]!.toString('latin1');
    }
    return this.parsedHeaders;
  }

  /** Ends the call early; `reason` is kept for the reader to tell why. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.cancel?.(abortError(reason));
  }

  /** Dispatches the request with this call as its handler; resolves with it once headers arrive. */
  dispatch(agent: Dispatcher, options: Dispatcher.DispatchOptions): Promise<UpstreamCall> {
    return new Promise((resolve, reject) => {
      this.answered = { resolve, reject };
      if (this.aborted) reject(abortError(this.reason));
      else agent.dispatch(options, this);
    });
  }

  onConnect(abort: (error?: Error) => void): void {
    this.cancel = abort;
    if (this.aborted) abort(abortError(this.reason));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    this.resume = resume;
    this.answered?.resolve(this);
    this.answered = undefined;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > gatewayLimits.upstreamBodyBytesMax) {
      this.cancel?.(new Error('upstream response too large'));
      return false;
    }
    const reader = this.reader;
    if (reader !== undefined) {
      this.reader = undefined;
      reader.resolve({ done: false, value: chunk });
      return true;
    }
    this.chunks.push(chunk);
    this.notify();
    // A reader of the whole body takes every chunk as it comes (the size limit bounds it).
    this.paused = !this.whole && this.chunks.length >= queuedChunksMax;
    return !this.paused;
  }

  onComplete(): void {
    this.ended = true;
    this.notify();
    this.answerReader();
  }

  onError(error: Error): void {
    this.error ??= error;
    this.answered?.reject(error);
    this.answered = undefined;
    this.notify();
    this.answerReader();
  }

  /** The whole body as UTF-8 text, once it has arrived. */
  async text(): Promise<string> {
    this.whole = true;
    while (!this.ended) {
      if (this.error) throw this.error;
      await this.next();
    }
    if (this.error) throw this.error;
    const text = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    this.chunks.length = 0;
    return text;
  }

  /**
   * The answer's chunks as they arrive, for a streamed answer. A chunk that arrives while the
   * reader waits is handed to it at once (no queue, no generator to resume); one that arrives
   * before is queued, and the connection is paused while the queue is full.
   */
  [Symbol.asyncIterator](): AsyncIterator<Buffer, undefined> {
    // A stream can be open for minutes: its headers are kept parsed (a few strings), not as
    // undici's buffers, which take about three times the memory.
    void this.headers;
    this.rawHeaders = [];
    return {
      next: () => this.read(),
      // A reader that stops early (an event too large, an error of its own) closes the connection.
      return: () => {
        this.stopUnended();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  private read(): Promise<IteratorResult<Buffer, undefined>> {
    const chunk = this.chunks.shift();
    if (chunk !== undefined) return Promise.resolve({ done: false, value: chunk });
    if (this.error) {
      this.stopUnended();
      return Promise.reject(this.error);
    }
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    // Resuming may deliver what is buffered at once, so the reader is set first.
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
      if (this.paused) this.unpause();
    });
  }

  /** Ends the waiting reader's wait: the answer ended, or failed. */
  private answerReader(): void {
    const reader = this.reader;
    if (reader === undefined) return;
    this.reader = undefined;
    if (this.error === undefined) return reader.resolve({ done: true, value: undefined });
    this.stopUnended();
    reader.reject(this.error);
  }

  /** Closes the connection unless the answer has ended. */
  private stopUnended(): void {
    if (!this.ended) this.abort();
  }

  private unpause(): void {
    this.paused = false;
    this.resume?.();
  }

  /** Waits for more of the answer. Resuming may read what is buffered at once, so the waiter is set first. */
  private next(): Promise<void> {
    const more = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    if (this.paused) this.unpause();
    return more;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function abortError(reason: unknown): Error {
  return Object.assign(new Error(reason instanceof Error ? reason.message : 'the call was aborted'), { name: 'AbortError' });
}
