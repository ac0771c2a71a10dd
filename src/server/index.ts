/**
 * Bursar's server, composed in one place: the gateway, the admin API and the agent routes on
 * one port over one store.
 *
 * @example
 * import { startServer } from '../server/index.js';
 * const server = await startServer({ port: 0, db: './bursar.db' });
 */
export { chooseUpstream, startServer, stderrJsonLog, upstreamChoices, wantsMock, ServeConfigError, type PluginContext, type RunningServer, type ServeOptions, type UpstreamChoice, type UpstreamDecision } from './serve.js';
export { serverLimits } from './limits.js';
export { gatewayModes } from '../gateway/modes.js';
export { AdminKeyError } from '../api/auth.js';
