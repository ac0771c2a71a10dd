import { limits, type BudgetView } from '../core/index.js';
import type { Store } from '../store/index.js';

/**
 * Budgets by id, read once per request: ledger entries carry a budget id, and the API shows
 * each entry with its budget's current path and (for usage) the agent above it.
 *
 * @example
 * const index = await BudgetIndex.load(store);
 * index.pathOf(entry.budgetId) // 'acme/research/bot/tok_…'
 */
export class BudgetIndex {
  private readonly byId: Map<number, BudgetView>;
  private readonly agents = new Map<number, string | null>();

  constructor(budgets: readonly BudgetView[]) {
    this.byId = new Map(budgets.map((b) => [b.id, b]));
  }

  static async load(store: Pick<Store, 'listBudgets'>): Promise<BudgetIndex> {
    return new BudgetIndex(await store.listBudgets());
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** The budget's current path, or `#<id>` for one this index has not seen. */
  pathOf(id: number): string {
    return this.byId.get(id)?.path ?? `#${id}`;
  }

  /** The budget's kind, or undefined for one this index has not seen. */
  kindOf(id: number): BudgetView['kind'] | undefined {
    return this.byId.get(id)?.kind;
  }

  /** Path of the nearest budget of kind `agent` at or above this one, or null (a loop bounded by depth). */
  agentOf(id: number): string | null {
    const known = this.agents.get(id);
    if (known !== undefined) return known;
    let b = this.byId.get(id);
    let agent: string | null = null;
    for (let depth = 0; b && depth <= limits.pathDepthMax; depth += 1) {
      if (b.kind === 'agent') {
        agent = b.path;
        break;
      }
      b = b.parentId === null ? undefined : this.byId.get(b.parentId);
    }
    this.agents.set(id, agent);
    return agent;
  }

  /** Every budget, sorted by path. */
  all(): BudgetView[] {
    return [...this.byId.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}
