import {
  entryHashText,
  hashOfEntryText,
  type BudgetRecord,
  type ClosedPeriod,
  type EntryDraft,
  type IdempotencyRecord,
  type LedgerEntry,
  type ReservationRecord,
  type TokenRecord,
  type Tx,
} from '../../core/index.js';
import { BudgetIndexReads } from '../budget-index.js';
import type { SqliteCache } from './sqlite-cache.js';

/** Point reads a transaction may need beyond the cache. */
export interface SqliteReads {
  reservation(seq: number): ReservationRecord | undefined;
  idempotency(key: string): IdempotencyRecord | undefined;
}

/**
 * One write transaction over the cache. Changes land in the cache at once (the cache is
 * dropped if the transaction fails) and are collected here for the store to write at commit.
 */
export class SqliteTx extends BudgetIndexReads<SqliteCache> implements Tx {
  readonly entries: LedgerEntry[] = [];
  /** The text each entry's hash was computed over (`entryHashText`), in entry order. */
  readonly entryTexts: string[] = [];
  readonly newBudgets = new Set<BudgetRecord>();
  readonly dirtyBudgets = new Set<BudgetRecord>();
  readonly newTokens = new Set<TokenRecord>();
  readonly dirtyTokens = new Set<TokenRecord>();
  readonly idempotencyRecords = new Map<string, IdempotencyRecord>();
  readonly closedPeriods: ClosedPeriod[] = [];
  /** Reservations this transaction resolved (settled, voided, expired). */
  readonly resolved: ReservationRecord[] = [];
  private readonly loadedReservations = new Map<number, ReservationRecord>();

  constructor(
    cache: SqliteCache,
    private readonly reads: SqliteReads,
    readonly nowMs: number,
  ) {
    super(cache);
  }

  reservation(seq: number): ReservationRecord | undefined {
    const cached = this.cache.open.get(seq) ?? this.loadedReservations.get(seq);
    if (cached) return cached;
    const loaded = this.reads.reservation(seq);
    if (loaded) this.loadedReservations.set(seq, loaded);
    return loaded;
  }

  dueReservations(max: number): ReservationRecord[] {
    return this.cache.due(this.nowMs, max);
  }

  token(id: string): TokenRecord | undefined {
    return this.cache.tokens.get(id);
  }

  childTokens(id: string): TokenRecord[] {
    return this.cache.childTokens(id);
  }

  idempotency(key: string): IdempotencyRecord | undefined {
    return this.idempotencyRecords.get(key) ?? this.reads.idempotency(key);
  }

  nextSeq(): number {
    return this.cache.headSeq + 1;
  }

  nextBudgetId(): number {
    return this.cache.maxBudgetId + 1;
  }

  insertBudget(record: BudgetRecord): void {
    this.cache.addBudget(record);
    this.newBudgets.add(record);
  }

  budgetChanged(record: BudgetRecord): void {
    this.cache.reindexBudget(record);
    this.dirtyBudgets.add(record);
  }

  // Reservations live in the ledger: the cache tracks which are open, nothing else is written.
  insertReservation(record: ReservationRecord): void {
    this.cache.addOpen(record);
  }

  reservationChanged(record: ReservationRecord): void {
    if (record.status === 'open') return;
    this.cache.open.delete(record.seq);
    this.resolved.push(record);
  }

  insertToken(record: TokenRecord): void {
    this.cache.addToken(record);
    this.newTokens.add(record);
  }

  tokenChanged(record: TokenRecord): void {
    this.dirtyTokens.add(record);
  }

  putIdempotency(record: IdempotencyRecord): void {
    this.idempotencyRecords.set(record.key, record);
  }

  closePeriod(period: ClosedPeriod): void {
    this.closedPeriods.push(period);
  }

  append(d: EntryDraft): number {
    const seq = this.cache.headSeq + 1;
    // Drafts from `draft()` already have the entry's shape: fill it in place, no copy.
    const entry = d as LedgerEntry;
    entry.seq = seq;
    const text = entryHashText(this.cache.headHash, seq, d);
    entry.hash = hashOfEntryText(text);
    this.entries.push(entry);
    this.entryTexts.push(text);
    this.cache.headSeq = seq;
    this.cache.headHash = entry.hash;
    this.cache.headTsMs = d.tsMs;
    return seq;
  }
}
