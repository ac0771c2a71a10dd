import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody, errorHeaders, WireError, type ErrorShape } from '../contract/errors.js';

/*
 * What every request meets before its route, whichever door it knocks on (the provider routes,
 * the agent routes, the admin API, the dashboard): the limit on failed authentication per
 * source address, and CORS. Each works on the raw request and answer, so the framework's hooks
 * and the provider routes' direct path (`serveFastRoutes`) run the same code.
 */

/** How many failed authentications an address may make, and in what window. */
export interface AuthFailureLimit {
  /** Failures in one window after which the address is refused until the window ends. */
  failuresMax: number;
  windowMs: number;
  /** Addresses remembered at once (the oldest are forgotten first): memory stays bounded. */
  addressesMax: number;
}

interface Window {
  startMs: number;
  failures: number;
}

/**
 * The address an attempt is counted under: an IPv4 address as it is, an IPv6 address by its /64
 * network (one host is given a whole /64, so counting single addresses would not slow it down).
 *
 * @example
 * sourceKey('2001:db8::1') // '2001:db8:0:0::/64'
 * sourceKey('::ffff:10.0.0.1') // '10.0.0.1'
 */
export function sourceKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? front : [...front, ...new Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * Failed authentications per source address in fixed windows: once an address has failed
 * `failuresMax` times in a window, it is refused until that window ends, whatever it presents
 * (so a guess cannot be told right or wrong by its answer). Clock-injected; memory bounded.
 *
 * @example
 * const failures = new AuthFailures({ failuresMax: 20, windowMs: 60_000, addressesMax: 10_000 }, () => Date.now());
 * failures.fail('10.0.0.1');
 * failures.blockedForMs('10.0.0.1'); // 0 until the 20th failure of the window
 */
export class AuthFailures {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: AuthFailureLimit,
    private readonly now: () => number,
  ) {}

  /** How long the address must wait before it may try again; 0 when it may now. */
  blockedForMs(address: string): number {
    const key = sourceKey(address);
    const w = this.windows.get(key);
    if (!w) return 0;
    const leftMs = w.startMs + this.limit.windowMs - this.now();
    if (leftMs <= 0) {
      this.windows.delete(key);
      return 0;
    }
    return w.failures >= this.limit.failuresMax ? leftMs : 0;
  }

  /** Counts one failed authentication from the address. */
  fail(address: string): void {
    const key = sourceKey(address);
    const nowMs = this.now();
    const w = this.windows.get(key);
    if (w && nowMs - w.startMs < this.limit.windowMs) {
      w.failures += 1;
      return;
    }
    this.windows.delete(key);
    if (this.windows.size >= this.limit.addressesMax) {
      const oldest = this.windows.keys().next();
      if (!oldest.done) this.windows.delete(oldest.value);
    }
    this.windows.set(key, { startMs: nowMs, failures: 1 });
  }
}

/** The error shape of the door a URL belongs to. */
function shapeOf(url: string): ErrorShape {
  if (url.startsWith('/v1/messages')) return 'anthropic';
  return url.startsWith('/v1/') ? 'openai' : 'bursar';
}

function presentsCredential(headers: IncomingHttpHeaders): boolean {
  return headers.authorization !== undefined || headers['x-api-key'] !== undefined;
}

/**
 * Refuses a request before any route has it, in the shape of the door its URL belongs to.
 *
 * @example
 * refuse(reply, '/api/budgets/%', new WireError('bad_request', 'the URL is not valid'));
 */
export function refuse(reply: FastifyReply, url: string, e: WireError): FastifyReply {
  return reply.code(e.status).headers(errorHeaders(e)).header('cache-control', 'no-store').send(errorBody(shapeOf(url), e));
}

/**
 * The same refusal as `refuse`, written on the raw answer (for requests the framework never sees).
 *
 * @example
 * refuseRaw(res, '/v1/messages', new WireError('too_many_auth_failures', 'try again in 30 s', { retryAfterS: 30 }));
 */
export function refuseRaw(res: ServerResponse, url: string, e: WireError): void {
  const body = JSON.stringify(errorBody(shapeOf(url), e));
  res.writeHead(e.status, { ...errorHeaders(e), 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The refusal for a URL the router cannot read: a `%` that starts no escape, or a path
 * parameter longer than `pathParamCharsMax`.
 *
 * @example
 * badUrl('FST_ERR_BAD_URL', 100).message // 'the URL is not valid: …'
 */
export function badUrl(code: string | undefined, pathParamCharsMax: number): WireError {
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') return new WireError('bad_request', `a path parameter is longer than ${pathParamCharsMax} characters`);
  return new WireError('bad_request', 'the URL is not valid: a % must begin an escape like %2F (encode a budget path with encodeURIComponent)');
}

/** What a request meets before its route: a refusal to answer with, or undefined to go on (headers may have been set). */
export type EdgeCheck = (req: IncomingMessage, res: ServerResponse) => WireError | undefined;

/**
 * Counts every 401 answered to a request that presented a credential (an admin key or a spend
 * token, right or wrong) against its source address, and refuses requests presenting one from
 * an address past its limit with 429 `too_many_auth_failures` and `Retry-After`. Requests
 * without a credential pass (they cannot guess anything).
 *
 * @example
 * const check = authFailureCheck(new AuthFailures(limit, now));
 * check(req, res); // a WireError once the address has failed too often
 */
export function authFailureCheck(failures: AuthFailures): EdgeCheck {
  return (req, res) => {
    if (!presentsCredential(req.headers)) return undefined;
    const address = req.socket.remoteAddress ?? 'unknown';
    const waitMs = failures.blockedForMs(address);
    if (waitMs > 0) {
      const retryAfterS = Math.max(1, Math.ceil(waitMs / 1_000));
      return new WireError('too_many_auth_failures', `too many failed authentications from this address; try again in ${retryAfterS} s with a valid credential`, { retryAfterS });
    }
    res.once('finish', () => {
      if (res.statusCode === 401) failures.fail(address);
    });
    return undefined;
  };
}

/** Runs an edge check on every request the framework routes. */
export function checkAtEdge(app: FastifyInstance, check: EdgeCheck): void {
  app.addHook('onRequest', async (request, reply) => {
    const refusal = check(request.raw, reply.raw);
    if (refusal) return refuse(reply, request.url, refusal);
  });
}

/** Headers a browser client may read from an answer (the reservation, its cost, a refusal's code). */
const exposedHeaders = [
  'x-bursar-reservation',
  'x-bursar-request-id',
  'x-bursar-cost-micros',
  'x-bursar-remaining-micros',
  'x-bursar-code',
  'x-bursar-would-refuse',
  'x-bursar-dry-run',
  'retry-after',
  'request-id',
  'x-request-id',
].join(', ');

/** How long a browser may cache a preflight's answer. */
const preflightMaxAgeS = 600;

/**
 * Checks the origins CORS is opened to: each `*` or an origin (`https://app.example.com`, a
 * scheme, a host and an optional port; nothing after). Returns the message for the first that
 * is not one.
 *
 * @example
 * corsOriginProblem(['https://app.example.com', 'http://localhost:5173']) // undefined
 * corsOriginProblem(['app.example.com']) // 'app.example.com is not an origin (…)'
 */
export function corsOriginProblem(origins: readonly string[]): string | undefined {
  for (const origin of origins) {
    if (origin === '*') continue;
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin) return `${origin} is not an origin (like https://app.example.com or http://localhost:5173, without a path or a trailing slash) nor *`;
  }
  return undefined;
}

/**
 * Opens answers to browsers on the given origins (`*` for any): their requests get
 * `Access-Control-Allow-Origin` (the origin itself, with `Vary: Origin`) and the Bursar headers
 * exposed, set on the raw answer so that routes answering it themselves (the proxy, streams)
 * carry them too. Without origins nothing is added, and browsers on other sites cannot read any
 * answer. Returns whether the request's origin is allowed.
 *
 * @example
 * const cors = corsHeaders(['https://app.example.com']);
 * cors(req, res); // true, and the headers set, for a request from https://app.example.com
 */
export function corsHeaders(origins: readonly string[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req, res) => {
    const origin = req.headers.origin;
    if (origins.length === 0 || typeof origin !== 'string' || (!any && !allowed.has(origin))) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    res.setHeader('access-control-expose-headers', exposedHeaders);
    return true;
  };
}

/**
 * Opens the server to browsers on the given origins (`corsHeaders`), and answers their
 * preflights with a 204 allowing the methods and the headers asked for.
 */
export function allowCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const cors = corsHeaders(origins);
  app.addHook('onRequest', async (request, reply) => {
    if (!cors(request.raw, reply.raw)) return;
    const asked = request.headers['access-control-request-method'];
    if (request.method !== 'OPTIONS' || typeof asked !== 'string') return;
    const headers = request.headers['access-control-request-headers'];
    return reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST, PATCH, DELETE')
      .header('access-control-allow-headers', typeof headers === 'string' ? headers : 'authorization, content-type')
      .header('access-control-max-age', String(preflightMaxAgeS))
      .send();
  });
}
