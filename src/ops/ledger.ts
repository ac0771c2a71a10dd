import type { LedgerEntry } from '../core/index.js';
import type { LedgerQuery, Store } from '../store/index.js';
import { BudgetIndex } from './budget-index.js';

/** A ledger entry with the current path of its budget (a budget moved later shows its new path). */
export interface PathedEntry extends LedgerEntry {
  budget: string;
}

export interface PathedPage {
  entries: PathedEntry[];
  /** Pass back as `cursor` for the next page; null after the last one. */
  nextCursor: string | null;
}

/**
 * One page of the ledger, each entry with its budget's current path. `index` is reused while it
 * knows every budget on the page, and reloaded when it does not.
 *
 * @example
 * const page = await ledgerPage(store, { budget: 'acme', limit: 100 });
 * page.entries[0]?.budget // 'acme/research/bot'
 */
export async function ledgerPage(store: Pick<Store, 'ledger' | 'listBudgets'>, query: LedgerQuery, index?: BudgetIndex): Promise<PathedPage & { index: BudgetIndex }> {
  const page = await store.ledger(query);
  let known = index;
  if (!known || page.entries.some((e) => !known?.has(e.budgetId))) known = await BudgetIndex.load(store);
  const paths = known;
  return { entries: page.entries.map((e) => ({ ...e, budget: paths.pathOf(e.budgetId) })), nextCursor: page.nextCursor, index: paths };
}
