import type { Labels, RandomBytes } from '../core/index.js';
import type { Failure } from '../contract/index.js';
import { balanceAt, delegate, reserveTool, revokeToken, settle, voidReservation } from '../ops/index.js';
import type { ToolPrices } from '../pricing/index.js';
import { StoreUnavailableError, type Store } from '../store/index.js';
import type { ReserveRequest, SdkBackend } from './backend.js';
import { BursarError, type BursarRefusal, type BursarResult, type DelegatedToken, type DelegateOptions } from './types.js';

/** What a local client is built from. */
export interface LocalBackendOptions {
  /** Opens the store on first use; called once. */
  open: () => Promise<Store>;
  /** True when this client opened the store and closes it. */
  ownsStore: boolean;
  /** The budget every reservation is made on (its whole chain is checked). */
  budget: string;
  toolPrices: ToolPrices;
  /** Recorded as the actor of what this client does. */
  actor: string;
  random: RandomBytes;
  /** The token this client spends with, when it was delegated: its children nest under it. */
  tokenId?: string;
}

/** Ledger field names as the SDK's inputs name them. */
const fieldNames: Record<string, string> = { amountMicros: 'estimateMicros', limitMicros: 'maxSpendMicros', expiresMs: 'expiresAt', reservationId: 'id', tokenId: 'tokenId' };

function refusalOf(r: Failure): BursarRefusal {
  const out: BursarRefusal = { ok: false, code: r.code, message: r.message };
  if (r.budget !== undefined) out.budget = r.budget;
  if (r.remainingMicros !== undefined) out.remainingMicros = r.remainingMicros;
  if (r.field !== undefined) out.field = fieldNames[r.field] ?? r.field;
  if (r.retryAfterMs !== undefined) out.retryAfterMs = r.retryAfterMs;
  return out;
}

/**
 * The SDK over a ledger opened in this process: the same operations as the remote mode, made
 * directly on the store (tool prices from the same table). Nothing crosses a network, so no
 * request is retried and no idempotency key is needed. There is no spend token: the client
 * spends on `budget` and everything above it.
 *
 * @example
 * const backend = new LocalBackend({ open: () => openStore({ db: './bursar.db' }), ownsStore: true, budget: 'acme/bot', toolPrices: defaultToolPrices(), actor: 'sdk', random });
 */
export class LocalBackend implements SdkBackend {
  readonly mode = 'local';
  readonly connection = undefined;
  private opened: Promise<Store> | undefined;

  constructor(private readonly o: LocalBackendOptions) {}

  /** The store, opened on first use; an unreachable one throws `BursarError('store_unavailable')`. */
  private async store(): Promise<Store> {
    this.opened ??= this.o.open();
    return this.opened;
  }

  private async use<T>(work: (store: Store) => Promise<T>): Promise<T> {
    try {
      return await work(await this.store());
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw new BursarError('store_unavailable', error.message, { cause: error });
      throw error;
    }
  }

  async toolPrices(): Promise<ToolPrices> {
    return this.o.toolPrices;
  }

  async reserve(r: ReserveRequest) {
    const labels: Labels = { actor: this.o.actor };
    if (r.session !== undefined) labels.session = r.session;
    if (r.task !== undefined) labels.task = r.task;
    const result = await this.use((s) => reserveTool(s, this.o.toolPrices, { path: this.o.budget, tool: r.tool, estimateMicros: r.estimateMicros, params: r.params, ttlMs: r.ttlMs, labels, tags: r.tags === undefined ? undefined : [...r.tags] }));
    if (!result.ok) return refusalOf(result);
    const { reservation: v, remainingMicros, tightest } = result.reservation;
    return { ok: true as const, reservation: { id: v.id, budget: v.budget, amountMicros: v.amountMicros, basis: result.estimate.basis, expiresMs: v.expiresMs, remainingMicros, tightest } };
  }

  async settle(id: string, actualMicros: number) {
    const result = await this.use((s) => settle(s, { reservationId: id, actualMicros, actor: this.o.actor, within: this.o.budget }));
    if (!result.ok) return refusalOf(result);
    return { ok: true as const, settlement: { id, actualMicros, overrunMicros: result.overrunMicros, lateCharge: result.lateCharge } };
  }

  async void(id: string) {
    const result = await this.use((s) => voidReservation(s, { reservationId: id, actor: this.o.actor, within: this.o.budget }));
    return result.ok ? { ok: true as const, id } : refusalOf(result);
  }

  async balance() {
    const balance = await this.use((s) => balanceAt(s, this.o.budget));
    if (!balance) return { ok: false as const, code: 'unknown_budget', message: `no budget at ${this.o.budget}`, field: 'budget' };
    return { ok: true as const, balance };
  }

  async delegate(d: DelegateOptions, nowMs: number): Promise<BursarResult<{ delegated: DelegatedToken; backend: SdkBackend }>> {
    // A delegated client mints under its own token, so a revoke reaches the children; a client of a plain budget mints under the budget.
    const tokenId = this.o.tokenId;
    const parent = tokenId === undefined ? undefined : await this.use((s) => s.getToken(tokenId));
    const expiresMs = d.expiresAt !== undefined ? Number(d.expiresAt) : d.expiresInMs !== undefined ? nowMs + d.expiresInMs : undefined;
    const labels: Labels = {};
    if (d.session !== undefined) labels.session = d.session;
    if (d.task !== undefined) labels.task = d.task;
    const input = { limitMicros: d.maxSpendMicros, models: d.models, requestCapMicros: d.requestCapMicros, inflightMax: d.inflightMax, expiresMs, delegate: d.delegate, labels, actor: this.o.actor, reason: d.reason };
    const result = await this.use((s) => delegate(s, this.o.random, parent ? { token: parent } : { budget: this.o.budget }, input, nowMs));
    if (!result.ok) return refusalOf(result);
    const delegated: DelegatedToken = { id: result.token.id, token: result.secret, budget: result.envelope.path, maxSpendMicros: d.maxSpendMicros, expiresMs: result.token.expiresMs, scopes: result.token.scopes };
    const backend = new LocalBackend({ ...this.o, open: () => this.store(), ownsStore: false, budget: result.envelope.path, tokenId: result.token.id });
    return { ok: true, delegated, backend };
  }

  async revoke(tokenId: string) {
    const result = await this.use((s) => revokeToken(s, { tokenId, within: this.o.budget, actor: this.o.actor }));
    return result.ok ? { ok: true as const, revoked: result.revoked } : refusalOf(result);
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (this.o.ownsStore && opened) await (await opened).close();
  }
}
