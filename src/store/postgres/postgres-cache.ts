import { genesisHash, type BudgetRecord } from '../../core/index.js';

/** The ledger head as the last transaction left it. */
export interface PgHead {
  seq: number;
  hash: string;
  tsMs: number;
  /** Bumped by every committed write batch; budgets carry the version that last wrote them. */
  version: number;
  budgetIdMax: number;
}

/**
 * One process's copy of every budget, kept current under the head lock: each batch loads only
 * the budgets written since `version`. The ledger machine mutates these records in place, so
 * the cache is thrown away whenever a batch does not commit.
 */
export class PgCache {
  readonly budgets = new Map<number, BudgetRecord>();
  readonly byPath = new Map<string, BudgetRecord>();
  private readonly children = new Map<number, Set<BudgetRecord>>();
  private readonly indexed = new Map<number, { path: string; parentId: number | null }>();
  /** Model budgets by the budget they sit under: a reservation looks its chain up here. */
  private readonly modelBudgets = new Map<number, BudgetRecord[]>();
  head: PgHead = { seq: 0, hash: genesisHash, tsMs: 0, version: -1, budgetIdMax: 0 };

  /** Adds a budget, or brings a cached one up to date with a fresher row. */
  upsertBudget(fresh: BudgetRecord): void {
    const cached = this.budgets.get(fresh.id);
    if (!cached) {
      this.addBudget(fresh);
      return;
    }
    Object.assign(cached, fresh);
    this.reindexBudget(cached);
  }

  addBudget(b: BudgetRecord): void {
    this.budgets.set(b.id, b);
    this.byPath.set(b.path, b);
    this.childSet(b.parentId).add(b);
    this.indexed.set(b.id, { path: b.path, parentId: b.parentId });
    if (b.kind === 'model' && b.parentId !== null) {
      const siblings = this.modelBudgets.get(b.parentId) ?? [];
      siblings.push(b);
      this.modelBudgets.set(b.parentId, siblings);
    }
    if (b.id > this.head.budgetIdMax) this.head.budgetIdMax = b.id;
  }

  /** Re-indexes a budget whose path or parent changed (a move). */
  reindexBudget(b: BudgetRecord): void {
    const was = this.indexed.get(b.id);
    if (!was || (was.path === b.path && was.parentId === b.parentId)) return;
    if (this.byPath.get(was.path) === b) this.byPath.delete(was.path);
    this.byPath.set(b.path, b);
    if (was.parentId !== b.parentId) {
      this.childSet(was.parentId).delete(b);
      this.childSet(b.parentId).add(b);
    }
    this.indexed.set(b.id, { path: b.path, parentId: b.parentId });
  }

  childrenOf(id: number): BudgetRecord[] {
    return [...(this.children.get(id) ?? [])];
  }

  /** The model budgets directly under a budget (they never move), or undefined. */
  modelBudgetsUnder(id: number): readonly BudgetRecord[] | undefined {
    return this.modelBudgets.get(id);
  }

  private childSet(parentId: number | null): Set<BudgetRecord> {
    const key = parentId ?? 0;
    let set = this.children.get(key);
    if (!set) {
      set = new Set();
      this.children.set(key, set);
    }
    return set;
  }
}
