import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, errorHeaders, WireError } from '../contract/errors.js';
import type { Store } from '../store/index.js';
import type { Metrics } from './metrics.js';

/*
 * The probes (`/healthz`, `/readyz`, `/metrics`): what they answer, for their routes in the
 * registry and for the server in front of the framework, which answers them before the admin
 * API is built (they are probed from the start; the rest of the API waits for its first use).
 */

/** Liveness: the process answers. */
export function liveness(): { ok: true; status: 'up' } {
  return { ok: true, status: 'up' };
}

/** Readiness: the store answers; else a `store_unavailable` refusal. */
export async function readiness(store: Pick<Store, 'ping' | 'kind'>): Promise<{ ok: true; status: 'ready'; store: Store['kind'] }> {
  try {
    await store.ping();
  } catch (error) {
    throw new WireError('store_unavailable', `the store does not answer: ${(error as Error).message}`);
  }
  return { ok: true, status: 'ready', store: store.kind };
}

/** Counts open event streams (GET /api/events) in `metrics`, read from `read` when scraped. */
export function gaugeEventStreams(metrics: Metrics, read: () => number): void {
  metrics.gauge('bursar_event_streams', 'Open event streams (GET /api/events).', read);
}

/** The content type of the metrics text (Prometheus exposition format 0.0.4). */
export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';

function answer(res: ServerResponse, status: number, headers: Record<string, string | number>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const json = 'application/json; charset=utf-8';

/**
 * The probes as `node:http` handlers, answering as their routes in the admin API do (the same
 * bodies, status codes and headers), each counted in `metrics` as that API counts its requests.
 *
 * @example
 * serveFastRoutes(routes, framework, { …, direct: probeRoutes(store, metrics) });
 */
export function probeRoutes(store: Pick<Store, 'ping' | 'kind'>, metrics: Metrics): Map<string, (req: IncomingMessage, res: ServerResponse) => void> {
  const counted = (path: string, work: (res: ServerResponse) => Promise<void> | void) => (_req: IncomingMessage, res: ServerResponse) => {
    res.once('finish', () => {
      const code = res.getHeader('x-bursar-code');
      metrics.observeApi(path, res.statusCode, typeof code === 'string' ? code : 'ok');
    });
    void work(res);
  };
  return new Map([
    ['/healthz', counted('/healthz', (res) => answer(res, 200, { 'content-type': json }, JSON.stringify(liveness())))],
    [
      '/readyz',
      counted('/readyz', (res) =>
        readiness(store).then(
          (ready) => answer(res, 200, { 'content-type': json }, JSON.stringify(ready)),
          (e: WireError) => answer(res, e.status, { ...errorHeaders(e), 'cache-control': 'no-store', 'content-type': json }, JSON.stringify(errorBody('bursar', e))),
        ),
      ),
    ],
    ['/metrics', counted('/metrics', (res) => answer(res, 200, { 'content-type': metricsContentType }, metrics.render()))],
  ]);
}
