/**
 * The handlers of Bursar's own API, bound to their declarations in the contract.
 *
 * @example
 * registerRoutes(scope, '/api', adminApiRoutes, options);
 */
import type { Route } from '../deps.js';
import { alertRoutes } from './alerts.js';
import { budgetRoutes } from './budgets.js';
import { dashboardRoutes } from './dashboard.js';
import { forecastRoutes } from './forecast.js';
import { ledgerRoutes } from './ledger.js';
import { preflightRoutes } from './preflight.js';
import { refusalRoutes } from './refusals.js';
import { reservationRoutes } from './reservations.js';
import { systemRoutes } from './system.js';
import { tokenRoutes } from './tokens.js';
import { usageRoutes } from './usage.js';
import { webhookRoutes } from './webhooks.js';

export { agentApiRoutes } from './agent.js';

/** Every admin API route (and /healthz, /readyz, /metrics), in the order its OpenAPI document lists them. */
export const adminApiRoutes: readonly Route[] = [...budgetRoutes, ...tokenRoutes, ...reservationRoutes, ...ledgerRoutes, ...alertRoutes, ...refusalRoutes, ...usageRoutes, ...preflightRoutes, ...forecastRoutes, ...webhookRoutes, ...dashboardRoutes, ...systemRoutes];
