import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { wireErrorOfThrown } from '../contract/errors.js';
import { StoreUnavailableError } from '../store/index.js';
import { authFailureCheck, AuthFailures, corsHeaders, refuseRaw, type AuthFailureLimit, type EdgeCheck } from './edge.js';
import { errorBody, gatewayError, type GatewayError, type Provider } from './errors.js';
import { serveFastRoutes, type DirectRoute, type RawRoute, type ServerTimeouts } from './fast-routes.js';
import { gatewayLimits } from './limits.js';
import { adapters } from './providers/index.js';
import { proxyCall, type Gateway } from './proxy.js';
import { answering, stderrLog, type ErrorLog } from './respond.js';
import { modelsRoute } from './routes.js';

/*
 * What the server does without its framework: the provider routes (called by the framework's
 * routes, and directly for plain calls), the checks every request meets first, and the HTTP
 * server in front that hands the framework whatever it does not answer itself.
 */

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

/** The edge checks of one server: the failed-authentication limit (one count for every path), and `fast`, all of them in the framework hooks' order. */
export interface EdgeChecks {
  auth: EdgeCheck | undefined;
  fast: EdgeCheck[];
}

/**
 * The checks every request meets before its route: the failed-authentication limit (one count
 * shared by both paths), then CORS headers. `fast` lists them for the provider routes' direct
 * path in the order the framework's hooks run them.
 */
export function edgeChecks(options: BuildOptions): EdgeChecks {
  const auth = options.authFailures && authFailureCheck(new AuthFailures(options.authFailures.limit, options.authFailures.now));
  const cors = corsHeaders(options.corsOrigins ?? []);
  const fast: EdgeCheck[] = auth ? [auth] : [];
  fast.push((req, res) => {
    cors(req, res);
    return undefined;
  });
  return { auth, fast };
}

/** The provider routes by path (`posts`, each a provider's POST route) and `GET /v1/models`. */
export interface ProviderRoutes {
  posts: Map<string, RawRoute>;
  models: RawRoute;
}

/** The provider routes, each answering every failure itself (see `answering`): a refusal, never a hang. */
export function providerRoutes(g: Gateway, log: ErrorLog = stderrLog): ProviderRoutes {
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
  const posts = new Map<string, RawRoute>();
  for (const adapter of adapters) posts.set(adapter.route, answered(adapter.route, () => adapter.provider, (headers, body, res) => proxyCall(g, adapter, headers, body, res)));
  const modelsProvider = (headers: IncomingHttpHeaders): Provider => (typeof headers['anthropic-version'] === 'string' ? 'anthropic' : 'openai');
  return { posts, models: answered('/v1/models', modelsProvider, (headers, _body, res) => modelsRoute(g, headers, res)) };
}

/** What the server in front and the framework behind it share: the provider routes and the edge checks (one failure count). */
export interface FrontParts {
  routes: ProviderRoutes;
  edge: EdgeChecks;
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

/** Malformed HTTP (CR/LF in a header, bad framing), a head too large or too slow: a JSON answer, never a crash. */
export function answerClientError(bounds: ConnectionBounds | undefined): (error: NodeJS.ErrnoException, socket: NodeJS.WritableStream & { writable: boolean; destroy(): void }) => void {
  return (error, socket) => {
    if (!socket.writable) return socket.destroy();
    const e = clientError(error, bounds);
    const body = JSON.stringify(errorBody('openai', e));
    socket.end(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-bursar-code: ${e.code}\r\nconnection: close\r\n\r\n${body}`);
  };
}

/** The server settings fastify gives a server it creates itself, from the bounds (its defaults without them). */
export function boundTimeouts(c: ConnectionBounds | undefined): ServerTimeouts {
  if (!c) return { keepAliveTimeout: 72_000, requestTimeout: 0, connectionTimeout: 0 };
  return { keepAliveTimeout: c.keepAliveTimeoutMs, requestTimeout: c.requestTimeoutMs, connectionTimeout: 0, http: { headersTimeout: c.headersTimeoutMs, connectionsCheckingInterval: c.connectionsCheckingIntervalMs, maxHeaderSize: c.headerBytesMax } };
}

/** What fastify answers a request that arrives while it closes (`return503OnClosing`), word for word. */
function answerClosing(res: ServerResponse): void {
  res.setHeader('Connection', 'close');
  res.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': '80' });
  res.end('{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}');
}

/** A thing built on first use: one build shared by whoever asks while it runs, made again after a failure. */
export interface Lazy<T> {
  /** The thing once built, else undefined (asking builds nothing). */
  readonly built: T | undefined;
  /** The thing, built now if it is not yet. */
  get(): Promise<T>;
  /** What the build under way (or done) gives; undefined when none was started or it failed. Starts nothing. */
  settled(): Promise<T | undefined>;
}

/**
 * What `build` makes, made on the first `get()`: callers asking at once share that build, and
 * a build that fails is made again by the next `get()`.
 *
 * @example
 * const admin = lazy(() => buildBehind(g, plugins, options, shared));
 * (await admin.get()).handler(req, res);
 */
export function lazy<T>(build: () => Promise<T>): Lazy<T> {
  let built: T | undefined;
  let building: Promise<T> | undefined;
  return {
    get built() {
      return built;
    },
    get: () =>
      (building ??= build().then(
        (thing) => (built = thing),
        (error: unknown) => {
          building = undefined;
          throw error;
        },
      )),
    settled: () => (building ? building.catch(() => undefined) : Promise.resolve(built)),
  };
}

/** A request handler (a framework's). */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FrontOptions extends BuildOptions {
  /** GET routes answered here, after the edge checks, by exact URL (the probes). */
  direct?: ReadonlyMap<string, DirectRoute>;
  /** The edge checks, shared with the framework's hooks once it is built. */
  edge: EdgeChecks;
}

/** The front server's state: whether it is closing (the framework's 503 for new requests from then on). */
export interface Front {
  server: Server;
  /** From now on, requests not already taken are answered 503 as the framework answers them while it closes. */
  closing(): void;
}

/**
 * The HTTP server of a server whose framework is built on first use: plain provider calls and
 * the `direct` routes are answered here; every other request waits for `framework` (shared by
 * requests arriving together) and is then its. A framework that cannot be built is a refusal in
 * the door's shape (500, or 503 when the store is down), and is tried again by the next request.
 */
export function frontServer(routes: ProviderRoutes, framework: Lazy<{ handler: Handler }>, options: FrontOptions): Front {
  const log = options.onError ?? stderrLog;
  let closing = false;
  const handOver = (req: IncomingMessage, res: ServerResponse) => {
    const ready = framework.built;
    if (ready) return ready.handler(req, res);
    if (closing) return answerClosing(res);
    framework.get().then(
      (built) => built.handler(req, res),
      (error: unknown) => refuseRaw(res, req.url ?? '', wireErrorOfThrown(error, { bodyBytesMax: gatewayLimits.bodyBytesMax, isStoreDown: (e) => e instanceof StoreUnavailableError, log })),
    );
  };
  const direct = new Map<string, DirectRoute>();
  for (const [path, route] of options.direct ?? []) direct.set(path, (req, res) => (closing ? answerClosing(res) : route(req, res)));
  const server = serveFastRoutes(routes.posts, handOver, { bodyBytesMax: gatewayLimits.bodyBytesMax, timeouts: boundTimeouts(options.connections), edge: options.edge.fast, direct });
  server.on('clientError', answerClientError(options.connections));
  return {
    server,
    closing: () => {
      closing = true;
    },
  };
}
