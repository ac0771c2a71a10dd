import { genesisHash, type BudgetRecord, type ReservationRecord, type TokenRecord } from '../../core/index.js';
import { BudgetIndex } from '../budget-index.js';

type BudgetShape = Pick<BudgetRecord, 'parentId' | 'path' | 'status' | 'limitMicros' | 'period' | 'timezone' | 'periodStartMs' | 'periodEndMs' | 'policy'>;

function shapeOf(b: BudgetRecord): BudgetShape {
  return { parentId: b.parentId, path: b.path, status: b.status, limitMicros: b.limitMicros, period: b.period, timezone: b.timezone, periodStartMs: b.periodStartMs, periodEndMs: b.periodEndMs, policy: b.policy };
}

/**
 * The writer's in-memory view of everything a reservation touches: all budgets, all open
 * reservations, all tokens, and the ledger head. It is complete (no lazy misses), it changes
 * only inside a write transaction, and it is thrown away whenever another connection commits
 * (`PRAGMA data_version`) or a transaction fails.
 */
export class SqliteCache extends BudgetIndex {
  /** Each budget's fields other than its balances, as last written to the database. */
  private readonly written = new Map<number, BudgetShape>();
  /** Open reservations by sequence; insertion order is sequence order. */
  readonly open = new Map<number, ReservationRecord>();
  /** No open reservation expires before this (may be stale-low, never stale-high). */
  nextDueMs = Infinity;
  readonly tokens = new Map<string, TokenRecord>();
  readonly tokensByHash = new Map<string, TokenRecord>();
  private readonly tokenChildren = new Map<string, TokenRecord[]>();
  headSeq = 0;
  headHash = genesisHash;
  headTsMs = 0;
  /** The `open_low_seq` stored in the database: at or below every open reservation's sequence. */
  storedLowSeq = 0;
  maxBudgetId = 0;

  override addBudget(b: BudgetRecord): void {
    super.addBudget(b);
    this.written.set(b.id, shapeOf(b));
    this.maxBudgetId = Math.max(this.maxBudgetId, b.id);
  }

  /**
   * Whether a changed budget's row needs more than its balances rewritten, and if so records
   * the shape about to be written. The policy is compared by identity: the ledger machine
   * replaces a budget's policy object, never edits it.
   */
  reshaped(b: BudgetRecord): boolean {
    const was = this.written.get(b.id);
    if (
      was &&
      was.parentId === b.parentId &&
      was.path === b.path &&
      was.status === b.status &&
      was.limitMicros === b.limitMicros &&
      was.period === b.period &&
      was.timezone === b.timezone &&
      was.periodStartMs === b.periodStartMs &&
      was.periodEndMs === b.periodEndMs &&
      was.policy === b.policy
    ) {
      return false;
    }
    this.written.set(b.id, shapeOf(b));
    return true;
  }

  addOpen(r: ReservationRecord): void {
    this.open.set(r.seq, r);
    if (r.expiresMs < this.nextDueMs) this.nextDueMs = r.expiresMs;
  }

  /** Open reservations due at `nowMs`, oldest first, at most `max`. */
  due(nowMs: number, max: number): ReservationRecord[] {
    if (nowMs < this.nextDueMs) return [];
    const due: ReservationRecord[] = [];
    let next = Infinity;
    for (const r of this.open.values()) {
      if (r.expiresMs <= nowMs && due.length < max) due.push(r);
      else if (r.expiresMs < next) next = r.expiresMs;
    }
    // When `max` cut the list short, look again on the next batch.
    this.nextDueMs = due.length === max ? nowMs : next;
    return due.sort((a, b) => a.expiresMs - b.expiresMs || a.seq - b.seq);
  }

  /** Lowest sequence of any open reservation (where a reload starts looking). */
  openLowSeq(): number {
    const first = this.open.keys().next();
    return first.done ? this.headSeq + 1 : first.value;
  }

  addToken(t: TokenRecord): void {
    this.tokens.set(t.id, t);
    this.tokensByHash.set(t.hash, t);
    if (t.parentTokenId !== null) {
      const siblings = this.tokenChildren.get(t.parentTokenId) ?? [];
      siblings.push(t);
      this.tokenChildren.set(t.parentTokenId, siblings);
    }
  }

  childTokens(id: string): TokenRecord[] {
    return this.tokenChildren.get(id) ?? [];
  }
}
