/**
 * Bursar's own HTTP API: the admin API (budgets, tokens, reservations, ledger, usage, events,
 * health, metrics) under `/api` with an admin key, and the agent routes under `/v1/bursar` with
 * a spend token. One route registry, one OpenAPI generator (a document each), one error path.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, errorHeaders, parseJsonText, wireErrorOf, wireErrorOfThrown, WireError, type Access, type ErrorShape, type RouteSpec } from '../contract/index.js';
import { pooledRandom, type RandomBytes } from '../core/index.js';
import { authenticateRequest, RefusalRecorder } from '../ops/index.js';
import { bundledCatalog, defaultToolPrices, type PriceCatalog, type ToolPrices } from '../pricing/index.js';
import { StoreUnavailableError, type Store } from '../store/index.js';
import { authenticate, authorize, KeyRing, type ApiKeys } from './auth.js';
import type { AgentDeps, ApiDeps } from './deps.js';
import { adminDocument, agentDocument } from './documents.js';
import { EventHub } from './events.js';
import { apiLimits } from './limits.js';
import { Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { gaugeEventStreams } from './probes.js';
import { declaredBodyBytesMax, registerRoutes, type Identity } from './registry.js';
import { adminApiRoutes as adminBound, agentApiRoutes } from './routes/index.js';
import { packageVersion } from '../version.js';

export { AdminKeyError, adminKeysFromEnv, generateAdminKey, KeyRing, type ApiKeys, type Role } from './auth.js';
export { apiLimits } from './limits.js';
export { Metrics, type ProxiedCall } from './metrics.js';
export { openApiDocument } from './openapi.js';
export type { AgentDeps, ApiDeps, Route } from './deps.js';

/**
 * Every route of the admin API (and of /healthz, /readyz, /metrics), in the order the OpenAPI
 * document lists them.
 *
 * @example
 * apiRoutes.map((r) => `${r.method} ${r.path}`) // ['GET /api/budgets', 'POST /api/budgets', …]
 */
export const apiRoutes: readonly RouteSpec[] = adminBound.map((r) => r.spec);

/**
 * Every agent route (`/v1/bursar/…`), in the order their OpenAPI document lists them.
 *
 * @example
 * agentApiSpecs.map((r) => `${r.method} ${r.path}`) // ['GET /v1/bursar/balance', 'GET /v1/bursar/tools', …]
 */
export const agentApiSpecs: readonly RouteSpec[] = agentApiRoutes.map((r) => r.spec);

export interface AdminApiOptions {
  store: Store;
  /** Admin and viewer keys; at least one admin key (see `adminKeysFromEnv`). */
  keys: ApiKeys;
  /** Shared with the gateway's `onCall`; one is made when absent. */
  metrics?: Metrics;
  /** Random source for token secrets (default: the system's, pooled). */
  random?: RandomBytes;
  /** The gateway's price catalog, for pre-flight (default: the bundled one). */
  pricing?: PriceCatalog;
  /** Heartbeat interval of event streams (default `apiLimits.sseHeartbeatMs`). */
  heartbeatMs?: number;
  /** Check every JSON response against its declared schema (tests). */
  checkResponses?: boolean;
  /** Called with errors that become a 500 (default: a line on stderr). */
  onError?: (error: unknown) => void;
  /** Where refused spend is recorded and read back from (default: one over the store, closed with the server). */
  refusals?: RefusalRecorder;
  /** The metrics already count the store's ledger entries (the caller ran `metrics.attach`): not counted twice. */
  ledgerCounted?: boolean;
}

const stderrLog = (error: unknown) => process.stderr.write(`bursar API: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);

/** The one error path: whatever was thrown, answered in the scope's error shape (and `onError` told). */
function errorPath(scope: FastifyInstance, shape: ErrorShape, log: (error: unknown) => void, onError?: (e: WireError, request: FastifyRequest) => void): void {
  const isStoreDown = (error: unknown) => error instanceof StoreUnavailableError;
  scope.setErrorHandler((error, request, reply) => {
    const e = wireErrorOfThrown(error, { bodyBytesMax: declaredBodyBytesMax(request) ?? apiLimits.bodyBytesMax, isStoreDown, log });
    onError?.(e, request);
    return sendError(reply, shape, e);
  });
}

/** A recorder over `store` for an API started without one; closed (written out) when the server closes. */
function ownRecorder(app: FastifyInstance, store: Store, now: () => number): RefusalRecorder {
  const recorder = new RefusalRecorder({ store, now });
  app.addHook('onClose', async () => recorder.close());
  return recorder;
}

/** The 404 for a URL no route matches, with a hint for the commonest mistake: raw slashes in a budget path. */
function notFound(method: string, url: string): WireError {
  const path = url.split('?')[0] ?? url;
  const hint = /^\/api\/budgets\/[^/]+\/[^/]+\/./.test(path) || /^\/api\/budgets\/[^/]+\/(?!pause$|resume$|close$|grant$|move$|periods$)[^/]+$/.test(path)
    ? '; a budget path in a URL is one URL-encoded segment: /api/budgets/acme%2Fresearch'
    : '';
  return new WireError('not_found', `no admin API route ${method} ${path}${hint}; see /api/openapi.json`);
}

function sendError(reply: FastifyReply, shape: ErrorShape, e: WireError): FastifyReply {
  return reply.code(e.status).headers(errorHeaders(e)).header('cache-control', 'no-store').send(errorBody(shape, e));
}

/** JSON bodies parsed here (the gateway keeps its own raw parser); invalid JSON is a 400. */
function jsonBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: apiLimits.bodyBytesMax }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, parseJsonText(text));
    } catch (error) {
      done(error as WireError, undefined);
    }
  });
}

function observe(scope: FastifyInstance, metrics: Metrics): void {
  scope.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const code = reply.getHeader('x-bursar-code');
    metrics.observeApi(request.routeOptions.url, reply.statusCode, typeof code === 'string' ? code : 'ok');
  });
}

/** Who an admin route's caller is: an admin or viewer key, checked before the body is read. */
function adminIdentity(keys: KeyRing): (access: Access, request: FastifyRequest) => Promise<Identity> {
  return async (access, request) => {
    if (access === 'public') return { actor: 'api' };
    const principal = authenticate(keys, request.headers.authorization);
    authorize(principal, access);
    const given = request.headers['x-bursar-actor'];
    return { principal, actor: typeof given === 'string' ? given : `api:${principal.role}:${principal.keyId}` };
  };
}

/**
 * The admin API as a plugin for `buildServer`: every route under `/api` (JSON, with the
 * OpenAPI document at `/api/openapi.json`) plus `/healthz`, `/readyz` and `/metrics`. Every
 * error, whatever raised it, is answered in one place as `{ error: { code, message, … } }`.
 *
 * @example
 * const metrics = new Metrics();
 * const { keys, generated } = adminKeysFromEnv(process.env, (n) => crypto.randomBytes(n));
 * const app = await buildServer(gateway, [adminApi({ store, keys, metrics })]);
 */
export function adminApi(options: AdminApiOptions): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    const keys = new KeyRing(options.keys);
    const metrics = options.metrics ?? new Metrics();
    const log = options.onError ?? stderrLog;
    const refusals = options.refusals ?? ownRecorder(app, options.store, () => options.store.now());
    const hub = new EventHub(options.store, { heartbeatMs: options.heartbeatMs, refusals });
    const detach = options.ledgerCounted === true ? () => undefined : metrics.attach(options.store);
    gaugeEventStreams(metrics, () => hub.size);
    let document: Record<string, unknown> | undefined;
    const deps: ApiDeps = {
      store: options.store,
      metrics,
      hub,
      random: options.random ?? pooledRandom((n) => randomBytes(n)),
      pricing: options.pricing ?? bundledCatalog(),
      refusals,
      openapi: () => (document ??= openApiDocument(apiRoutes, adminDocument(packageVersion()))),
    };
    const register = { deps, identify: adminIdentity(keys), checkResponses: options.checkResponses };
    app.addHook('preClose', async () => hub.close());
    app.addHook('onClose', async () => detach());
    await app.register(
      async (scope) => {
        jsonBodies(scope);
        observe(scope, metrics);
        errorPath(scope, 'bursar', log);
        scope.setNotFoundHandler((request, reply) => sendError(reply, 'bursar', notFound(request.method, request.url)));
        registerRoutes(scope, '/api', adminBound.filter((r) => r.spec.path.startsWith('/api/')), register);
      },
      { prefix: '/api' },
    );
    await app.register(async (scope) => {
      jsonBodies(scope);
      observe(scope, metrics);
      errorPath(scope, 'bursar', log);
      registerRoutes(scope, '', adminBound.filter((r) => !r.spec.path.startsWith('/api/')), register);
    });
  };
}

export interface AgentApiOptions {
  store: Store;
  /** The tool price table reservations are estimated with (default: the bundled one). */
  toolPrices?: ToolPrices;
  /** Random source for token secrets (default: the system's, pooled). */
  random?: RandomBytes;
  /** The clock token expiry is judged by (default: the store's). */
  now?: () => number;
  /** Counts each answer, as for the admin API. */
  metrics?: Metrics;
  /** Check every JSON response against its declared schema (tests). */
  checkResponses?: boolean;
  /** Called with errors that become a 500 (default: a line on stderr). */
  onError?: (error: unknown) => void;
  /** Where refused spend is recorded (default: one over the store, closed with the server). */
  refusals?: RefusalRecorder;
}

/** Who an agent route's caller is: the spend token it presents (`token-resolve` also takes a stopped one). */
function tokenIdentity(deps: AgentDeps): (access: Access, request: FastifyRequest) => Promise<Identity> {
  return async (access, request) => {
    if (access === 'public') return { actor: 'api' };
    const caller = await authenticateRequest(deps.store, request.headers, deps.now(), access === 'token-resolve' ? 'resolve' : 'active');
    if ('ok' in caller) throw wireErrorOf(caller);
    return { caller, actor: `token:${caller.token.id}` };
  };
}

/**
 * The agent routes as a plugin for `buildServer`: what an agent does with its own spend token
 * besides calling a model (`/v1/bursar/balance`, tool spend, delegation) and their OpenAPI
 * document at `/v1/bursar/openapi.json`. Every answer is JSON and never cached; every refusal is
 * in OpenAI's error shape with Bursar's stable code, like the proxy's.
 *
 * @example
 * const app = await buildServer(gateway, [agentApi({ store, toolPrices: loadToolPrices({ path: './tools.json' }) })]);
 */
export function agentApi(options: AgentApiOptions): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    let document: Record<string, unknown> | undefined;
    const store = options.store;
    const now = options.now ?? (() => store.now());
    const deps: AgentDeps = {
      store,
      random: options.random ?? pooledRandom((n) => randomBytes(n)),
      now,
      toolPrices: options.toolPrices ?? defaultToolPrices(),
      refusals: options.refusals ?? ownRecorder(app, store, now),
      openapi: () => (document ??= openApiDocument(agentApiSpecs, agentDocument(packageVersion()))),
    };
    await app.register(async (scope) => {
      jsonBodies(scope);
      if (options.metrics) observe(scope, options.metrics);
      // A refusal the handlers return is recorded where they refuse; one thrown (the store down) here.
      errorPath(scope, 'openai', options.onError ?? stderrLog, (e, request) => {
        if (e.code === 'store_unavailable') deps.refusals.record({ code: e.code, message: e.message, route: request.routeOptions.url ?? request.url });
      });
      scope.addHook('onSend', async (_request, reply) => {
        void reply.header('cache-control', 'no-store');
      });
      registerRoutes<AgentDeps>(scope, '', agentApiRoutes, { deps, identify: tokenIdentity(deps), checkResponses: options.checkResponses });
    });
  };
}

/**
 * Both APIs in the plugin shape `startServer` takes (`(app, { store, pricing }) => …`): the store
 * is the one the gateway uses, so all of them write one ledger, and pre-flight prices plans with
 * the gateway's catalog.
 *
 * @example
 * await startServer({ plugins: [apiPlugin({ keys, metrics })] });
 */
export function apiPlugin(options: Omit<AdminApiOptions, 'store'> & Omit<AgentApiOptions, 'store'>): (app: FastifyInstance, context: { store: Store; pricing?: PriceCatalog; gateway?: { now: () => number; random: RandomBytes }; refusals?: RefusalRecorder }) => Promise<void> {
  return async (app, context) => {
    // Both APIs record into, and read back from, one recorder.
    const refusals = options.refusals ?? context.refusals ?? ownRecorder(app, context.store, context.gateway?.now ?? (() => context.store.now()));
    await adminApi({ ...options, refusals, store: context.store, random: options.random ?? context.gateway?.random, pricing: options.pricing ?? context.pricing })(app);
    await agentApi({ ...options, refusals, store: context.store, now: options.now ?? context.gateway?.now, random: options.random ?? context.gateway?.random })(app);
  };
}
