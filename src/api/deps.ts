import type { RandomBytes } from '../core/index.js';
import type { PriceCatalog } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import type { EventHub } from './events.js';
import type { Metrics } from './metrics.js';
import { route as declare, type ApiRoute, type RouteDef } from './registry.js';
import type { z } from 'zod';

/** What the admin API's handlers work with. */
export interface ApiDeps {
  store: Store;
  metrics: Metrics;
  hub: EventHub;
  /** Random source for token secrets. */
  random: RandomBytes;
  /** The price catalog the gateway reserves with (pre-flight prices plans with it). */
  pricing: PriceCatalog;
  /** The OpenAPI document (built once, on first request). */
  openapi(): Record<string, unknown>;
}

export type Route = ApiRoute<ApiDeps>;

/**
 * Declares an admin API route (the registry's `route` bound to `ApiDeps`).
 *
 * @example
 * export const listBudgets = route({ method: 'GET', path: '/api/budgets', … });
 */
export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType, R extends z.ZodType>(def: RouteDef<P, Q, B, H, R, ApiDeps>): Route {
  return declare(def);
}
