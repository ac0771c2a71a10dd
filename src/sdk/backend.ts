import type { ToolPrices } from '../pricing/index.js';
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
