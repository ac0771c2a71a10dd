import { adminRoutes, alertToJson, ok } from '../../contract/index.js';
import { alertsPage } from '../../ops/index.js';
import { route, type Route } from '../deps.js';

/** `GET /api/alerts`: threshold alerts from the ledger, paged like it. */
const listAlerts = route(adminRoutes.listAlerts, async ({ query, deps }) => {
  const page = ok(await alertsPage(deps.store, { budget: query.budget, basis: query.basis, sinceMs: query.since, untilMs: query.until, cursor: query.cursor, limit: query.limit, order: query.order }));
  return { alerts: page.alerts.map(alertToJson), next_cursor: page.nextCursor };
});

export const alertRoutes: Route[] = [listAlerts];
