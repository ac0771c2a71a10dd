import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
// The parts a server needs from its start come from their modules, not their packages' indexes:
// the framework, the admin API's routes, MCP and the dashboard are loaded on first use (`adminFor`).
import type { ApiKeys } from '../api/index.js';
import { adminKeysFromEnv } from '../api/auth.js';
import { Metrics } from '../api/metrics.js';
import { gaugeEventStreams, probeRoutes } from '../api/probes.js';
import { pooledRandom, type RandomBytes } from '../core/index.js';
import { RefusalRecorder } from '../ops/refusals.js';
import { corsOriginProblem, type AuthFailureLimit } from '../gateway/edge.js';
import { edgeChecks, frontServer, lazy, providerRoutes, type BuildOptions, type ConnectionBounds, type FrontParts, type Handler, type Lazy } from '../gateway/front.js';
import { gatewayLimits } from '../gateway/limits.js';
import { gatewayModes } from '../gateway/modes.js';
import { createGateway, type CallOutcome, type Gateway, type GatewayMode } from '../gateway/proxy.js';
import { Upstream, type UpstreamConfig } from '../gateway/upstream.js';
import type { MockUpstream } from '../mock-upstream/index.js';
import { bundledCatalog, type PriceCatalog } from '../pricing/catalog.js';
import type { ToolPrices } from '../pricing/tools.js';
import { WebhookDeliverer } from '../ops/webhook-delivery.js';
import { openStore, type Store } from '../store/index.js';
import { metricIntervalMsFrom, startTelemetry, type ModelCallRecord, type Telemetry } from '../telemetry/index.js';
import { serverLimits } from './limits.js';

/**
 * Where Bursar's server is put together, and only here: the store, prices, the upstream (or the
 * mock), the gateway's provider routes, the admin API and the agent routes, metrics, the
 * sweeper that expires overdue reservations, and the deliverer that sends webhook events.
 */

export interface ServeOptions {
  port?: number;
  /** Interface to listen on; default 127.0.0.1 (use 0.0.0.0 to serve other hosts). */
  host?: string;
  /** SQLite file or postgres:// URL; default ./bursar.db. */
  db?: string;
  mode?: GatewayMode;
  /** A price override file merged over the bundled catalog. */
  pricingPath?: string;
  /** Tool prices for agent reservations (`loadToolPrices`); default the bundled table. */
  toolPrices?: ToolPrices;
  /** Answer every call from the built-in mock provider (no provider keys needed); the same as `upstream: 'mock'`. */
  mockUpstream?: boolean;
  /** Where calls go; default `auto` (see `chooseUpstream`). */
  upstream?: UpstreamChoice;
  /** With `auto`, only a base URL selects the providers; an exported key alone does not (the quick start). */
  autoNeedsBaseUrl?: boolean;
  upstreamTimeoutMs?: number;
  synchronous?: 'normal' | 'full';
  /** Environment to read provider keys and base URLs from (default process.env). */
  env?: Record<string, string | undefined>;
  /** An already opened store (tests, the demo); closed with the server. */
  store?: Store;
  /** The dashboard's build folder, served at `/` (default dist/web of this package); false serves none. */
  dashboard?: string | false;
  /** Extra routes, given the gateway they serve. */
  plugins?: ((app: FastifyInstance, context: PluginContext) => Promise<void>)[];
  onCall?: (outcome: CallOutcome) => void;
  /** Admin API keys; default from BURSAR_ADMIN_KEY / BURSAR_VIEWER_KEY, or one generated for this run. */
  adminKeys?: ApiKeys;
  random?: RandomBytes;
  now?: () => number;
  /** How long `close()` lets calls in flight finish before it cuts them (each cut call settles what was generated). */
  drainMs?: number;
  /** Where operational events go (deferred settlements, implausible usage); default one JSON line each on stderr. */
  log?: (event: Record<string, unknown>) => void;
  /** Origins browsers may call the server from (`*` for any); default none: CORS stays off. */
  corsOrigins?: string[];
  /** Client connection bounds over `serverLimits`' (header and request timeouts, keep-alive). */
  connections?: Partial<ConnectionBounds>;
  /** The failed-authentication limit per source address over `serverLimits`'. */
  authFailureLimit?: Partial<AuthFailureLimit>;
  /** How often the webhook deliverer looks for due deliveries (default `opsLimits.webhookPollMsDefault`). */
  webhookPollMs?: number;
  /**
   * An OTLP/HTTP endpoint (a collector's base URL, e.g. http://127.0.0.1:4318): a span per
   * proxied call and metrics for spend and refusals go there. None (the default) loads nothing.
   */
  otelEndpoint?: string;
}

/** What plugins get: the same store, catalog and gateway the proxy uses, and where refusals are recorded. */
export interface PluginContext {
  store: Store;
  pricing: PriceCatalog;
  gateway: Gateway;
  refusals: RefusalRecorder;
}

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  gateway: Gateway;
  /** The HTTP server listening. */
  server: Server;
  /**
   * The framework serving everything but plain provider calls and the probes (the admin API,
   * the agent routes, MCP, the dashboard), built now if no request has needed it yet.
   */
  app(): Promise<FastifyInstance>;
  /** Whether the framework (and the admin API with it) has been built: not until a request needs it. */
  readonly adminLoaded: boolean;
  /** The mock provider, when the server answers from it. */
  mock: MockUpstream | undefined;
  /** Why calls go where they go (the URLs are in `gateway.upstream`). */
  upstreamReason: string;
  metrics: Metrics;
  /** Where every door records refused spend; `flush()` writes what it holds now. */
  refusals: RefusalRecorder;
  /** Sends the webhook outbox's deliveries (stopped with the server). */
  deliverer: WebhookDeliverer;
  /** The admin key generated for this run when none was configured (print it once). */
  generatedAdminKey: string | undefined;
  /** Where spans and metrics go, when an OTLP endpoint was given. */
  telemetry: Telemetry | undefined;
  /**
   * Stops gracefully: refuses new calls, lets those in flight finish for up to `drainMs` (the
   * option's, else `ServeOptions.drainMs`), cuts the rest (each settles what was generated),
   * writes what settlements it still can, and closes the store.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/**
 * The server's default log: one JSON object per line on stderr, with the time.
 *
 * @example
 * stderrJsonLog({ level: 'warn', event: 'settlement_deferred' })
 */
export function stderrJsonLog(event: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

/** A gateway call as a span and metrics see it. */
function callRecord(outcome: CallOutcome, nowMs: number): ModelCallRecord {
  const { route, status, code, provider, model, costMicros, tokensIn, tokensOut, budget, reservationId, session, task } = outcome;
  const endedMs = outcome.endedMs ?? nowMs;
  return { route, status, code, provider, model, costMicros, tokensIn, tokensOut, budget, reservationId, session, task, operation: route.includes('embeddings') ? 'embeddings' : 'chat', refused: reservationId === undefined && code !== 'ok', startedMs: outcome.startedMs ?? endedMs, endedMs };
}

/** Thrown for configuration a person must fix (bad mode, unreadable price file). */
export class ServeConfigError extends Error {
  override name = 'ServeConfigError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The bundled prices, or those with a price override file merged over them (its schemas load only then). */
async function loadCatalog(path: string | undefined): Promise<PriceCatalog> {
  if (path === undefined) return bundledCatalog();
  const { loadPricing } = await import('../pricing/overrides.js');
  const loaded = loadPricing({ overridePath: path });
  if (!loaded.ok) throw new ServeConfigError(loaded.code, `${path}: ${loaded.message}`);
  return loaded.catalog;
}

/** A failure to listen that a person can fix, as a `ServeConfigError`; anything else unchanged. */
function listenError(error: unknown, host: string, port: number): unknown {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') return new ServeConfigError('port_in_use', `${where} is already in use by another program`);
  if (code === 'EACCES') return new ServeConfigError('port_not_permitted', `this user may not listen on ${where} (ports below 1024 need privileges)`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new ServeConfigError('invalid_host', `cannot listen on ${host}: it is not an address of this machine`);
  return error;
}

export const upstreamChoices = ['auto', 'mock', 'real'] as const;
/** `mock`: the built-in provider, offline. `real`: the providers (or the base URLs set). `auto`: see `chooseUpstream`. */
export type UpstreamChoice = (typeof upstreamChoices)[number];

/** Whether calls go to the built-in mock provider, and why, in words for the banner. */
export interface UpstreamDecision {
  mock: boolean;
  reason: string;
}

/** The mode, once the options a person may get wrong (the mode, the CORS origins) are checked. */
function checkedMode(options: ServeOptions): GatewayMode {
  const mode = options.mode ?? 'enforce';
  if (!(gatewayModes as readonly string[]).includes(mode)) throw new ServeConfigError('invalid_mode', `mode must be one of ${gatewayModes.join(', ')}`);
  const corsProblem = corsOriginProblem(options.corsOrigins ?? []);
  if (corsProblem !== undefined) throw new ServeConfigError('invalid_cors_origin', `CORS origin: ${corsProblem}`);
  return mode;
}

/** The connection bounds, the failed-authentication limit and CORS: `serverLimits` unless the options say otherwise. */
function edgeOptions(options: ServeOptions, now: () => number): BuildOptions {
  const s = serverLimits;
  const connections: ConnectionBounds = {
    headersTimeoutMs: s.headersTimeoutMs,
    requestTimeoutMs: s.requestTimeoutMs,
    connectionsCheckingIntervalMs: s.connectionsCheckingIntervalMs,
    keepAliveTimeoutMs: s.keepAliveTimeoutMs,
    headerBytesMax: s.headerBytesMax,
    ...options.connections,
  };
  const limit: AuthFailureLimit = { failuresMax: s.authFailuresMax, windowMs: s.authFailureWindowMs, addressesMax: s.authFailureAddressesMax, ...options.authFailureLimit };
  return { connections, authFailures: { limit, now }, corsOrigins: options.corsOrigins ?? [] };
}

const keyVars = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'] as const;
const baseUrlVars = ['BURSAR_OPENAI_BASE_URL', 'BURSAR_ANTHROPIC_BASE_URL'] as const;

function setVars(env: Record<string, string | undefined>, names: readonly string[]): string {
  const set = names.filter((name) => (env[name] ?? '') !== '');
  return set.join(' and ');
}

/**
 * Where calls go. Asked for (`upstream: 'mock' | 'real'`, or `mockUpstream`): there. `auto`:
 * the providers when a base URL is set, or a provider key (unless `autoNeedsBaseUrl`, the quick
 * start's rule: a key exported for other tools must not take an offline tour online); else
 * the mock.
 *
 * @example
 * chooseUpstream({ autoNeedsBaseUrl: true }, { OPENAI_API_KEY: 'sk-…' }).mock // true
 */
export function chooseUpstream(options: Pick<ServeOptions, 'mockUpstream' | 'upstream' | 'autoNeedsBaseUrl'>, env: Record<string, string | undefined>): UpstreamDecision {
  if (options.mockUpstream === true || options.upstream === 'mock') return { mock: true, reason: 'asked for' };
  if (options.upstream === 'real') return { mock: false, reason: 'asked for' };
  const baseUrls = setVars(env, baseUrlVars);
  if (baseUrls !== '') return { mock: false, reason: `${baseUrls} set` };
  const keys = setVars(env, keyVars);
  if (keys === '') return { mock: true, reason: 'no provider key or base URL is set' };
  if (options.autoNeedsBaseUrl === true) return { mock: true, reason: `the quick start stays offline although ${keys} ${keys.includes(' and ') ? 'are' : 'is'} set; --upstream real calls the providers` };
  return { mock: false, reason: `${keys} set` };
}

/** True when the server answers from the mock provider (see `chooseUpstream`). */
export function wantsMock(options: ServeOptions, env: Record<string, string | undefined>): boolean {
  return chooseUpstream(options, env).mock;
}

/** A provider base URL from the environment, checked before anything starts. */
function baseUrlFrom(env: Record<string, string | undefined>, name: string, fallback: string): string {
  const value = env[name] || fallback;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ServeConfigError('invalid_base_url', `${name} must be an http(s) URL, like ${fallback}; got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ServeConfigError('invalid_base_url', `${name} must be an http(s) URL, like ${fallback}`);
  return value;
}

/** The upstream configuration, validated before the store is opened; the mock's URLs come later. */
function planUpstream(options: ServeOptions, env: Record<string, string | undefined>): { decision: UpstreamDecision; config: UpstreamConfig } {
  const timeoutMs = options.upstreamTimeoutMs ?? (env.BURSAR_UPSTREAM_TIMEOUT_MS ? Number(env.BURSAR_UPSTREAM_TIMEOUT_MS) : gatewayLimits.upstreamTimeoutMsDefault);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 3_600_000) throw new ServeConfigError('invalid_timeout', 'the upstream timeout must be a whole number of milliseconds from 100 to 3600000');
  const decision = chooseUpstream(options, env);
  if (decision.mock) return { decision, config: { openaiBaseUrl: '', anthropicBaseUrl: '', openaiApiKey: 'mock-openai-key', anthropicApiKey: 'mock-anthropic-key', timeoutMs, passHeaderPrefixes: ['x-mock-'] } };
  const config: UpstreamConfig = {
    openaiBaseUrl: baseUrlFrom(env, 'BURSAR_OPENAI_BASE_URL', 'https://api.openai.com/v1'),
    anthropicBaseUrl: baseUrlFrom(env, 'BURSAR_ANTHROPIC_BASE_URL', 'https://api.anthropic.com'),
    openaiApiKey: env.OPENAI_API_KEY || undefined,
    anthropicApiKey: env.ANTHROPIC_API_KEY || undefined,
    timeoutMs,
  };
  return { decision, config };
}

async function upstreamFor(plan: { decision: UpstreamDecision; config: UpstreamConfig }): Promise<{ upstream: Upstream; mock: MockUpstream | undefined }> {
  if (!plan.decision.mock) return { upstream: new Upstream(plan.config), mock: undefined };
  // Loaded only by a server that answers from it: a server in front of the providers never needs it.
  const { startMockUpstream } = await import('../mock-upstream/index.js');
  const mock = await startMockUpstream({ port: 0 });
  return { upstream: new Upstream({ ...plan.config, openaiBaseUrl: `${mock.url}/v1`, anthropicBaseUrl: mock.url }), mock };
}

/**
 * The webhook deliverer of a server: it sends what the outbox holds, in every process (each
 * delivery is leased to one at a time), and counts its attempts in the metrics.
 */
function startDeliverer(o: { store: Store; metrics: Metrics; random: RandomBytes; now?: () => number; pollMs?: number; log: (event: Record<string, unknown>) => void }): WebhookDeliverer {
  const deliverer = new WebhookDeliverer({ store: o.store, random: o.random, now: o.now, pollMs: o.pollMs, log: o.log, onAttempt: (outcome) => o.metrics.observeWebhookAttempt(outcome) });
  o.metrics.gauge('bursar_webhook_deliveries_pending', 'Webhook deliveries waiting in the outbox for their first or next attempt (all processes), as last counted.', () => deliverer.pending);
  return deliverer.start();
}

/**
 * Listens on `port` and `host`, or rejects with why not. One server listens on one address, so
 * `localhost` (which may resolve to ::1 first) is the IPv4 loopback, where the default listens.
 */
function listening(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: host === 'localhost' ? '127.0.0.1' : host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * The framework serving the admin API, the agent routes, MCP, the dashboard and the options'
 * plugins, loaded and built when a request first needs it (the probes and plain provider calls
 * never do): the idle server holds none of it.
 */
function adminFor(o: { options: ServeOptions; context: PluginContext; keys: ApiKeys; metrics: Metrics; build: BuildOptions; parts: FrontParts }): Lazy<{ app: FastifyInstance; handler: Handler }> {
  return lazy(async () => {
    const [{ buildBehind }, { apiPlugin }, { mcpPlugin }, { dashboardPlugin }] = await Promise.all([import('../gateway/server.js'), import('../api/index.js'), import('../mcp/index.js'), import('../dashboard/index.js')]);
    const { options, context } = o;
    const dashboard = options.dashboard === false ? [] : [dashboardPlugin({ dir: options.dashboard })];
    const plugins = [apiPlugin({ keys: o.keys, metrics: o.metrics, toolPrices: options.toolPrices, ledgerCounted: true }), mcpPlugin({ toolPrices: options.toolPrices }), ...dashboard, ...(options.plugins ?? [])];
    return buildBehind(context.gateway, plugins.map((plugin) => (a: FastifyInstance) => plugin(a, context)), o.build, o.parts);
  });
}

/**
 * Starts Bursar: opens the store, loads prices, picks the upstream (the mock when no provider
 * is configured), builds the gateway with the admin API (and any other plugins), listens,
 * expires overdue reservations every second, and delivers webhook events.
 *
 * @example
 * const server = await startServer({ port: 0, db: './bursar.db' });
 * console.log(server.url); // http://127.0.0.1:54321
 * await server.close();
 */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const mode = checkedMode(options);
  const pricing = await loadCatalog(options.pricingPath);
  const plan = planUpstream(options, env);
  const random = options.random ?? pooledRandom((n) => randomBytes(n));
  const admin = options.adminKeys ? { keys: options.adminKeys, generated: undefined } : adminKeysFromEnv(env, random);
  const telemetry = options.otelEndpoint === undefined ? undefined : await startTelemetry({ endpoint: options.otelEndpoint, serviceName: 'bursar', metricIntervalMs: metricIntervalMsFrom(env) });
  const store = options.store ?? (await openStore({ db: options.db ?? './bursar.db', synchronous: options.synchronous, checkpoints: 'background', writer: 'thread' }));
  const { upstream, mock } = await upstreamFor(plan);
  const metrics = new Metrics();
  const log = options.log ?? stderrJsonLog;
  const now = options.now ?? (() => store.now());
  const refusals = new RefusalRecorder({ store, now, log });
  const gateway = createGateway(
    {
      store,
      pricing,
      upstream,
      mode,
      now,
      random,
      refusals,
      onCall: (outcome) => {
        metrics.observeCall(outcome);
        telemetry?.modelCall(callRecord(outcome, store.now()));
        options.onCall?.(outcome);
      },
      onNotice: (notice) => log({ level: 'warn', ...notice }),
    },
    (event) => {
      metrics.observeDeferredSettlement(event.outcome);
      log({ level: event.outcome === 'dropped' ? 'error' : 'warn', event: `settlement_${event.outcome}`, ...event });
    },
  );
  metrics.gauge('bursar_deferred_settlements', 'Settlements and voids waiting for the store to come back.', () => gateway.resolver.waiting());
  metrics.gauge('bursar_calls_in_flight', 'Proxied calls being forwarded or relayed.', () => gateway.calls.size);
  const context: PluginContext = { store, pricing, gateway, refusals };
  // What the admin API counts from the start, so /metrics reads the same before it is built.
  metrics.attach(store);
  gaugeEventStreams(metrics, () => 0);
  const build = edgeOptions(options, () => gateway.now());
  const parts = { routes: providerRoutes(gateway, build.onError), edge: edgeChecks(build) };
  const framework = adminFor({ options, context, keys: admin.keys, metrics, build, parts });
  const front = frontServer(parts.routes, framework, { ...build, edge: parts.edge, direct: probeRoutes(store, metrics) });
  const server = front.server;
  try {
    await listening(server, options.port ?? serverLimits.portDefault, options.host ?? '127.0.0.1');
  } catch (error) {
    // Nothing may keep the process alive after a failed start: the mock's port, the store's connections.
    await refusals.close();
    await upstream.close();
    await mock?.close();
    await telemetry?.close();
    if (options.store === undefined) await store.close();
    throw listenError(error, options.host ?? '127.0.0.1', options.port ?? serverLimits.portDefault);
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? serverLimits.portDefault);
  const host = options.host === undefined || options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  // Expiry runs on a timer, so balances are right while nothing else happens. On PostgreSQL every
  // process sweeps, but each sweep runs under the ledger head lock: one at a time, never twice.
  const sweeper = setInterval(() => {
    // A sweep that fails (store down) is simply tried again on the next tick.
    store.sweep().catch(() => undefined);
  }, serverLimits.sweepIntervalMs);
  sweeper.unref();
  const deliverer = startDeliverer({ store, metrics, random, now: options.now, pollMs: options.webhookPollMs, log });
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    store,
    gateway,
    server,
    app: async () => (await framework.get()).app,
    get adminLoaded() {
      return framework.built !== undefined;
    },
    mock,
    upstreamReason: plan.decision.reason,
    metrics,
    refusals,
    deliverer,
    generatedAdminKey: admin.generated,
    telemetry,
    close: (closing = {}) =>
      (closed ??= (async () => {
        clearInterval(sweeper);
        // Stop accepting connections, then drain what is in flight before the rest is cut.
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const drained = await gateway.calls.drain(closing.drainMs ?? options.drainMs ?? serverLimits.drainMsDefault);
        if (drained.cut > 0) log({ level: 'warn', event: 'calls_cut_at_stop', ...drained });
        // A delivery cut short stays leased; the next server to run sends it when the lease ends.
        await deliverer.stop();
        // From here new requests are refused as the framework refuses them while it closes.
        front.closing();
        await (await framework.settled())?.app.close();
        server.closeAllConnections();
        await stopped;
        await gateway.resolver.close();
        await refusals.close();
        await upstream.close();
        await mock?.close();
        await telemetry?.close();
        await store.close();
      })()),
  };
}
