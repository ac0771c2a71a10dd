import type { Store } from '../../store/index.js';
import { route, type Route } from '../deps.js';
import { adminRoutes, contractLimits, WireError, wireErrorOf } from '../../contract/index.js';
import { BudgetIndex, recentSessions, reservationReport, summarizeSession, unknownBudget, usageReport } from '../../ops/index.js';
import { ledgerAnswer, wantsCsv } from './ledger.js';


async function checkBudget(store: Store, path: string | undefined): Promise<void> {
  if (path !== undefined && !(await store.getBudget(path))) throw wireErrorOf(unknownBudget(path, 'budget'));
}

const usage = route(adminRoutes.usage, async ({ query, deps }) => {
  await checkBudget(deps.store, query.budget);
  const index = await BudgetIndex.load(deps.store);
  const range = { groupBy: query.group_by, sinceMs: query.since, untilMs: query.until, budget: query.budget, timezone: query.timezone ?? 'UTC' };
  const report = await usageReport(deps.store, index, range);
  return query.metrics === 'reservations' ? { ...report, reservations: await reservationReport(deps.store, index, range) } : report;
});

const listSessions = route(adminRoutes.listSessions, async ({ query, deps }) => {
  await checkBudget(deps.store, query.budget);
  const index = await BudgetIndex.load(deps.store);
  return recentSessions(deps.store, index, { last: query.last ?? contractLimits.sessionsListDefault, sinceMs: query.since, budget: query.budget });
});

const getSession = route(adminRoutes.getSession, async ({ params, query, deps, request, reply }) => {
  const index = await BudgetIndex.load(deps.store);
  const summary = await summarizeSession(deps.store, index, params.id);
  if (!summary) throw new WireError('not_found', `no ledger entries for session ${params.id}`, { field: 'id' });
  const filters = { session: params.id, cursor: query.cursor, limit: query.limit, order: query.order };
  const safeName = params.id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  const answer = await ledgerAnswer(deps.store, filters, { csv: wantsCsv(query.format, request), reply, filename: `bursar-session-${safeName}.csv` });
  return typeof answer === 'symbol' ? answer : { session: summary, ...answer };
});

export const usageRoutes: Route[] = [usage, listSessions, getSession];
