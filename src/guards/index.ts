/**
 * Guards that look ahead and report: pre-flight (a plan priced against its budgets, with
 * ✓ / ⚠ / ✗ checks), forecast (burn rates and run-out times) and reservation metrics
 * (reserve-to-settle ratio and estimate accuracy). Pure: they read what the caller fetched.
 *
 * @example
 * import { parsePlan, preflight, preflightOptions } from '../guards/index.js';
 */
export * from './burn-headroom.js';
export * from './estimate.js';
export * from './forecast.js';
export * from './limits.js';
export * from './plan.js';
export * from './preflight.js';
export * from './reservation-metrics.js';
