import { adminRoutes, wireErrorOf } from '../../contract/index.js';
import { forecastReport, unknownBudget } from '../../ops/index.js';
import { route, type Route } from '../deps.js';

const forecast = route(adminRoutes.forecast, async ({ query, deps }) => {
  if (query.budget !== undefined && !(await deps.store.getBudget(query.budget))) throw wireErrorOf(unknownBudget(query.budget, 'budget'));
  return forecastReport(deps.store, { budget: query.budget });
});

export const forecastRoutes: Route[] = [forecast];
