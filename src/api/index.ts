/** Bursar's admin API: budgets, tokens, reservations, ledger, usage, events, health and metrics. */
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pooledRandom, type RandomBytes } from '../core/index.js';
import { bundledCatalog, type PriceCatalog } from '../pricing/index.js';
import { StoreUnavailableError, type Store } from '../store/index.js';
import { KeyRing, type ApiKeys } from './auth.js';
import type { ApiDeps, Route } from './deps.js';
import { ApiError, errorBody } from './errors.js';
import { EventHub } from './events.js';
import { apiLimits } from './limits.js';
import { Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { registerRoutes } from './registry.js';
import { budgetRoutes } from './routes/budgets.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { ledgerRoutes } from './routes/ledger.js';
import { reservationRoutes } from './routes/reservations.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { forecastRoutes } from './routes/forecast.js';
import { preflightRoutes } from './routes/preflight.js';
import { usageRoutes } from './routes/usage.js';
import { packageVersion } from '../version.js';

export { AdminKeyError, adminKeysFromEnv, generateAdminKey, KeyRing, type ApiKeys, type Role } from './auth.js';
export { ApiError, apiCodes, isLedgerCode, statusOf, type ApiCode } from './errors.js';
export { apiLimits } from './limits.js';
export { Metrics } from './metrics.js';
export { openApiDocument } from './openapi.js';
export type { ApiDeps, Route } from './deps.js';

/**
 * Every route of the admin API (and of /healthz, /readyz, /metrics), in the order the OpenAPI
 * document lists them.
 *
 * @example
 * apiRoutes.map((r) => `${r.method} ${r.path}`) // ['GET /api/budgets', 'POST /api/budgets', …]
 */
export const apiRoutes: readonly Route[] = [...budgetRoutes, ...tokenRoutes, ...reservationRoutes, ...ledgerRoutes, ...usageRoutes, ...preflightRoutes, ...forecastRoutes, ...dashboardRoutes, ...systemRoutes];

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
}


/** Turns anything thrown while answering into the API error to send. The one such mapping. */
function toApiError(error: unknown, onError: (error: unknown) => void, bodyBytesMax = apiLimits.bodyBytesMax): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreUnavailableError) return new ApiError('store_unavailable', error.message);
  const e = error as Partial<FastifyError>;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('payload_too_large', `the request body is larger than ${bodyBytesMax} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type', 'send request bodies as JSON with "Content-Type: application/json"');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('bad_request', 'the request body is empty or its length is wrong');
  }
  if (typeof e.statusCode === 'number' && e.statusCode < 500) return new ApiError('bad_request', e.message ?? 'bad request');
  onError(error);
  return new ApiError('internal', 'internal error; the server log has the details');
}

/** A route's own body bound (a plan takes more than the usual), else undefined. */
function declaredBodyBytesMax(request: FastifyRequest): number | undefined {
  const config = request.routeOptions.config as { bodyBytesMax?: unknown } | undefined;
  return typeof config?.bodyBytesMax === 'number' ? config.bodyBytesMax : undefined;
}

/** The 404 for a URL no route matches, with a hint for the commonest mistake: raw slashes in a budget path. */
function notFound(method: string, url: string): ApiError {
  const path = url.split('?')[0] ?? url;
  const hint = /^\/api\/budgets\/[^/]+\/[^/]+\/./.test(path) || /^\/api\/budgets\/[^/]+\/(?!pause$|resume$|close$|grant$|move$|periods$)[^/]+$/.test(path)
    ? '; a budget path in a URL is one URL-encoded segment: /api/budgets/acme%2Fresearch'
    : '';
  return new ApiError('not_found', `no admin API route ${method} ${path}${hint}; see /api/openapi.json`);
}

function sendError(reply: FastifyReply, e: ApiError): FastifyReply {
  return reply.code(e.status).header('x-bursar-code', e.code).header('cache-control', 'no-store').send(errorBody(e));
}

/** JSON bodies parsed here (the gateway keeps its own raw parser); invalid JSON is a 400. */
function jsonBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: apiLimits.bodyBytesMax }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new ApiError('bad_request', `the request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
}

function observe(scope: FastifyInstance, metrics: Metrics): void {
  scope.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const code = reply.getHeader('x-bursar-code');
    metrics.observeApi(request.routeOptions.url, reply.statusCode, typeof code === 'string' ? code : 'ok');
  });
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
    const onError = options.onError ?? ((error: unknown) => process.stderr.write(`bursar admin API: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`));
    const hub = new EventHub(options.store, { heartbeatMs: options.heartbeatMs });
    const detach = metrics.attach(options.store);
    metrics.gauge('bursar_event_streams', 'Open event streams (GET /api/events).', () => hub.size);
    let document: Record<string, unknown> | undefined;
    const deps: ApiDeps = {
      store: options.store,
      metrics,
      hub,
      random: options.random ?? pooledRandom((n) => randomBytes(n)),
      pricing: options.pricing ?? bundledCatalog(),
      openapi: () => (document ??= openApiDocument(apiRoutes, { version: packageVersion() })),
    };
    const register = { keys, deps, checkResponses: options.checkResponses };
    app.addHook('preClose', async () => hub.close());
    app.addHook('onClose', async () => detach());
    await app.register(
      async (scope) => {
        jsonBodies(scope);
        observe(scope, metrics);
        scope.setErrorHandler((error, request, reply) => sendError(reply, toApiError(error, onError, declaredBodyBytesMax(request))));
        scope.setNotFoundHandler((request, reply) => sendError(reply, notFound(request.method, request.url)));
        registerRoutes(
          scope,
          '/api',
          apiRoutes.filter((r) => r.path.startsWith('/api/')),
          register,
        );
      },
      { prefix: '/api' },
    );
    await app.register(async (scope) => {
      jsonBodies(scope);
      observe(scope, metrics);
      scope.setErrorHandler((error, _request, reply) => sendError(reply, toApiError(error, onError)));
      registerRoutes(
        scope,
        '',
        apiRoutes.filter((r) => !r.path.startsWith('/api/')),
        register,
      );
    });
  };
}

/**
 * The admin API in the plugin shape `startServer` takes (`(app, { store }) => …`): the store is
 * the one the gateway uses, so both write one ledger.
 *
 * @example
 * const metrics = new Metrics();
 * const { keys, generated } = adminKeysFromEnv(process.env, (n) => crypto.randomBytes(n));
 * await startServer({ plugins: [adminApiPlugin({ keys, metrics })], onCall: (o) => metrics.observeCall(o) });
 */
export function adminApiPlugin(options: Omit<AdminApiOptions, 'store' | 'pricing'>): (app: FastifyInstance, context: { store: Store; pricing?: PriceCatalog }) => Promise<void> {
  return (app, context) => adminApi({ ...options, store: context.store, pricing: context.pricing })(app);
}
