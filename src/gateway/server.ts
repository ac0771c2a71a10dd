import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from 'fastify';
import { wireErrorOfThrown } from '../contract/errors.js';
import { StoreUnavailableError } from '../store/index.js';
import { errorBody, gatewayError, type GatewayError, type Provider } from './errors.js';
import { gatewayLimits } from './limits.js';
import { serveFastRoutes, type RawRoute, type ServerTimeouts } from './fast-routes.js';
import { answerClientError, edgeChecks, providerRoutes, type BuildOptions, type FrontParts } from './front.js';
import type { Gateway } from './proxy.js';
import { sendError, stderrLog, type ErrorLog } from './respond.js';
import { allowCors, badUrl, checkAtEdge, refuse } from './edge.js';

export type { BuildOptions, ConnectionBounds } from './front.js';

function providerOf(url: string): Provider {
  return url.startsWith('/v1/messages') ? 'anthropic' : 'openai';
}

/**
 * Gateway routes called without their `/v1` prefix, which is what a client given the server's
 * bare URL as its base URL sends: each with the provider whose error shape it expects.
 */
const unprefixed: Record<string, { method: 'GET' | 'POST'; provider: Provider }> = {
  '/messages': { method: 'POST', provider: 'anthropic' },
  '/chat/completions': { method: 'POST', provider: 'openai' },
  '/responses': { method: 'POST', provider: 'openai' },
  '/embeddings': { method: 'POST', provider: 'openai' },
  '/models': { method: 'GET', provider: 'openai' },
};

/** The 404 for a request no route answers, saying where the route is when only `/v1` is missing. */
function notFound(req: FastifyRequest): { provider: Provider; error: GatewayError } {
  const path = req.url.split('?')[0] ?? '';
  const origin = typeof req.headers.host === 'string' ? `http://${req.headers.host}` : 'http://<host>:<port>';
  if (path === '/v1/v1/messages' && req.method === 'POST') {
    return { provider: 'anthropic', error: gatewayError('not_found', `no route POST ${path}: the official @anthropic-ai/sdk adds /v1 itself, so give it the base URL ${origin} (without /v1)`) };
  }
  const route = unprefixed[path];
  if (route === undefined || route.method !== req.method) return { provider: providerOf(req.url), error: gatewayError('not_found', `no route ${req.method} ${path}`) };
  const provider = path === '/models' && typeof req.headers['anthropic-version'] === 'string' ? 'anthropic' : route.provider;
  const sdks =
    route.provider === 'anthropic'
      ? `give clients that append /messages themselves (@ai-sdk/anthropic) the base URL ${origin}/v1; the official @anthropic-ai/sdk takes ${origin} and adds /v1 itself`
      : `give OpenAI clients (openai, @ai-sdk/openai, LangChain, the OpenAI Agents SDK) the base URL ${origin}/v1`;
  return { provider, error: gatewayError('not_found', `no route ${req.method} ${path}: the gateway's routes are under /v1/, so call ${req.method} /v1${path}; ${sdks}`) };
}

/** The settings the framework gives a server it creates itself (its defaults filled in by then). */
function frameworkTimeouts(options: unknown): ServerTimeouts {
  const o = options as Partial<ServerTimeouts>;
  return { keepAliveTimeout: o.keepAliveTimeout ?? 72_000, requestTimeout: o.requestTimeout ?? 0, connectionTimeout: o.connectionTimeout ?? 0, http: o.http };
}

/** Framework errors (body too large, wrong content type, unparseable) as provider-shaped refusals, by the one mapping. */
function frameworkError(error: unknown, log: ErrorLog): GatewayError {
  return wireErrorOfThrown(error, { bodyBytesMax: gatewayLimits.bodyBytesMax, isStoreDown: (e) => e instanceof StoreUnavailableError, log });
}

/** The framework's settings: its server made by `serverFactory`, and what it answers before any route. */
function frameworkOptions(options: BuildOptions, serverFactory: FastifyServerFactory) {
  const c = options.connections;
  return {
    serverFactory,
    bodyLimit: gatewayLimits.bodyBytesMax,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: gatewayLimits.pathParamCharsMax },
    // A URL the router cannot read is refused like any bad request, in its door's shape.
    frameworkErrors: (error: { code?: string }, request: FastifyRequest, reply: FastifyReply) => {
      void refuse(reply, request.url, badUrl(error.code, gatewayLimits.pathParamCharsMax));
    },
    ...(c ? { requestTimeout: c.requestTimeoutMs, keepAliveTimeout: c.keepAliveTimeoutMs, http: { headersTimeout: c.headersTimeoutMs, connectionsCheckingInterval: c.connectionsCheckingIntervalMs, maxHeaderSize: c.headerBytesMax } } : {}),
    // Malformed HTTP (CR/LF in a header, bad framing): a JSON 400, never a crash.
    clientErrorHandler: answerClientError(c),
  } as const;
}

/**
 * The framework with the provider routes, the edge checks, the error and not-found answers, and
 * whatever `plugins` add. `serverFactory` makes its server; the provider routes and edge checks
 * are given, being shared with the server in front of it.
 */
async function assemble(g: Gateway, plugins: ((app: FastifyInstance) => Promise<void>)[], options: BuildOptions, shared: FrontParts, serverFactory: FastifyServerFactory): Promise<FastifyInstance> {
  const app = Fastify(frameworkOptions(options, serverFactory));
  if (shared.edge.auth) checkAtEdge(app, shared.edge.auth);
  allowCors(app, options.corsOrigins ?? []);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // Hijacked routes answer through `answering`, so a failure (the store gone) is a refusal, never a hang.
  const hijacked = (route: RawRoute) => async (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    await route(req.headers, req.body as Buffer, reply.raw);
  };
  for (const [path, route] of shared.routes.posts) app.post(path, hijacked(route));
  app.get('/v1/models', hijacked(shared.routes.models));
  const log = options.onError ?? stderrLog;
  app.setErrorHandler((error, req, reply) => {
    const e = frameworkError(error, log);
    void reply.code(e.status).header('x-bursar-code', e.code).send(errorBody(providerOf(req.url), e));
  });
  app.setNotFoundHandler((req, reply) => {
    const { provider, error } = notFound(req);
    void reply.code(404).header('x-bursar-code', error.code).send(errorBody(provider, error));
  });
  try {
    for (const plugin of plugins) await plugin(app);
  } catch (error) {
    // What the plugins before opened is closed: a build that failed holds nothing.
    await Promise.resolve(app.close()).catch(() => undefined);
    throw error;
  }
  return app;
}

/**
 * The Bursar HTTP server: the provider-compatible routes, and whatever `plugins` add (the admin
 * API, the agent routes, the dashboard). Bodies of gateway routes arrive as raw bytes; the proxy
 * parses them itself so every refusal keeps the provider's error shape.
 */
export async function buildServer(g: Gateway, plugins: ((app: FastifyInstance) => Promise<void>)[] = [], options: BuildOptions = {}): Promise<FastifyInstance> {
  // The provider routes by path: the framework's routes call them, and so does the server in
  // front of it, directly, for plain calls (see `serveFastRoutes`), after the same edge checks.
  const shared = { routes: providerRoutes(g, options.onError), edge: edgeChecks(options) };
  return assemble(g, plugins, options, shared, (handler, o) => serveFastRoutes(shared.routes.posts, handler, { bodyBytesMax: gatewayLimits.bodyBytesMax, timeouts: frameworkTimeouts(o), edge: shared.edge.fast }));
}

/**
 * The framework behind a server already listening (`frontServer`): the same routes and plugins
 * as `buildServer`, sharing that server's provider routes and edge checks, answering what it is
 * handed. Closing it closes what the plugins opened; the front server's connections are its own.
 *
 * @example
 * const admin = lazy(() => buildBehind(g, plugins, options, shared));
 */
export async function buildBehind(g: Gateway, plugins: ((app: FastifyInstance) => Promise<void>)[], options: BuildOptions, shared: FrontParts): Promise<{ app: FastifyInstance; handler: (req: IncomingMessage, res: ServerResponse) => void }> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  // The framework's own server never listens: it only hands over the request handler.
  const app = await assemble(g, plugins, options, shared, (h) => {
    handler = h;
    return createServer();
  });
  try {
    await app.ready();
  } catch (error) {
    await Promise.resolve(app.close()).catch(() => undefined);
    throw error;
  }
  if (!handler) throw new Error('the framework made no request handler');
  return { app, handler };
}

export { sendError };
export type { Server };
