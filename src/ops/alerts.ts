import { alertOf, type AlertBasis, type AlertView } from '../core/index.js';
import type { Store } from '../store/index.js';
import { unknownBudget } from './budgets.js';
import { BudgetIndex } from './budget-index.js';
import { ledgerPage } from './ledger.js';
import type { Failure } from '../contract/index.js';

/** An alert with its budget's current path. */
export interface PathedAlert extends AlertView {
  budget: string;
}

export interface AlertsQuery {
  /** Only this budget and everything under it. */
  budget?: string;
  basis?: AlertBasis;
  sinceMs?: number;
  untilMs?: number;
  cursor?: string;
  limit?: number;
  order?: 'asc' | 'desc';
}

/**
 * One page of threshold alerts, read from the ledger's `alert` entries. A basis filter is
 * applied to the page read, so a page may hold fewer alerts than `limit`; follow `nextCursor`.
 *
 * @example
 * const page = await alertsPage(store, { budget: 'acme', sinceMs: Date.now() - 86_400_000 });
 * if (page.ok) page.alerts[0]?.thresholdPct // 50
 */
export async function alertsPage(store: Pick<Store, 'ledger' | 'listBudgets' | 'getBudget'>, q: AlertsQuery, index?: BudgetIndex): Promise<{ ok: true; alerts: PathedAlert[]; nextCursor: string | null; index: BudgetIndex } | Failure> {
  if (q.budget !== undefined && !(await store.getBudget(q.budget))) return unknownBudget(q.budget, 'budget');
  const page = await ledgerPage(store, { kinds: ['alert'], budget: q.budget, sinceMs: q.sinceMs, untilMs: q.untilMs, cursor: q.cursor, limit: q.limit, order: q.order }, index);
  const alerts: PathedAlert[] = [];
  for (const e of page.entries) {
    const alert = alertOf(e);
    if (alert && (q.basis === undefined || alert.basis === q.basis)) alerts.push({ ...alert, budget: e.budget });
  }
  return { ok: true, alerts, nextCursor: page.nextCursor, index: page.index };
}
