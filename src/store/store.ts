import type {
  AuditReport,
  BudgetOk,
  BudgetView,
  Policy,
  ClosedPeriod,
  CommandResult,
  CreateBudget,
  EntryKind,
  Grant,
  LedgerEntry,
  MintOk,
  MintToken,
  MoveBudget,
  Refusal,
  ResetBreaker,
  ReservationView,
  Reserve,
  ReserveOk,
  RevokeOk,
  RevokeToken,
  SetStatus,
  Settle,
  SettleOk,
  TokenRecord,
  TokenView,
  UpdateBudget,
  Void,
  VoidOk,
  Command,
} from '../core/index.js';
import type { RefusalPage, RefusalQuery, RefusalRetention, RefusalWrite } from './refusals.js';
import type { WebhookStore } from './webhooks.js';

export interface AuditOptions {
  /** Replay from the first entry, not from the last audit's checkpoint. */
  full?: boolean;
}

/** Time source; tests pass a simulated one. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Filters for reading the ledger. Budget filters include everything under the budget. */
export interface LedgerQuery {
  budget?: string;
  session?: string;
  task?: string;
  model?: string;
  kinds?: EntryKind[];
  sinceMs?: number;
  untilMs?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit?: number;
  order?: 'asc' | 'desc';
}

export interface LedgerPage {
  entries: LedgerEntry[];
  /** Pass as `cursor` to read the next page; null at the end. */
  nextCursor: string | null;
}

type Input<C extends Command> = Omit<C, 'type'>;

/**
 * What every store offers. Writes go through one ledger machine (`src/core`) inside a store
 * transaction and are acknowledged only after that transaction commits; all writes that
 * arrive in one event-loop turn share one transaction (group commit).
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Current time as the store sees it (its clock, never behind the last entry). */
  now(): number;

  execute(cmd: Command): Promise<CommandResult>;
  createBudget(input: Input<CreateBudget>): Promise<BudgetOk | Refusal>;
  updateBudget(input: Input<UpdateBudget>): Promise<BudgetOk | Refusal>;
  setStatus(input: Input<SetStatus>): Promise<BudgetOk | Refusal>;
  grant(input: Input<Grant>): Promise<BudgetOk | Refusal>;
  moveBudget(input: Input<MoveBudget>): Promise<BudgetOk | Refusal>;
  /** Closes a budget's tripped burn-limit breaker by hand (a `breaker_closed` entry). */
  resetBreaker(input: Input<ResetBreaker>): Promise<BudgetOk | Refusal>;
  reserve(input: Input<Reserve>): Promise<ReserveOk | Refusal>;
  settle(input: Input<Settle>): Promise<SettleOk | Refusal>;
  void(input: Input<Void>): Promise<VoidOk | Refusal>;
  mintToken(input: Input<MintToken>): Promise<MintOk | Refusal>;
  revokeToken(input: Input<RevokeToken>): Promise<RevokeOk | Refusal>;
  /** Runs a transaction that only expires overdue reservations; returns how many. */
  sweep(): Promise<number>;
  /** Webhooks and the outbox of events waiting for them (filled by the ledger's own transactions). */
  readonly webhooks: WebhookStore;

  getBudget(path: string): Promise<BudgetView | undefined>;
  listBudgets(): Promise<BudgetView[]>;
  /** The model, tag and provider budgets (the budgets across the tree), sorted by path: what a balance lists beside a chain, without reading every budget. */
  crossBudgets(): Promise<BudgetView[]>;
  /** The budget and its ancestors, leaf first; empty when it does not exist. */
  chain(path: string): Promise<BudgetView[]>;
  /** The policies of the budget and its ancestors, leaf first (empty when it does not exist): what a call's options depend on, without the balances. */
  chainPolicies(path: string): Promise<Policy[]>;
  getReservation(id: string): Promise<ReservationView | undefined>;
  /** The token with this secret hash and the path of its envelope budget. */
  findTokenByHash(hash: string): Promise<FoundToken | undefined>;
  /** One token by id (never its secret), or undefined. */
  getToken(id: string): Promise<TokenView | undefined>;
  listTokens(): Promise<TokenView[]>;
  ledger(query: LedgerQuery): Promise<LedgerPage>;
  closedPeriods(path: string): Promise<ClosedPeriod[]>;
  /**
   * Replays the ledger and compares it with the stored balances. Starts from the checkpoint the
   * last successful audit left (once the ledger is found to still hold that entry with that
   * hash), or from the first entry with `full`; a successful audit leaves a checkpoint at the head.
   */
  audit(options?: AuditOptions): Promise<AuditReport>;

  /**
   * Writes refusal rows to the refusals table, outside the ledger (no entry, no balance), then
   * deletes the rows `retention` no longer keeps. A row with an id rewrites that row (one that
   * retention already deleted is inserted again). Answers each row's id, in order.
   */
  writeRefusals(rows: readonly RefusalWrite[], retention: RefusalRetention): Promise<number[]>;
  /** A page of the refusals table, by id. */
  refusals(query: RefusalQuery): Promise<RefusalPage>;

  /** Called with the entries of every committed transaction, in order. */
  subscribe(listener: (entries: readonly LedgerEntry[]) => void): () => void;
  /** Resolves when the database answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A token as the gateway resolves it. */
export interface FoundToken {
  token: TokenRecord;
  budgetPath: string;
}

/** Thrown by a store when its database cannot be reached or written. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
