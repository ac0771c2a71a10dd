import { newSpendToken, type Labels, type RandomBytes, type Refusal } from '../core/index.js';
import { estimateTool, type ToolPrices } from '../pricing/tools.js';
import { StoreUnavailableError, type Store } from '../store/index.js';
import { balanceOf, type ReserveRequest, type SdkBackend } from './backend.js';
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

function refusalOf(r: Refusal): BursarRefusal {
  const out: BursarRefusal = { ok: false, code: r.code, message: r.message };
  if (r.budget !== undefined) out.budget = r.budget;
  if (r.remainingMicros !== undefined) out.remainingMicros = r.remainingMicros;
  if (r.field !== undefined) out.field = fieldNames[r.field] ?? r.field;
  return out;
}

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(`${root}/`);
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
    const estimate = estimateTool(this.o.toolPrices, r.tool, r.estimateMicros);
    const labels: Labels = { tool: r.tool, actor: this.o.actor };
    if (r.session !== undefined) labels.session = r.session;
    if (r.task !== undefined) labels.task = r.task;
    const result = await this.use((s) => s.reserve({ path: this.o.budget, amountMicros: estimate.costMicros, ttlMs: r.ttlMs, labels }));
    if (!result.ok) return refusalOf(result);
    const v = result.reservation;
    return { ok: true as const, reservation: { id: v.id, budget: v.budget, amountMicros: v.amountMicros, basis: estimate.basis, expiresMs: v.expiresMs, remainingMicros: result.remainingMicros, tightest: result.tightest } };
  }

  /** A reservation on this client's budget or under it; another is unknown, as in remote mode. */
  private async owned(id: string): Promise<BursarRefusal | undefined> {
    const found = await this.use((s) => s.getReservation(id));
    if (found && within(this.o.budget, found.budget)) return undefined;
    return { ok: false, code: 'unknown_reservation', message: `no reservation ${id} on ${this.o.budget}`, field: 'id' };
  }

  async settle(id: string, actualMicros: number) {
    const missing = await this.owned(id);
    if (missing) return missing;
    const result = await this.use((s) => s.settle({ reservationId: id, actualMicros, actor: this.o.actor }));
    if (!result.ok) return refusalOf(result);
    return { ok: true as const, settlement: { id, actualMicros, overrunMicros: result.overrunMicros, lateCharge: result.lateCharge } };
  }

  async void(id: string) {
    const missing = await this.owned(id);
    if (missing) return missing;
    const result = await this.use((s) => s.void({ reservationId: id, actor: this.o.actor }));
    return result.ok ? { ok: true as const, id } : refusalOf(result);
  }

  async balance() {
    const chain = await this.use((s) => s.chain(this.o.budget));
    if (chain.length === 0) return { ok: false as const, code: 'unknown_budget', message: `no budget at ${this.o.budget}`, field: 'budget' };
    const levels = chain.map((b) => ({ budget: b.path, kind: b.kind, status: b.status, limitMicros: b.limitMicros, spentMicros: b.spentMicros, reservedMicros: b.reservedMicros, remainingMicros: b.remainingMicros === null ? null : Math.max(0, b.remainingMicros) }));
    return { ok: true as const, balance: balanceOf(levels) };
  }

  /**
   * A client spending from a plain budget (no token of its own) mints under that budget, which the
   * ledger treats as an admin's mint; the child must still fit in what the chain has left, as a
   * token's child must (the ledger checks that one itself).
   */
  private async roomRefusal(maxSpendMicros: number): Promise<BursarRefusal | undefined> {
    const chain = await this.use((s) => s.chain(this.o.budget));
    let tightest: (typeof chain)[number] | undefined;
    for (const b of chain) if (b.remainingMicros !== null && (tightest === undefined || b.remainingMicros < (tightest.remainingMicros ?? 0))) tightest = b;
    if (!tightest || tightest.remainingMicros === null || maxSpendMicros <= tightest.remainingMicros) return undefined;
    const left = Math.max(0, tightest.remainingMicros);
    return { ok: false, code: 'policy_widens', message: `a child token's max spend must be at most what this client can still spend: budget ${tightest.path} has ${left} micros left`, field: 'maxSpendMicros', budget: tightest.path, remainingMicros: left };
  }

  async delegate(d: DelegateOptions, nowMs: number): Promise<BursarResult<{ delegated: DelegatedToken; backend: SdkBackend }>> {
    // A delegated client mints under its own token, so the ledger checks scope, expiry and room, and a revoke reaches the children.
    const tokenId = this.o.tokenId;
    const parent = tokenId === undefined ? undefined : await this.use((s) => s.getToken(tokenId));
    const room = parent ? undefined : await this.roomRefusal(d.maxSpendMicros);
    if (room) return room;
    if (parent && !parent.scopes.includes('delegate')) return { ok: false, code: 'forbidden', message: `token ${parent.id} may not mint child tokens: it was delegated without delegate: true` };
    const minted = newSpendToken(this.o.random);
    const expiresMs = d.expiresAt !== undefined ? Number(d.expiresAt) : d.expiresInMs !== undefined ? nowMs + d.expiresInMs : (parent?.expiresMs ?? null);
    const labels: Labels = {};
    if (d.session !== undefined) labels.session = d.session;
    if (d.task !== undefined) labels.task = d.task;
    const where = parent ? { parentTokenId: parent.id } : { path: this.o.budget };
    const result = await this.use((s) =>
      s.mintToken({ ...where, tokenId: minted.id, hash: minted.hash, limitMicros: d.maxSpendMicros, models: d.models, requestCapMicros: d.requestCapMicros, inflightMax: d.inflightMax, expiresMs, scopes: d.delegate === true ? ['delegate'] : [], labels, actor: this.o.actor, reason: d.reason }),
    );
    if (!result.ok) return refusalOf(result);
    const delegated: DelegatedToken = { id: result.token.id, token: minted.secret, budget: result.envelope.path, maxSpendMicros: d.maxSpendMicros, expiresMs: result.token.expiresMs, scopes: result.token.scopes };
    const backend = new LocalBackend({ ...this.o, open: () => this.store(), ownsStore: false, budget: result.envelope.path, tokenId: result.token.id });
    return { ok: true, delegated, backend };
  }

  async revoke(tokenId: string) {
    const token = await this.use((s) => s.getToken(tokenId));
    if (!token || !within(this.o.budget, token.budget)) return { ok: false as const, code: 'unknown_token', message: `no token ${tokenId} under ${this.o.budget}`, field: 'tokenId' };
    const result = await this.use((s) => s.revokeToken({ tokenId, actor: this.o.actor }));
    return result.ok ? { ok: true as const, revoked: result.revoked } : refusalOf(result);
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (this.o.ownsStore && opened) await (await opened).close();
  }
}
