import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { balanceFromJson, readFailure, BalanceJson, DelegatedJson, RevokedJson, SettleJson, ToolPricesJson, ToolReservedJson, VoidJson } from '../contract/index.js';
import { toolPricesFromJson, type ToolPrices } from '../pricing/index.js';
import type { Connection, ReserveRequest, SdkBackend } from './backend.js';
import { sdkLimits } from './limits.js';
import { BursarError, type BursarRefusal, type BursarResult, type DelegatedToken, type DelegateOptions } from './types.js';

export interface RemoteBackendOptions extends Connection {
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** An answer from the server: its status and parsed JSON body. */
interface Answer {
  status: number;
  body: unknown;
}

/** The server's JSON field names as the SDK's inputs name them (as `field` on a refusal). */
const fieldNames: Record<string, string> = {
  estimate_micros: 'estimateMicros',
  ttl_s: 'ttlMs',
  actual_micros: 'actualMicros',
  max_spend_micros: 'maxSpendMicros',
  expires_in_s: 'expiresInMs',
  expires_at: 'expiresAt',
  request_cap_micros: 'requestCapMicros',
  inflight_max: 'inflightMax',
  'labels.session': 'session',
  'labels.task': 'task',
};

/** A path segment, URL-encoded. */
function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/**
 * The SDK over a Bursar server's agent routes, with a spend token. Answers are validated with
 * the same schemas the server declares; refusals come back as results with the server's code;
 * an unreachable server (after `sdkLimits.attemptsMax` tries) or a store the server cannot
 * reach throws a `BursarError`.
 *
 * @example
 * const backend = new RemoteBackend({ url: 'http://127.0.0.1:8787', token: process.env.BURSAR_TOKEN ?? '' });
 */
export class RemoteBackend implements SdkBackend {
  readonly mode = 'remote';
  readonly connection: Connection;
  private readonly fetch: typeof fetch;
  private prices: Promise<ToolPrices> | undefined;

  constructor(private readonly o: RemoteBackendOptions) {
    this.connection = { url: o.url.replace(/\/+$/, ''), token: o.token };
    this.fetch = o.fetch ?? fetch;
  }

  /** The server's tool price table, read once. */
  toolPrices(): Promise<ToolPrices> {
    this.prices ??= this.expect('GET', '/v1/bursar/tools', ToolPricesJson).then((json) => toolPricesFromJson(json, this.connection.url));
    this.prices.catch(() => (this.prices = undefined));
    return this.prices;
  }

  async reserve(r: ReserveRequest) {
    const body = {
      tool: r.tool,
      estimate_micros: r.estimateMicros,
      params: r.params,
      ttl_s: r.ttlMs === undefined ? undefined : Math.ceil(r.ttlMs / 1_000),
      labels: r.session === undefined && r.task === undefined ? undefined : { session: r.session, task: r.task },
    };
    const answer = await this.request('POST', '/v1/bursar/reservations', ToolReservedJson, body, r.idempotencyKey);
    if (!answer.ok) return answer;
    const { reservation: v, estimate_basis, remaining_micros, tightest } = answer.value;
    return { ok: true as const, reservation: { id: v.id, budget: v.budget, amountMicros: v.amount_micros, basis: estimate_basis, expiresMs: Date.parse(v.expires_at), remainingMicros: remaining_micros, tightest } };
  }

  async settle(id: string, actualMicros: number, idempotencyKey: string) {
    const answer = await this.request('POST', `/v1/bursar/reservations/${enc(id)}/settle`, SettleJson, { actual_micros: actualMicros }, idempotencyKey);
    if (!answer.ok) return answer;
    return { ok: true as const, settlement: { id, actualMicros, overrunMicros: answer.value.overrun_micros, lateCharge: answer.value.late_charge } };
  }

  async void(id: string, idempotencyKey: string) {
    const answer = await this.request('POST', `/v1/bursar/reservations/${enc(id)}/void`, VoidJson, undefined, idempotencyKey);
    return answer.ok ? { ok: true as const, id } : answer;
  }

  async balance() {
    const answer = await this.request('GET', '/v1/bursar/balance', BalanceJson);
    if (!answer.ok) return answer;
    return { ok: true as const, balance: balanceFromJson(answer.value) };
  }

  async delegate(d: DelegateOptions, nowMs: number): Promise<BursarResult<{ delegated: DelegatedToken; backend: SdkBackend }>> {
    const expiresMs = d.expiresAt !== undefined ? Number(d.expiresAt) : d.expiresInMs !== undefined ? nowMs + d.expiresInMs : undefined;
    const body = {
      max_spend_micros: d.maxSpendMicros,
      models: d.models,
      expires_at: expiresMs === undefined ? undefined : new Date(expiresMs).toISOString(),
      request_cap_micros: d.requestCapMicros,
      inflight_max: d.inflightMax,
      delegate: d.delegate,
      labels: d.session === undefined && d.task === undefined ? undefined : { session: d.session, task: d.task },
      reason: d.reason,
    };
    const answer = await this.request('POST', '/v1/bursar/tokens', DelegatedJson, body);
    if (!answer.ok) return answer;
    const v = answer.value;
    const delegated: DelegatedToken = { id: v.id, token: v.token, budget: v.budget, maxSpendMicros: v.max_spend_micros, expiresMs: v.expires_at === null ? null : Date.parse(v.expires_at), scopes: v.scopes };
    return { ok: true, delegated, backend: new RemoteBackend({ ...this.o, token: v.token }) };
  }

  async revoke(tokenId: string) {
    const answer = await this.request('POST', `/v1/bursar/tokens/${enc(tokenId)}/revoke`, RevokedJson);
    return answer.ok ? { ok: true as const, revoked: answer.value.revoked } : answer;
  }

  async close(): Promise<void> {
    // Nothing held open: fetch's connection pool closes idle sockets itself.
  }

  /** A JSON answer checked with `schema`, or the refusal the server answered with. */
  private async request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown, idempotencyKey?: string): Promise<BursarResult<{ value: z.output<S> }>> {
    const answer = await this.send(method, path, body, idempotencyKey);
    if (answer.status >= 400) return this.refusal(answer, path);
    const parsed = schema.safeParse(answer.body);
    if (!parsed.success) throw new BursarError('bad_response', `the server at ${this.connection.url} answered ${method} ${path} with a body this SDK does not understand (${parsed.error.issues[0]?.message ?? 'invalid'}); are the versions the same?`);
    return { ok: true, value: parsed.data };
  }

  /** Like `request`, for reads that only fail when the server does. */
  private async expect<S extends z.ZodType>(method: string, path: string, schema: S): Promise<z.output<S>> {
    const answer = await this.request(method, path, schema);
    if (!answer.ok) throw new BursarError('bad_response', `the server refused ${method} ${path}: ${answer.code}: ${answer.message}`);
    return answer.value;
  }

  private refusal(answer: Answer, path: string): BursarRefusal {
    const e = readFailure(answer.status, answer.body);
    if (!e) throw new BursarError('bad_response', `the server at ${this.connection.url} answered ${path} with HTTP ${answer.status} and no Bursar error; is the URL a Bursar gateway?`);
    if (e.code === 'store_unavailable') throw new BursarError('store_unavailable', e.message);
    const { status: _status, ...refusal } = e;
    return { ok: false, ...refusal, ...(e.field === undefined ? {} : { field: fieldNames[e.field] ?? e.field }) };
  }

  /** One request, tried again (with the same idempotency key) while the server cannot be reached. */
  private async send(method: string, path: string, body: unknown, idempotencyKey: string | undefined): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.connection.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    let failure: unknown;
    for (let attempt = 0; attempt < sdkLimits.attemptsMax; attempt += 1) {
      if (attempt > 0) await sleep(sdkLimits.retryDelayMs * 2 ** (attempt - 1));
      try {
        const res = await this.fetch(this.connection.url + path, { ...init, signal: AbortSignal.timeout(sdkLimits.requestMsMax) });
        return { status: res.status, body: await this.read(res, method, path) };
      } catch (error) {
        if (error instanceof BursarError) throw error;
        failure = error;
      }
    }
    const cause = (failure as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    const why = cause?.code ?? cause?.message ?? (failure as Error | undefined)?.message ?? 'no answer';
    throw new BursarError('server_unreachable', `cannot reach the Bursar server at ${this.connection.url} (${why}) after ${sdkLimits.attemptsMax} tries`, { cause: failure });
  }

  private async read(res: Response, method: string, path: string): Promise<unknown> {
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > sdkLimits.responseBytesMax) throw new BursarError('bad_response', `the server sent ${length} bytes for ${method} ${path}, more than ${sdkLimits.responseBytesMax}`);
    const text = await res.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new BursarError('bad_response', `the server at ${this.connection.url} answered ${method} ${path} with HTTP ${res.status} and no JSON; is the URL a Bursar gateway?`);
    }
  }
}
