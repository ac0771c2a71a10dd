import {
  assert,
  entryHash,
  NeedData,
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
import type { PgCache } from './postgres-cache.js';

/**
 * What a batch loaded under the head lock besides budgets. A key present with `null` was
 * looked up and is absent; a key missing was never asked for (a `NeedData` miss).
 */
export interface PgLoaded {
  reservations: Map<number, ReservationRecord | null>;
  /** Open reservations due at the batch's time, oldest first; the same objects as above. */
  due: ReservationRecord[];
  tokens: Map<string, TokenRecord | null>;
  /** Tokens whose whole delegation subtree was loaded. */
  tokenSubtrees: Set<string>;
  idempotency: Map<string, IdempotencyRecord | null>;
}

/**
 * One write transaction. Budgets come from the process cache (complete and current under
 * the head lock), everything else from `PgLoaded`; changes are collected for one bulk write.
 */
export class PgTx extends BudgetIndexReads<PgCache> implements Tx {
  readonly entries: LedgerEntry[] = [];
  readonly newBudgets = new Set<BudgetRecord>();
  readonly dirtyBudgets = new Set<BudgetRecord>();
  /** Reservations made in this batch, whatever became of them. */
  readonly created = new Map<number, ReservationRecord>();
  /** Earlier reservations this batch resolved. */
  readonly resolved = new Set<number>();
  readonly newTokens = new Map<string, TokenRecord>();
  readonly dirtyTokens = new Set<TokenRecord>();
  readonly idempotencyRecords = new Map<string, IdempotencyRecord>();
  readonly closedPeriods: ClosedPeriod[] = [];

  constructor(
    cache: PgCache,
    private readonly loaded: PgLoaded,
    readonly nowMs: number,
  ) {
    super(cache);
  }

  reservation(seq: number): ReservationRecord | undefined {
    const made = this.created.get(seq);
    if (made) return made;
    if (!this.loaded.reservations.has(seq)) throw new NeedData({ reservationSeqs: [seq] });
    return this.loaded.reservations.get(seq) ?? undefined;
  }

  dueReservations(max: number): ReservationRecord[] {
    return this.loaded.due.filter((r) => r.status === 'open' && r.expiresMs <= this.nowMs).slice(0, max);
  }

  token(id: string): TokenRecord | undefined {
    const made = this.newTokens.get(id);
    if (made) return made;
    if (!this.loaded.tokens.has(id)) throw new NeedData({ tokenIds: [id] });
    return this.loaded.tokens.get(id) ?? undefined;
  }

  childTokens(id: string): TokenRecord[] {
    if (!this.newTokens.has(id) && !this.loaded.tokenSubtrees.has(id)) throw new NeedData({ tokenIds: [id] });
    const out: TokenRecord[] = [];
    for (const t of this.loaded.tokens.values()) if (t?.parentTokenId === id) out.push(t);
    for (const t of this.newTokens.values()) if (t.parentTokenId === id) out.push(t);
    return out;
  }

  idempotency(key: string): IdempotencyRecord | undefined {
    const made = this.idempotencyRecords.get(key);
    if (made) return made;
    assert(this.loaded.idempotency.has(key), `idempotency key ${key} was not loaded for its command`);
    return this.loaded.idempotency.get(key) ?? undefined;
  }

  nextSeq(): number {
    return this.cache.head.seq + 1;
  }

  nextBudgetId(): number {
    return this.cache.head.budgetIdMax + 1;
  }

  insertBudget(record: BudgetRecord): void {
    this.cache.addBudget(record);
    this.newBudgets.add(record);
  }

  budgetChanged(record: BudgetRecord): void {
    this.cache.reindexBudget(record);
    this.dirtyBudgets.add(record);
  }

  insertReservation(record: ReservationRecord): void {
    this.created.set(record.seq, record);
  }

  reservationChanged(record: ReservationRecord): void {
    if (record.status !== 'open' && !this.created.has(record.seq)) this.resolved.add(record.seq);
  }

  insertToken(record: TokenRecord): void {
    this.newTokens.set(record.id, record);
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
    const head = this.cache.head;
    const seq = head.seq + 1;
    // Drafts from `draft()` already have the entry's shape: fill it in place, no copy.
    const entry = d as LedgerEntry;
    entry.seq = seq;
    entry.hash = entryHash(head.hash, seq, d);
    this.entries.push(entry);
    head.seq = seq;
    head.hash = entry.hash;
    head.tsMs = d.tsMs;
    return seq;
  }

  /** True when the batch changed anything that must be written. */
  wrote(): boolean {
    return this.entries.length > 0 || this.dirtyBudgets.size > 0 || this.newTokens.size > 0 || this.idempotencyRecords.size > 0;
  }
}
