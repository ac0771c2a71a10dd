import type { z } from 'zod';
import { readFailure, type ReadFailure } from './error-schemas.js';
import { urlOf, type RouteSpec } from './route.js';

/**
 * The HTTP client the remote doors share (the SDK's remote mode, the CLI's `--url`): it calls a
 * route by its declaration, checks the answer with the declared schema, reads a refusal in
 * whichever error shape it comes, and says plainly when the server cannot be reached or is no
 * Bursar server. What to make of a refusal is the caller's.
 */

export interface RouteClientOptions {
  /** The server, e.g. http://127.0.0.1:8787 (a trailing slash is ignored). */
  url: string;
  /** Sent with every request (the credential, the actor). */
  headers: Record<string, string>;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Longest wait for one answer. */
  requestMsMax: number;
  /** Largest answer read. */
  responseBytesMax: number;
  /** Tries of one request while the server cannot be reached (writes carry an idempotency key). */
  attemptsMax?: number;
  /** Wait before the first retry, doubled for each further one. */
  retryDelayMs?: number;
  /** Added to the message when the server cannot be reached: what to check. */
  unreachableHint?: string;
}

/** What one call of a route may send. */
export interface RouteInput {
  params?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A route's answer: its declared value, or the refusal the server gave. */
export type RouteAnswer<T> = { ok: true; status: number; value: T } | { ok: false; status: number; failure: ReadFailure };

/** The server could not be reached, or answered with something that is no Bursar answer. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    readonly code: 'server_unreachable' | 'bad_response',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Calls Bursar's own routes by their declarations.
 *
 * @example
 * const client = new RouteClient({ url, headers: { authorization: `Bearer ${token}` }, requestMsMax: 30_000, responseBytesMax: 1 << 20 });
 * const answer = await client.call(agentRoutes.balance);
 * if (answer.ok) console.log(answer.value.tightest);
 */
export class RouteClient {
  readonly url: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly o: RouteClientOptions) {
    this.url = o.url.replace(/\/+$/, '');
    this.fetch = o.fetch ?? fetch;
  }

  /** One call; refusals are answers, an unreachable server or a foreign answer throws `TransportError`. */
  async call<S extends RouteSpec>(spec: S, input: RouteInput = {}): Promise<RouteAnswer<z.output<S['response']['schema']>>> {
    const path = urlOf(spec, input.params, input.query);
    const where = `${spec.method} ${path.split('?')[0] ?? path}`;
    const { status, body, retryAfter } = await this.send(spec.method, path, input);
    if (status >= 400) {
      const failure = readFailure(status, body);
      if (!failure) throw new TransportError('bad_response', `the server at ${this.url} answered ${where} with HTTP ${status} and no Bursar error; is the URL a Bursar server?`);
      // A breaker's refusal says when it lets a call through again, as the ledger's does.
      if ((failure.code === 'burn_limit' || failure.code === 'loop_detected') && /^\d{1,9}$/.test(retryAfter ?? '')) failure.retryAfterMs = Number(retryAfter) * 1_000;
      return { ok: false, status, failure };
    }
    const parsed = spec.response.schema.safeParse(body);
    if (!parsed.success) throw new TransportError('bad_response', `the server at ${this.url} answered ${where} with a body this client does not understand (${parsed.error.issues[0]?.message ?? 'invalid'}); are the versions the same?`);
    return { ok: true, status, value: parsed.data as z.output<S['response']['schema']> };
  }

  /** One request, tried again (unchanged, so with the same idempotency key) while the server cannot be reached. */
  private async send(method: string, path: string, input: RouteInput): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.o.headers, ...input.headers };
    if (input.body !== undefined) headers['content-type'] = 'application/json';
    const init = { method, headers, body: input.body === undefined ? undefined : JSON.stringify(input.body) };
    const attempts = this.o.attemptsMax ?? 1;
    let failure: unknown;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, (this.o.retryDelayMs ?? 0) * 2 ** (attempt - 1)));
      try {
        const res = await this.fetch(this.url + path, { ...init, signal: AbortSignal.timeout(this.o.requestMsMax) });
        return { status: res.status, body: await this.read(res, method, path), retryAfter: res.headers.get('retry-after') };
      } catch (error) {
        if (error instanceof TransportError) throw error;
        failure = error;
      }
    }
    const cause = (failure as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    const why = cause?.code ?? cause?.message ?? (failure as Error | undefined)?.message ?? 'no answer';
    const tries = attempts > 1 ? ` after ${attempts} tries` : '';
    throw new TransportError('server_unreachable', `cannot reach the Bursar server at ${this.url} (${why})${tries}${this.o.unreachableHint ?? ''}`, { cause: failure });
  }

  private async read(res: Response, method: string, path: string): Promise<unknown> {
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > this.o.responseBytesMax) throw new TransportError('bad_response', `the server at ${this.url} sent ${length} bytes for ${method} ${path.split('?')[0]}, more than ${this.o.responseBytesMax}`);
    const text = await res.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new TransportError('bad_response', `the server at ${this.url} answered ${method} ${path.split('?')[0]} with HTTP ${res.status} and no JSON; is the URL a Bursar server?`);
    }
  }
}
