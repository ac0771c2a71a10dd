import type { ServerResponse } from 'node:http';
import { errorBody, type GatewayError, type Provider } from './errors.js';

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
  const extra: HeaderMap = { 'x-bursar-code': error.code, ...headers };
  if (error.remainingMicros !== undefined && error.remainingMicros !== null) extra['x-bursar-remaining-micros'] = error.remainingMicros;
  if (error.retryAfterS !== undefined) extra['retry-after'] = error.retryAfterS;
  sendJson(res, error.status, errorBody(provider, error), extra);
}

/** Resolves when the response can take more data, or the client is gone. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
