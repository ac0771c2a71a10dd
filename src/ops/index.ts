/**
 * Bursar's operations over a `Store`: the use cases every door (admin API, agent routes, SDK
 * local mode, CLI local backend) calls, returning results with stable codes. Who may reach
 * what, narrowing, expiry, the delegate scope and the tightest level of a chain are decided
 * here once; the doors only translate their inputs and answers.
 *
 * @example
 * import { authenticateToken, delegate } from '../ops/index.js';
 * const caller = await authenticateToken(store, secret, store.now());
 */
export * from './alerts.js';
export * from './budget-index.js';
export * from './budgets.js';
export * from './chain.js';
export * from './crosscut.js';
export * from './fingerprint.js';
export * from './forecast.js';
export * from './ledger.js';
export * from './limits.js';
export * from './models.js';
export * from './preflight.js';
export * from './reports.js';
export * from './reservation-report.js';
export * from './reservations.js';
export * from './tokens.js';
export * from './limits.js';
export * from './refusals.js';
export * from './webhook-delivery.js';
export * from './webhooks.js';
