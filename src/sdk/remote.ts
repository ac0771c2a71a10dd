import type { z } from 'zod';
import { agentRoutes, balanceFromJson, RouteClient, TransportError, type RouteAnswer, type RouteInput, type RouteSpec } from '../contract/index.js';
import { toolPricesFromJson, type ToolPrices } from '../pricing/index.js';
import type { Connection, ReserveRequest, SdkBackend } from './backend.js';
import { sdkLimits } from './limits.js';
import { BursarError, type BursarRefusal, type BursarResult, type DelegatedToken, type DelegateOptions } from './types.js';

export interface RemoteBackendOptions extends Connection {
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** The server's JSON field names as the SDK's inputs name them (as `field` on a refusal). */
const fieldNames: Record<string, string> = {
  estimate_micros: 'estimateMicros',
  ttl_ms: 'ttlMs',
  actual_micros: 'actualMicros',
  max_spend_micros: 'maxSpendMicros',
  expires_in_ms: 'expiresInMs',
  expires_at: 'expiresAt',
  request_cap_micros: 'requestCapMicros',
  inflight_max: 'inflightMax',
  'labels.session': 'session',
  'labels.task': 'task',
};

/**
 * The SDK over a Bursar server's agent routes, with a spend token: a thin client of the same
 * route declarations the server registers. Refusals come back as results with the server's
 * code; an unreachable server (after `sdkLimits.attemptsMax` tries) or a store the server
 * cannot reach throws a `BursarError`.
 *
 * @example
 * const backend = new RemoteBackend({ url: 'http://127.0.0.1:8787', token: process.env.BURSAR_TOKEN ?? '' });
 */
export class RemoteBackend implements SdkBackend {
  readonly mode = 'remote';
  readonly connection: Connection;
  private readonly client: RouteClient;
  private prices: Promise<ToolPrices> | undefined;

  constructor(private readonly o: RemoteBackendOptions) {
    this.client = new RouteClient({
      url: o.url,
      headers: { authorization: `Bearer ${o.token}` },
      fetch: o.fetch,
      requestMsMax: sdkLimits.requestMsMax,
      responseBytesMax: sdkLimits.responseBytesMax,
      attemptsMax: sdkLimits.attemptsMax,
      retryDelayMs: sdkLimits.retryDelayMs,
    });
    this.connection = { url: this.client.url, token: o.token };
  }

  /** The server's tool price table, read once. */
  toolPrices(): Promise<ToolPrices> {
    this.prices ??= this.request(agentRoutes.toolPrices).then((answer) => {
      if (!answer.ok) throw new BursarError('bad_response', `the server refused GET /v1/bursar/tools: ${answer.code}: ${answer.message}`);
      return toolPricesFromJson(answer.value, this.connection.url);
    });
    this.prices.catch(() => (this.prices = undefined));
    return this.prices;
  }

  async reserve(r: ReserveRequest) {
    const body = {
      tool: r.tool,
      estimate_micros: r.estimateMicros,
      params: r.params,
      ttl_ms: r.ttlMs,
      labels: r.session === undefined && r.task === undefined ? undefined : { session: r.session, task: r.task },
      tags: r.tags === undefined ? undefined : [...r.tags],
    };
    const answer = await this.request(agentRoutes.reserveTool, { body, headers: { 'idempotency-key': r.idempotencyKey } });
    if (!answer.ok) return answer;
    const { reservation: v, estimate_basis, remaining_micros, tightest } = answer.value;
    return { ok: true as const, reservation: { id: v.id, budget: v.budget, amountMicros: v.amount_micros, basis: estimate_basis, expiresMs: Date.parse(v.expires_at), remainingMicros: remaining_micros, tightest } };
  }

  async settle(id: string, actualMicros: number, idempotencyKey: string) {
    const answer = await this.request(agentRoutes.settleTool, { params: { id }, body: { actual_micros: actualMicros }, headers: { 'idempotency-key': idempotencyKey } });
    if (!answer.ok) return answer;
    return { ok: true as const, settlement: { id, actualMicros, overrunMicros: answer.value.overrun_micros, lateCharge: answer.value.late_charge } };
  }

  async void(id: string, idempotencyKey: string) {
    const answer = await this.request(agentRoutes.voidTool, { params: { id }, headers: { 'idempotency-key': idempotencyKey } });
    return answer.ok ? { ok: true as const, id } : answer;
  }

  async balance() {
    const answer = await this.request(agentRoutes.balance);
    return answer.ok ? { ok: true as const, balance: balanceFromJson(answer.value) } : answer;
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
    const answer = await this.request(agentRoutes.delegateToken, { body });
    if (!answer.ok) return answer;
    const v = answer.value;
    const delegated: DelegatedToken = { id: v.id, token: v.token, budget: v.budget, maxSpendMicros: v.max_spend_micros, expiresMs: v.expires_at === null ? null : Date.parse(v.expires_at), scopes: v.scopes };
    return { ok: true, delegated, backend: new RemoteBackend({ ...this.o, token: v.token }) };
  }

  async revoke(tokenId: string) {
    const answer = await this.request(agentRoutes.revokeDelegatedToken, { params: { id: tokenId } });
    return answer.ok ? { ok: true as const, revoked: answer.value.revoked } : answer;
  }

  async close(): Promise<void> {
    // Nothing held open: fetch's connection pool closes idle sockets itself.
  }

  /** A route's declared answer, or the refusal the server answered with; the server or its store unreachable throws. */
  private async request<S extends RouteSpec>(spec: S, input?: RouteInput): Promise<BursarResult<{ value: z.output<S['response']['schema']> }>> {
    let answer: RouteAnswer<z.output<S['response']['schema']>>;
    try {
      answer = await this.client.call(spec, input);
    } catch (error) {
      if (error instanceof TransportError) throw new BursarError(error.code, error.message, { cause: error.cause });
      throw error;
    }
    if (answer.ok) return { ok: true, value: answer.value };
    const { status: _status, ...e } = answer.failure;
    if (e.code === 'store_unavailable') throw new BursarError('store_unavailable', e.message);
    const refusal: BursarRefusal = { ok: false, ...e };
    if (e.field !== undefined) refusal.field = fieldNames[e.field] ?? e.field;
    return refusal;
  }
}
