import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { adminKeysFromEnv, apiPlugin, Metrics, type ApiKeys } from '../api/index.js';
import { pooledRandom, type RandomBytes } from '../core/index.js';
import { buildServer, gatewayLimits, gatewayModes, Upstream, type CallOutcome, type Gateway, type GatewayMode } from '../gateway/index.js';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/index.js';
import { loadPricing, type PriceCatalog, type ToolPrices } from '../pricing/index.js';
import { openStore, type Store } from '../store/index.js';
import { serverLimits } from './limits.js';

/**
 * Where Bursar's server is put together, and only here: the store, prices, the upstream (or the
 * mock), the gateway's provider routes, the admin API and the agent routes, metrics, and the
 * sweeper that expires overdue reservations.
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
  /** Answer every call from the built-in mock provider (no provider keys needed). */
  mockUpstream?: boolean;
  upstreamTimeoutMs?: number;
  synchronous?: 'normal' | 'full';
  /** Environment to read provider keys and base URLs from (default process.env). */
  env?: Record<string, string | undefined>;
  /** An already opened store (tests, the demo); closed with the server. */
  store?: Store;
  /** Extra routes (the admin API, the dashboard), given the gateway they serve. */
  plugins?: ((app: FastifyInstance, context: PluginContext) => Promise<void>)[];
  onCall?: (outcome: CallOutcome) => void;
  /** Admin API keys; default from BURSAR_ADMIN_KEY / BURSAR_VIEWER_KEY, or one generated for this run. */
  adminKeys?: ApiKeys;
  random?: RandomBytes;
  now?: () => number;
}

/** What plugins get: the same store, catalog and gateway the proxy uses. */
export interface PluginContext {
  store: Store;
  pricing: PriceCatalog;
  gateway: Gateway;
}

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  gateway: Gateway;
  app: FastifyInstance;
  /** The mock provider, when the server answers from it. */
  mock: MockUpstream | undefined;
  metrics: Metrics;
  /** The admin key generated for this run when none was configured (print it once). */
  generatedAdminKey: string | undefined;
  close(): Promise<void>;
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

function loadCatalog(path: string | undefined): PriceCatalog {
  const loaded = loadPricing(path === undefined ? {} : { overridePath: path });
  if (!loaded.ok) throw new ServeConfigError(loaded.code, `${path ?? 'price catalog'}: ${loaded.message}`);
  return loaded.catalog;
}

/** True when no provider is configured: then the server answers from the mock, offline. */
export function wantsMock(options: ServeOptions, env: Record<string, string | undefined>): boolean {
  if (options.mockUpstream) return true;
  const configured = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'BURSAR_OPENAI_BASE_URL', 'BURSAR_ANTHROPIC_BASE_URL'].some((k) => (env[k] ?? '') !== '');
  return !configured;
}

async function upstreamFor(options: ServeOptions, env: Record<string, string | undefined>): Promise<{ upstream: Upstream; mock: MockUpstream | undefined }> {
  const timeoutMs = options.upstreamTimeoutMs ?? (env.BURSAR_UPSTREAM_TIMEOUT_MS ? Number(env.BURSAR_UPSTREAM_TIMEOUT_MS) : gatewayLimits.upstreamTimeoutMsDefault);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 3_600_000) throw new ServeConfigError('invalid_timeout', 'the upstream timeout must be a whole number of milliseconds from 100 to 3600000');
  if (wantsMock(options, env)) {
    const mock = await startMockUpstream({ port: 0 });
    const upstream = new Upstream({ openaiBaseUrl: `${mock.url}/v1`, anthropicBaseUrl: mock.url, openaiApiKey: 'mock-openai-key', anthropicApiKey: 'mock-anthropic-key', timeoutMs, passHeaderPrefixes: ['x-mock-'] });
    return { upstream, mock };
  }
  const upstream = new Upstream({
    openaiBaseUrl: env.BURSAR_OPENAI_BASE_URL || 'https://api.openai.com/v1',
    anthropicBaseUrl: env.BURSAR_ANTHROPIC_BASE_URL || 'https://api.anthropic.com',
    openaiApiKey: env.OPENAI_API_KEY || undefined,
    anthropicApiKey: env.ANTHROPIC_API_KEY || undefined,
    timeoutMs,
  });
  return { upstream, mock: undefined };
}

/**
 * Starts Bursar: opens the store, loads prices, picks the upstream (the mock when no provider
 * is configured), builds the gateway with the admin API (and any other plugins), listens, and
 * expires overdue reservations every second.
 *
 * @example
 * const server = await startServer({ port: 0, db: './bursar.db' });
 * console.log(server.url); // http://127.0.0.1:54321
 * await server.close();
 */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const mode = options.mode ?? 'enforce';
  if (!(gatewayModes as readonly string[]).includes(mode)) throw new ServeConfigError('invalid_mode', `mode must be one of ${gatewayModes.join(', ')}`);
  const pricing = loadCatalog(options.pricingPath);
  const store = options.store ?? (await openStore({ db: options.db ?? './bursar.db', synchronous: options.synchronous, checkpoints: 'background' }));
  const random = options.random ?? pooledRandom((n) => randomBytes(n));
  const admin = options.adminKeys ? { keys: options.adminKeys, generated: undefined } : adminKeysFromEnv(env, random);
  const { upstream, mock } = await upstreamFor(options, env);
  const metrics = new Metrics();
  const gateway: Gateway = {
    store,
    pricing,
    upstream,
    mode,
    now: options.now ?? (() => store.now()),
    random,
    onCall: (outcome) => {
      metrics.observeCall(outcome);
      options.onCall?.(outcome);
    },
  };
  const context: PluginContext = { store, pricing, gateway };
  const plugins = [apiPlugin({ keys: admin.keys, metrics, toolPrices: options.toolPrices }), ...(options.plugins ?? [])];
  const app = await buildServer(gateway, plugins.map((plugin) => (a: FastifyInstance) => plugin(a, context)));
  await app.listen({ port: options.port ?? serverLimits.portDefault, host: options.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? serverLimits.portDefault);
  const host = options.host === undefined || options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  const sweeper = setInterval(() => void store.sweep().catch(() => undefined), serverLimits.sweepIntervalMs);
  sweeper.unref();
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    store,
    gateway,
    app,
    mock,
    metrics,
    generatedAdminKey: admin.generated,
    close: () =>
      (closed ??= (async () => {
        clearInterval(sweeper);
        await app.close();
        await upstream.close();
        await mock?.close();
        await store.close();
      })()),
  };
}
