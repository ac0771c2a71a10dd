import type { BudgetRecord } from '../core/index.js';

/**
 * Every budget a store process holds, indexed the ways a transaction looks them up: by id, by
 * path, by parent, and the model budgets under a budget. Each store's cache extends it with
 * what it keeps besides (the SQLite writer's open reservations and tokens, PostgreSQL's head).
 * The ledger machine mutates the records in place, so a move is re-indexed with
 * `reindexBudget`.
 */
export class BudgetIndex {
  readonly budgets = new Map<number, BudgetRecord>();
  readonly byPath = new Map<string, BudgetRecord>();
  private readonly children = new Map<number, Set<BudgetRecord>>();
  private readonly indexed = new Map<number, { path: string; parentId: number | null }>();
  /** Model budgets by the budget they sit under: a reservation looks its chain up here. */
  private readonly modelBudgets = new Map<number, BudgetRecord[]>();

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

/** The budget reads of a transaction over its store's cache, which both stores' transactions share. */
export abstract class BudgetIndexReads<C extends BudgetIndex> {
  constructor(protected readonly cache: C) {}

  budgetById(id: number): BudgetRecord | undefined {
    return this.cache.budgets.get(id);
  }

  budgetByPath(path: string): BudgetRecord | undefined {
    return this.cache.byPath.get(path);
  }

  childrenOf(id: number): BudgetRecord[] {
    return this.cache.childrenOf(id);
  }

  modelBudgetsUnder(id: number): readonly BudgetRecord[] | undefined {
    return this.cache.modelBudgetsUnder(id);
  }
}
