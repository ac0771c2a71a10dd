import type { z } from 'zod';
import type { RouteSpec } from '../contract/index.js';
import { assert, type RandomBytes } from '../core/index.js';
import type { Caller, RefusalRecorder } from '../ops/index.js';
import type { PriceCatalog, ToolPrices } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import type { EventHub } from './events.js';
import type { Metrics } from './metrics.js';
import { bind, type ApiCall, type BoundRoute, type Sent } from './registry.js';

/** What the admin API's handlers work with. */
export interface ApiDeps {
  store: Store;
  metrics: Metrics;
  hub: EventHub;
  /** Random source for token secrets. */
  random: RandomBytes;
  /** The price catalog the gateway reserves with (pre-flight prices plans with it). */
  pricing: PriceCatalog;
  /** Where refused spend is recorded (and flushed before the refusals are read). */
  refusals: RefusalRecorder;
  /** The OpenAPI document (built once, on first request). */
  openapi(): Record<string, unknown>;
}

/** What the agent routes' handlers work with. */
export interface AgentDeps {
  store: Store;
  /** Random source for token secrets. */
  random: RandomBytes;
  /** The clock token expiry is judged by. */
  now(): number;
  /** The tool price table reservations are estimated with. */
  toolPrices: ToolPrices;
  /** Where refused spend is recorded. */
  refusals: RefusalRecorder;
  /** The OpenAPI document of the agent routes (built once, on first request). */
  openapi(): Record<string, unknown>;
}

export type Route = BoundRoute<ApiDeps>;
export type AgentRoute = BoundRoute<AgentDeps>;

type Handler<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType, R extends z.ZodType, D, X = unknown> = (call: ApiCall<z.output<P>, z.output<Q>, z.output<B>, z.output<H>, D> & X) => Promise<z.input<R> | Sent>;

/**
 * Binds an admin API handler to its declaration.
 *
 * @example
 * const listBudgets = route(adminRoutes.listBudgets, async ({ query, deps }) => ({ budgets: … }));
 */
export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType, R extends z.ZodType>(spec: RouteSpec<P, Q, B, H, R>, handler: Handler<P, Q, B, H, R, ApiDeps>): Route {
  return bind(spec, handler);
}

/**
 * Binds a handler of an agent route that takes a spend token to its declaration: the handler
 * gets the calling token as `caller`. (Public agent routes bind with `bind`.)
 *
 * @example
 * const balance = agentRoute(agentRoutes.balance, async ({ caller, deps }) => balanceToJson(caller.token, …));
 */
export function agentRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType, R extends z.ZodType>(spec: RouteSpec<P, Q, B, H, R>, handler: Handler<P, Q, B, H, R, AgentDeps, { caller: Caller }>): AgentRoute {
  return bind(spec, (call: ApiCall<z.output<P>, z.output<Q>, z.output<B>, z.output<H>, AgentDeps>) => {
    const { caller } = call;
    assert(caller !== undefined, `route ${spec.operationId} ran without a calling token`);
    return handler({ ...call, caller });
  });
}

/**
 * Binds a handler of a public agent route (no token) to its declaration.
 *
 * @example
 * const tools = publicAgentRoute(agentRoutes.toolPrices, async ({ deps }) => toolPricesToJson(deps.toolPrices));
 */
export function publicAgentRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType, R extends z.ZodType>(spec: RouteSpec<P, Q, B, H, R>, handler: Handler<P, Q, B, H, R, AgentDeps>): AgentRoute {
  return bind(spec, handler);
}
