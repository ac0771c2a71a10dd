import { genesisHash, type BudgetRecord } from '../../core/index.js';
import { BudgetIndex } from '../budget-index.js';

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
export class PgCache extends BudgetIndex {
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

  override addBudget(b: BudgetRecord): void {
    super.addBudget(b);
    if (b.id > this.head.budgetIdMax) this.head.budgetIdMax = b.id;
  }
}
