import { z } from 'zod';
import { guardLimits } from '../../guards/index.js';
import { forecastReport } from '../../ops/forecast.js';
import { route, type Route } from '../deps.js';
import { ApiError } from '../errors.js';
import { ForecastReportJson } from '../guard-schemas.js';
import { budgetPath } from '../schemas.js';

const ForecastQuery = z.strictObject({ budget: budgetPath.optional().describe('only this budget and everything under it') });

const forecast = route({
  method: 'GET',
  path: '/api/forecast',
  operationId: 'forecast',
  summary: 'Burn rate per budget over the last 5 minutes, hour and day, and when each runs out at that rate',
  description: `Spend is what settlements, late charges and charged expiries add, less refunds, on each budget and everything under it. Each window's rate is its net spend over the whole window; runs_out_at is when what the budget has left (counting reservations as spent) would be gone at that rate, or the outlook says why not (not_this_period: the period resets first). Reads at most ${guardLimits.forecastScanEntriesMax} entries of the last 24 hours, newest first; past that truncated is true and the windows that start before complete_since are rated over the part read. Spend tokens' envelopes are listed when they spent in the last 24 hours.`,
  tag: 'guards',
  access: 'viewer',
  query: ForecastQuery,
  response: { status: 200, description: 'the forecast, soonest to run out first', schema: ForecastReportJson },
  handler: async ({ query, deps }) => {
    if (query.budget !== undefined && !(await deps.store.getBudget(query.budget))) throw new ApiError('unknown_budget', `no budget at ${query.budget}`, { field: 'budget' });
    return forecastReport(deps.store, { budget: query.budget });
  },
});

export const forecastRoutes: Route[] = [forecast];
