import { guardLimits, PreflightRequest } from '../../guards/index.js';
import { runPreflight } from '../../ops/preflight.js';
import { route, type Route } from '../deps.js';
import { ApiError } from '../errors.js';
import { PreflightReportJson } from '../guard-schemas.js';

const preflight = route({
  method: 'POST',
  path: '/api/preflight',
  operationId: 'preflight',
  summary: 'Price a plan against the budgets it would spend from, with ✓ / ⚠ / ✗ checks',
  description: `A plan lists calls (budget or token, model, input tokens or text, output cap, count, title). Each is priced as the gateway would reserve it (its worst case) and set against what every budget on its path can still spend; checks cover the queue size, test-like titles, budget and token status, model policy and per-request caps, budget availability, in-flight caps against the planned concurrency, and a total above the confirmation threshold (confirm with confirmed: true). Nothing is reserved. Unknown fields, counts out of range and unpriced models are 400 naming the field; an unknown budget or token is 404. Bodies up to ${guardLimits.planBodyBytesMax} bytes.`,
  tag: 'guards',
  access: 'viewer',
  body: PreflightRequest,
  bodyBytesMax: guardLimits.planBodyBytesMax,
  response: { status: 200, description: 'the report; proceed says whether the plan is cleared', schema: PreflightReportJson },
  handler: async ({ body, deps }) => {
    const report = await runPreflight(deps.store, deps.pricing, body);
    if ('ok' in report) throw new ApiError(report.code, report.message, { field: report.field });
    return report;
  },
});

export const preflightRoutes: Route[] = [preflight];
