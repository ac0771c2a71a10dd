import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { refuseRaw, type EdgeCheck } from './edge.js';

/** A provider route's handler, given the request's headers and its whole body. */
export type RawRoute = (headers: IncomingHttpHeaders, body: Buffer, res: ServerResponse) => Promise<void>;

/** A GET route answered on `node:http` directly (it answers every failure itself). */
export type DirectRoute = (req: IncomingMessage, res: ServerResponse) => void;

/** Server settings the framework would have applied to a server it created itself. */
export interface ServerTimeouts {
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
  /** `node:http` server options (headers timeout, its checking interval, largest head). */
  http?: ServerOptions;
}

export interface FastRouteOptions {
  bodyBytesMax: number;
  timeouts: ServerTimeouts;
  /** What each request meets before its route, in the order the framework's hooks run them (see `edge.ts`). */
  edge?: readonly EdgeCheck[];
  /** GET routes answered directly, after the edge checks, by exact URL (no query string). */
  direct?: ReadonlyMap<string, DirectRoute>;
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const end = contentType.indexOf(';');
  return (end === -1 ? contentType : contentType.slice(0, end)).trim().toLowerCase() === 'application/json';
}

/**
 * The plain case of a provider call: a POST to a route's exact path with a JSON body whose
 * length is declared, non-zero and within `bodyBytesMax`. Anything else (a query string,
 * another content type, a chunked or oversized body, `expect: 100-continue`) goes to the
 * framework, which answers it as it always has.
 */
function plainCall(req: IncomingMessage, bodyBytesMax: number): number | undefined {
  if (req.method !== 'POST' || !isJson(req.headers['content-type'])) return undefined;
  if (req.headers['transfer-encoding'] !== undefined || req.headers.expect !== undefined) return undefined;
  const length = Number(req.headers['content-length']);
  return Number.isSafeInteger(length) && length > 0 && length <= bodyBytesMax ? length : undefined;
}

/** Reads a body of the declared length; a client that sends more, or leaves, gets nothing. */
function readBody(req: IncomingMessage, length: number, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > length) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (size === length) done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
}

/** The first refusal of the edge checks, each run in turn (they may set headers on the answer). */
function edgeRefusal(checks: readonly EdgeCheck[], req: IncomingMessage, res: ServerResponse): ReturnType<EdgeCheck> {
  for (const check of checks) {
    const refusal = check(req, res);
    if (refusal) return refusal;
  }
  return undefined;
}

/**
 * The HTTP server in front of the framework: the provider routes' plain calls go straight to
 * their handlers on `node:http` (the same handlers the framework's routes call), after the same
 * edge checks the framework's hooks run (the failed-authentication limit, CORS), which spares
 * each call the framework's routing, hooks and body parsing; every other request is the
 * framework's. Built as the framework's server factory, so listening, closing, connection
 * tracking and the answers to malformed or slow requests (408) stay the framework's.
 *
 * @example
 * Fastify({ serverFactory: (handler, options) => serveFastRoutes(routes, handler, { bodyBytesMax, timeouts: options }) });
 */
export function serveFastRoutes(routes: ReadonlyMap<string, RawRoute>, framework: (req: IncomingMessage, res: ServerResponse) => void, options: FastRouteOptions): Server {
  const { bodyBytesMax, timeouts, edge = [], direct } = options;
  const server = createServer(timeouts.http ?? {}, (req, res) => {
    const get = direct !== undefined && req.method === 'GET' ? direct.get(req.url ?? '') : undefined;
    if (get !== undefined) {
      const refusal = edgeRefusal(edge, req, res);
      return refusal ? refuseRaw(res, req.url ?? '', refusal) : get(req, res);
    }
    const route = routes.get(req.url ?? '');
    const length = route && plainCall(req, bodyBytesMax);
    if (route === undefined || length === undefined) return framework(req, res);
    const refusal = edgeRefusal(edge, req, res);
    if (refusal) return refuseRaw(res, req.url ?? '', refusal);
    // The route answers every failure itself (see `answering`); should that fail too, the
    // connection is closed rather than left waiting.
    readBody(req, length, (body) => {
      route(req.headers, body, res).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = timeouts.keepAliveTimeout;
  server.requestTimeout = timeouts.requestTimeout;
  server.setTimeout(timeouts.connectionTimeout);
  return server;
}
