import type {
  BudgetRecord,
  ClosedPeriod,
  EntryDraft,
  IdempotencyRecord,
  ReservationRecord,
  TokenRecord,
} from './types.js';

/**
 * The state a store lends to the ledger machine for one transaction. Reads return mutable
 * records owned by the transaction; the machine reports every change through the write
 * methods, and the store persists them when the transaction commits (or drops them all).
 * Every method is synchronous: a store loads what a batch needs before running it.
 */
export interface Tx {
  /** The transaction's time. Never earlier than the time of any entry already written. */
  readonly nowMs: number;
  budgetById(id: number): BudgetRecord | undefined;
  budgetByPath(path: string): BudgetRecord | undefined;
  /** Direct children of a budget. */
  childrenOf(id: number): BudgetRecord[];
  /** The model budgets (kind `model`) directly under a budget; undefined when it has none. */
  modelBudgetsUnder(id: number): readonly BudgetRecord[] | undefined;
  reservation(seq: number): ReservationRecord | undefined;
  /** Open reservations whose TTL ran out at or before `nowMs`, oldest first. */
  dueReservations(max: number): ReservationRecord[];
  token(id: string): TokenRecord | undefined;
  childTokens(id: string): TokenRecord[];
  idempotency(key: string): IdempotencyRecord | undefined;
  /** Sequence number the next appended entry will receive. */
  nextSeq(): number;

  nextBudgetId(): number;
  insertBudget(record: BudgetRecord): void;
  budgetChanged(record: BudgetRecord): void;
  insertReservation(record: ReservationRecord): void;
  reservationChanged(record: ReservationRecord): void;
  insertToken(record: TokenRecord): void;
  tokenChanged(record: TokenRecord): void;
  putIdempotency(record: IdempotencyRecord): void;
  closePeriod(period: ClosedPeriod): void;
  /** Appends an entry to the ledger and returns its sequence number. */
  append(draft: EntryDraft): number;
}

/** Thrown by a store's transaction view when the machine asks for state it did not load. */
export class NeedData extends Error {
  constructor(readonly what: { budgetPaths?: string[]; budgetIds?: number[]; reservationSeqs?: number[]; tokenIds?: string[]; subtreeOf?: number[] }) {
    super('transaction needs more state');
  }
}
