import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { controlsFor, controlsSchema, defaultControls, type MockControls, type MockFault } from './controls.js';
import { limits } from './limits.js';
import { MockBill, type MockBillByModel } from './bill.js';
import { planCall } from './plan.js';
import { pause, sendAnswer, sendError, sendGarbage, sendModels, streamAnswer, untilAborted, type Cut, type Exchange } from './respond.js';
import { parseCall, routeByPath, type MockCall, type MockRoute, type Provider } from './requests.js';

/** Server-wide defaults for every control, plus where to listen. Headers override per request. */
export interface MockUpstreamOptions extends Partial<MockControls> {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; the loopback address by default. */
  host?: string;
  /** Delay between chunks under the `slow-stream` fault (unless `chunkDelayMs` is larger). */
  slowStreamDelayMs?: number;
  /** Model ids `GET /v1/models` lists. */
  models?: readonly string[];
  /**
   * Request log entries kept (oldest dropped first); 0 keeps none, for a mock nobody reads the log
   * of (the standalone process, the quick start's), whose latency then stays flat under load.
   */
  requestLogMax?: number;
  /** Clock for `created` timestamps. */
  now?: () => number;
}

/** How a request ended, as the mock saw it. */
export type MockOutcome = 'pending' | 'completed' | 'error' | 'client_closed' | 'truncated';

/** One line of the request log. The body itself is not kept (memory stays small). */
export interface MockRequestRecord {
  seq: number;
  method: string;
  path: string;
  provider: Provider;
  route: MockRoute | 'models' | undefined;
  model: string | undefined;
  stream: boolean;
  /** The `authorization` header as received (tests check which key reached the upstream). */
  authorization: string | undefined;
  /** The `x-api-key` header as received. */
  apiKey: string | undefined;
  /** Every request header, lower-cased, repeated values joined with ", ". */
  headers: Record<string, string>;
  fault: MockFault | null;
  status: number | undefined;
  promptTokens: number | undefined;
  cachedTokens: number | undefined;
  cacheWriteTokens: number | undefined;
  /** Output tokens per choice. */
  outputTokens: number | undefined;
  /** Content chunks actually written to a stream. */
  chunksSent: number;
  outcome: MockOutcome;
  /** True when the client went away before the answer was complete. */
  clientClosed: boolean;
  receivedAtMs: number;
  endedAtMs: number | undefined;
}

/** A running mock upstream. */
export interface MockUpstream {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`; the SDKs want `${url}/v1`. */
  url: string;
  port: number;
  host: string;
  /** The request log, oldest first, updated in place as requests progress. */
  requests: MockRequestRecord[];
  /** Requests not finished yet (open streams included). */
  inflight(): number;
  /** What this provider bills so far, by model, from what it actually produced. */
  bill(): MockBillByModel;
  /** Changes the default controls for calls from now on (invalid values throw). */
  configure(controls: Partial<MockControls>): void;
  /** Stops listening and cuts every open connection (hung `timeout` requests included). */
  close(): Promise<void>;
}

/**
 * What `GET /v1/models` lists unless the `models` option says otherwise.
 *
 * @example
 * startMockUpstream({ models: [...defaultMockModels, 'my-model'] });
 */
export const defaultMockModels: readonly string[] = [
  'gpt-5.6-sol',
  'gpt-5.6-terra',
  'gpt-5.6-luna',
  'gpt-4o-mini',
  'text-embedding-3-small',
  'claude-sonnet-5-5',
  'claude-haiku-4-5',
];

interface Context {
  controls: MockControls;
  slowStreamDelayMs: number;
  models: readonly string[];
  logMax: number;
  now: () => number;
  log: MockRequestRecord[];
  seq: number;
  inflight: number;
  bill: MockBill;
}

const optionsSchema = z.object({
  port: z.number().int().min(0).max(65_535).optional(),
  host: z.string().min(1).optional(),
  slowStreamDelayMs: z.number().int().min(0).max(limits.delayMsMax).optional(),
  requestLogMax: z.number().int().min(0).max(limits.requestLogMax).optional(),
});

function contextFor(options: MockUpstreamOptions): Context {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`mock upstream options: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const merged = { ...defaultControls };
  for (const key of Object.keys(defaultControls) as (keyof MockControls)[]) {
    if (options[key] !== undefined) Object.assign(merged, { [key]: options[key] });
  }
  const controls = controlsSchema.safeParse(merged);
  if (!controls.success) throw new Error(`mock upstream options: ${controls.error.issues[0]?.path.join('.')}: ${controls.error.issues[0]?.message}`);
  return {
    controls: controls.data,
    slowStreamDelayMs: options.slowStreamDelayMs ?? limits.slowStreamDelayMsDefault,
    models: options.models ?? defaultMockModels,
    logMax: options.requestLogMax ?? limits.requestLogMaxDefault,
    now: options.now ?? Date.now,
    log: [],
    seq: 0,
    inflight: 0,
    bill: new MockBill(),
  };
}

/**
 * Starts a fake OpenAI + Anthropic upstream speaking the real wire formats, for tests,
 * benchmarks and the offline demo. Options set defaults; `x-mock-latency-ms`, `x-mock-chunks`,
 * `x-mock-chunk-delay-ms`, `x-mock-output-tokens`, `x-mock-cached-tokens`,
 * `x-mock-cache-write-tokens` and `x-mock-fault` override them per request. Invalid options
 * throw (a programmer error); nothing a client sends can crash it.
 *
 * @example
 * const upstream = await startMockUpstream({ port: 0 });
 * const client = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'sk-test' });
 * await upstream.close();
 */
export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const ctx = contextFor(options);
  const server = createServer((req, res) => {
    handle(ctx, req, res).catch(() => {
      // A bug in the mock must not take the process down: answer 500 if still possible.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"mock upstream failed","type":"server_error","param":null,"code":null}}');
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    host,
    requests: ctx.log,
    inflight: () => ctx.inflight,
    bill: () => ctx.bill.snapshot(),
    configure: (controls) => {
      const parsed = controlsSchema.safeParse({ ...ctx.controls, ...controls });
      if (!parsed.success) throw new Error(`mock upstream controls: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
      ctx.controls = parsed.data;
    },
    close: () => closeServer(server),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function headerText(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
  return out;
}

function providerOf(path: string, headers: IncomingHttpHeaders): Provider {
  return path.startsWith('/v1/messages') || headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}

function record(ctx: Context, req: IncomingMessage, path: string, provider: Provider): MockRequestRecord {
  const headers = headerText(req.headers);
  const entry: MockRequestRecord = {
    seq: ++ctx.seq,
    method: req.method ?? 'GET',
    path,
    provider,
    route: undefined,
    model: undefined,
    stream: false,
    authorization: headers.authorization,
    apiKey: headers['x-api-key'],
    headers,
    fault: null,
    status: undefined,
    promptTokens: undefined,
    cachedTokens: undefined,
    cacheWriteTokens: undefined,
    outputTokens: undefined,
    chunksSent: 0,
    outcome: 'pending',
    clientClosed: false,
    receivedAtMs: ctx.now(),
    endedAtMs: undefined,
  };
  if (ctx.logMax > 0) {
    ctx.log.push(entry);
    if (ctx.log.length > ctx.logMax) ctx.log.splice(0, ctx.log.length - ctx.logMax);
  }
  return entry;
}

/** Tracks the exchange's end: who closed it, and when. */
function watch(ctx: Context, res: ServerResponse, entry: MockRequestRecord): AbortController {
  const abort = new AbortController();
  ctx.inflight += 1;
  res.on('close', () => {
    ctx.inflight -= 1;
    if (!res.writableFinished && entry.outcome === 'pending') {
      entry.clientClosed = true;
      entry.outcome = 'client_closed';
    }
    if (entry.status === undefined && res.headersSent) entry.status = res.statusCode;
    entry.endedAtMs = ctx.now();
    abort.abort();
  });
  res.on('finish', () => {
    entry.status = res.statusCode;
    if (entry.outcome === 'pending') entry.outcome = res.statusCode < 400 ? 'completed' : 'error';
  });
  return abort;
}

async function handle(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const provider = providerOf(path, req.headers);
  const entry = record(ctx, req, path, provider);
  const abort = watch(ctx, res, entry);
  const ex: Exchange = {
    res,
    provider,
    requestId: `req_mock${entry.seq}`,
    signal: abort.signal,
    onChunk: () => (entry.chunksSent += 1),
    onTruncate: () => Object.assign(entry, { outcome: 'truncated', status: 200 }),
  };
  const route = routeByPath.get(path);
  if (path === '/v1/models' && req.method === 'GET') {
    entry.route = 'models';
    return sendModels(ex, ctx.models, ctx.now());
  }
  if (route === undefined || req.method !== 'POST') {
    req.resume();
    const known = route !== undefined || path === '/v1/models';
    return sendError(ex, known ? 405 : 404, known ? `Method ${req.method ?? ''} not allowed on ${path}` : `Invalid URL (${req.method ?? ''} ${path})`);
  }
  entry.route = route;
  const call = await readCall(req, ex, route);
  if (!call) return;
  const controls = controlsFor(ctx.controls, req.headers);
  if (!controls.ok) return sendError(ex, 400, controls.message);
  Object.assign(entry, { model: call.model, stream: call.stream, fault: controls.controls.fault });
  await answer(ctx, ex, entry, call, controls.controls);
}

/** Reads and validates the body; answers 413 or 400 itself and returns undefined then. */
async function readCall(req: IncomingMessage, ex: Exchange, route: MockRoute): Promise<MockCall | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limits.bodyBytesMax) {
        sendError(ex, 413, `Request body is larger than ${limits.bodyBytesMax} bytes`);
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
  } catch {
    return undefined; // the client went away mid-body; the close handler logs it
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    sendError(ex, 400, 'We could not parse the JSON body of your request. Send valid JSON.');
    return undefined;
  }
  const parsed = parseCall(route, json);
  if (!parsed.ok) {
    sendError(ex, 400, parsed.message, parsed.message.split(':')[0] ?? null);
    return undefined;
  }
  return parsed.call;
}

/** The faults that cut an answer short, and how. */
const cuts: Partial<Record<string, Cut>> = { truncate: 'between-events', 'cut-mid-chunk': 'mid-event', stall: 'stall' };

async function answer(ctx: Context, ex: Exchange, entry: MockRequestRecord, call: MockCall, controls: MockControls): Promise<void> {
  if (!(await pause(controls.latencyMs, ex.signal))) return;
  if (controls.fault === '500') return sendError(ex, 500, 'The server had an error while processing your request. Sorry about that!');
  if (controls.fault === '429') return sendError(ex, 429, 'Rate limit reached for requests (mock upstream). Please try again in 1s.');
  if (controls.fault === 'timeout') return untilAborted(ex.signal);
  const plan = planCall(call, controls, entry.seq, ctx.now());
  Object.assign(entry, { promptTokens: plan.promptTokens, cachedTokens: plan.cachedTokens, cacheWriteTokens: plan.cacheWriteTokens, outputTokens: plan.outputTokens });
  const delayMs = controls.fault === 'slow-stream' ? Math.max(controls.chunkDelayMs, ctx.slowStreamDelayMs) : controls.chunkDelayMs;
  const mode = { cut: cuts[controls.fault ?? ''] ?? 'none', delayMs };
  const billed = ctx.bill.open(plan);
  if (controls.fault === 'garbage') {
    // The provider produced an answer; the wire lost it.
    billed.whole();
    await sendGarbage(ex, plan);
  } else if (call.stream && call.route !== 'embeddings') {
    ex.onChunk = () => billed.chunk((entry.chunksSent += 1));
    await streamAnswer(ex, plan, mode);
  } else if ((await sendAnswer(ex, plan, mode)) !== 'client_closed') {
    billed.whole();
  }
}
