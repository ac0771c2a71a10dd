import { STATUS_CODES, type IncomingHttpHeaders, type Server } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { wireErrorOfThrown } from '../contract/index.js';
import { StoreUnavailableError } from '../store/index.js';
import { errorBody, gatewayError, type GatewayError, type Provider } from './errors.js';
import { gatewayLimits } from './limits.js';
import { adapters } from './providers/index.js';
import { serveFastRoutes, type RawRoute, type ServerTimeouts } from './fast-routes.js';
import { proxyCall, type Gateway } from './proxy.js';
import { answering, sendError, stderrLog, type ErrorLog } from './respond.js';
import { modelsRoute } from './routes.js';
import { allowCors, authFailureCheck, AuthFailures, badUrl, checkAtEdge, corsHeaders, refuse, type AuthFailureLimit, type EdgeCheck } from './edge.js';

/** How long a client may take to send a request, and how long an idle connection is kept (see `serverLimits`). */
export interface ConnectionBounds {
  /** The request line and headers must arrive within this; else 408 and the connection is closed. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this; an answer (a stream) may take longer. */
  requestTimeoutMs: number;
  /** How often connections past those timeouts are looked for. */
  connectionsCheckingIntervalMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Largest request head (request line and headers). */
  headerBytesMax: number;
}

export interface BuildOptions {
  onError?: ErrorLog;
  /** Client connection bounds; Node's and fastify's defaults when absent. */
  connections?: ConnectionBounds;
  /** Failed authentications allowed per source address; no limit when absent. */
  authFailures?: { limit: AuthFailureLimit; now: () => number };
  /** Origins browsers may call from (`*` for any); none when absent or empty. */
  corsOrigins?: readonly string[];
}

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

/** Why a connection is answered before any request could be read: too slow, too large a head, or not HTTP. */
function clientError(error: NodeJS.ErrnoException, bounds: ConnectionBounds | undefined): GatewayError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const within = bounds ? `: its headers must arrive within ${bounds.headersTimeoutMs} ms and all of it within ${bounds.requestTimeoutMs} ms` : '';
    return gatewayError('request_timeout', `the request did not arrive in time${within}`);
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') return gatewayError('bad_request', `the request's line and headers are larger than ${bounds?.headerBytesMax ?? 16 * 1024} bytes`);
  return gatewayError('bad_request', `malformed HTTP request (${error.code ?? 'parse error'})`);
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

/**
 * The checks every request meets before its route: the failed-authentication limit (one count
 * shared by both paths), then CORS headers. `fast` lists them for the provider routes' direct
 * path in the order the framework's hooks run them.
 */
function edgeChecks(options: BuildOptions): { auth: EdgeCheck | undefined; fast: EdgeCheck[] } {
  const auth = options.authFailures && authFailureCheck(new AuthFailures(options.authFailures.limit, options.authFailures.now));
  const cors = corsHeaders(options.corsOrigins ?? []);
  const fast: EdgeCheck[] = auth ? [auth] : [];
  fast.push((req, res) => {
    cors(req, res);
    return undefined;
  });
  return { auth, fast };
}

/**
 * The Bursar HTTP server: the provider-compatible routes, and whatever `plugins` add (the admin
 * API, the agent routes, the dashboard). Bodies of gateway routes arrive as raw bytes; the proxy
 * parses them itself so every refusal keeps the provider's error shape.
 */
export async function buildServer(g: Gateway, plugins: ((app: FastifyInstance) => Promise<void>)[] = [], options: BuildOptions = {}): Promise<FastifyInstance> {
  const c = options.connections;
  // The provider routes by path: the framework's routes call them, and so does the server in
  // front of it, directly, for plain calls (see `serveFastRoutes`), after the same edge checks.
  const providerRoutes = new Map<string, RawRoute>();
  const edge = edgeChecks(options);
  const app = Fastify({
    serverFactory: (handler, o) => serveFastRoutes(providerRoutes, handler, { bodyBytesMax: gatewayLimits.bodyBytesMax, timeouts: frameworkTimeouts(o), edge: edge.fast }),
    bodyLimit: gatewayLimits.bodyBytesMax,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: gatewayLimits.pathParamCharsMax },
    // A URL the router cannot read is refused like any bad request, in its door's shape.
    frameworkErrors: (error, request, reply) => {
      void refuse(reply, request.url, badUrl(error.code, gatewayLimits.pathParamCharsMax));
    },
    ...(c ? { requestTimeout: c.requestTimeoutMs, keepAliveTimeout: c.keepAliveTimeoutMs, http: { headersTimeout: c.headersTimeoutMs, connectionsCheckingInterval: c.connectionsCheckingIntervalMs, maxHeaderSize: c.headerBytesMax } } : {}),
    // Malformed HTTP (CR/LF in a header, bad framing): a JSON 400, never a crash.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const e = clientError(error, c);
      const body = JSON.stringify(errorBody('openai', e));
      socket.end(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-bursar-code: ${e.code}\r\nconnection: close\r\n\r\n${body}`);
    },
  });
  if (edge.auth) checkAtEdge(app, edge.auth);
  allowCors(app, options.corsOrigins ?? []);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // Hijacked routes answer through `answering`, so a failure (the store gone) is a refusal, never a hang.
  const log = options.onError ?? stderrLog;
  const answered =
    (route: string, provider: (headers: IncomingHttpHeaders) => Provider, work: RawRoute): RawRoute =>
    async (headers, body, res) => {
      const onRefused = (e: GatewayError) => {
        g.onCall?.({ route, status: e.status, code: e.code });
        // What fails here is the store (or a bug): nothing more than the route is known.
        g.refusals?.record({ code: e.code, message: e.message, route });
      };
      await answering(res, provider(headers), () => work(headers, body, res), { log, onRefused });
    };
  const hijacked = (route: RawRoute) => async (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    await route(req.headers, req.body as Buffer, reply.raw);
  };
  for (const adapter of adapters) {
    const route = answered(adapter.route, () => adapter.provider, (headers, body, res) => proxyCall(g, adapter, headers, body, res));
    providerRoutes.set(adapter.route, route);
    app.post(adapter.route, hijacked(route));
  }
  const modelsProvider = (headers: IncomingHttpHeaders): Provider => (typeof headers['anthropic-version'] === 'string' ? 'anthropic' : 'openai');
  app.get('/v1/models', hijacked(answered('/v1/models', modelsProvider, (headers, _body, res) => modelsRoute(g, headers, res))));
  app.setErrorHandler((error, req, reply) => {
    const e = frameworkError(error, log);
    void reply.code(e.status).header('x-bursar-code', e.code).send(errorBody(providerOf(req.url), e));
  });
  app.setNotFoundHandler((req, reply) => {
    const { provider, error } = notFound(req);
    void reply.code(404).header('x-bursar-code', error.code).send(errorBody(provider, error));
  });
  for (const plugin of plugins) await plugin(app);
  return app;
}

export { sendError };
export type { Server };
