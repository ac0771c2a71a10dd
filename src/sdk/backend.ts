import type { ToolPrices } from '../pricing/tools.js';
import type { Balance, BursarResult, DelegatedToken, DelegateOptions, Reservation, Settlement, ToolCall } from './types.js';

/** A reservation request as the client passes it on: the call, its labels and retry key. */
export interface ReserveRequest extends ToolCall {
  /** Makes a retried request answer like the first (remote mode). */
  idempotencyKey: string;
}

/** Where a remote client talks to: the gateway's URL and the spend token. */
export interface Connection {
  url: string;
  token: string;
}

/**
 * What the two modes implement: `LocalBackend` over a store opened in this process, and
 * `RemoteBackend` over a server's agent routes with a spend token. Expected outcomes are
 * results; only an unreachable server or a broken store throws.
 */
export interface SdkBackend {
  readonly mode: 'local' | 'remote';
  /** Remote mode only: where the gateway is and the token to call it with. */
  readonly connection: Connection | undefined;
  toolPrices(): Promise<ToolPrices>;
  reserve(request: ReserveRequest): Promise<BursarResult<{ reservation: Reservation }>>;
  settle(id: string, actualMicros: number, idempotencyKey: string): Promise<BursarResult<{ settlement: Settlement }>>;
  void(id: string, idempotencyKey: string): Promise<BursarResult<{ id: string }>>;
  balance(): Promise<BursarResult<{ balance: Balance }>>;
  /** Mints a child token; `backend` spends from its envelope. */
  delegate(options: DelegateOptions, nowMs: number): Promise<BursarResult<{ delegated: DelegatedToken; backend: SdkBackend }>>;
  revoke(tokenId: string): Promise<BursarResult<{ revoked: string[] }>>;
  close(): Promise<void>;
}

/**
 * The tightest level of a chain and whether every level is active, from levels leaf first.
 *
 * @example
 * balanceOf([{ budget: 'acme/bot', kind: 'agent', status: 'active', limitMicros: 5, spentMicros: 1, reservedMicros: 0, remainingMicros: 4 }]).remainingMicros // 4
 */
export function balanceOf(chain: Balance['chain']): Balance {
  let tightest: Balance['chain'][number] | undefined;
  for (const level of chain) {
    if (level.remainingMicros === null) continue;
    if (tightest === undefined || level.remainingMicros < (tightest.remainingMicros ?? 0)) tightest = level;
  }
  return { remainingMicros: tightest?.remainingMicros ?? null, tightest: tightest?.budget ?? null, active: chain.every((l) => l.status === 'active'), chain };
}
