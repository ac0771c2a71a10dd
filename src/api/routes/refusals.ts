import { adminRoutes, ok, refusalToJson } from '../../contract/index.js';
import { refusalsPage } from '../../ops/index.js';
import { route, type Route } from '../deps.js';

/** `GET /api/refusals`: refused spend, paged by row; what this server refused up to now included. */
const listRefusals = route(adminRoutes.listRefusals, async ({ query, deps }) => {
  await deps.refusals.flush();
  const page = ok(await refusalsPage(deps.store, { agent: query.agent, budget: query.budget, code: query.code, sinceMs: query.since, untilMs: query.until, cursor: query.cursor, limit: query.limit, order: query.order }));
  return { refusals: page.refusals.map(refusalToJson), next_cursor: page.nextCursor };
});

export const refusalRoutes: Route[] = [listRefusals];
