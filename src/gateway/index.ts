/**
 * The gateway: OpenAI- and Anthropic-compatible routes that reserve a call's worst case on the
 * whole budget chain before forwarding it, and settle what the provider reports.
 *
 * @example
 * import { buildServer, Upstream } from '../gateway/index.js';
 * const app = await buildServer({ store, pricing, upstream: new Upstream(config), mode: 'enforce', now: () => store.now(), random });
 */
export { buildServer, buildBehind, type BuildOptions, type ConnectionBounds } from './server.js';
export { edgeChecks, frontServer, lazy, providerRoutes, type Front, type Lazy } from './front.js';
export { gatewayModes } from './modes.js';
export { corsOriginProblem, type AuthFailureLimit } from './edge.js';
export { Upstream, type UpstreamConfig } from './upstream.js';
export { gatewayLimits } from './limits.js';
export { createGateway, reservationTtlMs, type CallOutcome, type Gateway, type GatewayMode, type GatewayNotice } from './proxy.js';
export type { DeferredEvent, DeferredOutcome, Resolution } from './settlements.js';
export type { Provider } from './errors.js';
