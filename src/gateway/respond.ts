import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { errorHeaders } from '../contract/errors.js';
import { firstEvent } from '../core/index.js';
import { StoreUnavailableError } from '../store/index.js';
import { errorBody, gatewayError, type GatewayError, type Provider } from './errors.js';

export type HeaderMap = Record<string, string | number>;

/** Sends a JSON answer unless the client already left. */
export function sendJson(res: ServerResponse, status: number, body: string | Record<string, unknown>, headers: HeaderMap = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Sends a refusal in the provider's error shape, with `retry-after` and the remaining amount when known. */
export function sendError(res: ServerResponse, provider: Provider, error: GatewayError, headers: HeaderMap = {}): void {
  sendJson(res, error.status, errorBody(provider, error), { ...headers, ...errorHeaders(error) });
}

/** Resolves when the response can take more data, or the client is gone. */
export async function drained(res: Writable): Promise<void> {
  await firstEvent(res, ['drain', 'close']);
}

/** Where a handler's unexpected errors are logged (default: a line on stderr). */
export type ErrorLog = (error: unknown) => void;

export const stderrLog: ErrorLog = (error) => process.stderr.write(`bursar gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);

/**
 * Runs a hijacked handler so that the client always gets an answer. Whatever the handler throws
 * becomes a refusal in the provider's shape: a store that cannot be reached is 503
 * `store_unavailable`, anything else a 500 `internal` whose cause is logged. When the answer
 * had already begun (a stream), the connection is closed instead, so the client never waits on
 * a reply that will not come.
 *
 * @example
 * app.get('/v1/models', async (req, reply) => {
 *   reply.hijack();
 *   await answering(reply.raw, 'openai', () => modelsRoute(g, req.headers, reply.raw), { log: stderrLog });
 * });
 */
export async function answering(res: ServerResponse, provider: Provider, work: () => Promise<void>, o: { log: ErrorLog; onRefused?: (e: GatewayError) => void }): Promise<void> {
  try {
    await work();
  } catch (error) {
    const e =
      error instanceof StoreUnavailableError
        ? gatewayError('store_unavailable', `the ledger cannot be reached; nothing was recorded or forwarded (${error.message})`)
        : gatewayError('internal', 'internal error; the server log has the details');
    if (e.code === 'internal') o.log(error);
    o.onRefused?.(e);
    if (res.headersSent) res.destroy();
    else sendError(res, provider, e);
  }
}
