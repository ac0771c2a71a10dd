import { adminRoutes, wireErrorOf } from '../../contract/index.js';
import { runPreflight } from '../../ops/index.js';
import { route, type Route } from '../deps.js';

const preflight = route(adminRoutes.preflight, async ({ body, deps }) => {
  const report = await runPreflight(deps.store, deps.pricing, body);
  if ('ok' in report) throw wireErrorOf(report);
  return report;
});

export const preflightRoutes: Route[] = [preflight];
