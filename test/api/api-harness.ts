import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { adminApi, agentApi, Metrics } from '../../src/api/index.js';
import { buildServer, createGateway, Upstream, type Gateway } from '../../src/gateway/index.js';
import { RefusalRecorder } from '../../src/ops/index.js';
import { bundledCatalog } from '../../src/pricing/index.js';
import { openSqliteStore, type Clock, type Store } from '../../src/store/index.js';

/** Helpers for the admin API tests: a real server on 127.0.0.1 over a real SQLite file. */

export const adminKey = 'test-admin-key-0123456789';
export const viewerKey = 'test-viewer-key-0123456789';
export const spendTokenLike = 'bsr_ABCDEFGHIJKLMNOPQRSTUVWX';


export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, as the caller expects it (the server checks every body against its schema). */
  json: T;
}

/** The error body every refusal has. */
export interface ErrorAnswer {
  error: { code: string; message: string; field?: string; budget?: string; remaining_micros?: number | null };
}

export interface ApiServer {
  url: string;
  dir: string;
  db: string;
  store: Store;
  metrics: Metrics;
  app: FastifyInstance;
  /** Calls the server; `key` defaults to the admin key, null sends no Authorization. */
  call<T = ErrorAnswer>(method: string, path: string, options?: CallOptions): Promise<Answer<T>>;
  close(): Promise<void>;
}

export interface CallOptions {
  body?: unknown;
  /** Default the admin key; null sends no Authorization header. */
  key?: string | null;
  headers?: Record<string, string>;
  /** A raw body sent as is (with the headers given). */
  raw?: string;
}

export interface StartOptions {
  clock?: Clock;
  heartbeatMs?: number;
  /** Reuse an existing database file. */
  db?: string;
}

/** Starts the gateway server with the admin API and agent route plugins on port 0. */
export async function startApi(options: StartOptions = {}): Promise<ApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-api-'));
  const db = options.db ?? join(dir, 'bursar.db');
  const store = openSqliteStore({ path: db, clock: options.clock });
  const upstream = new Upstream({ openaiBaseUrl: 'http://127.0.0.1:9/v1', anthropicBaseUrl: 'http://127.0.0.1:9', openaiApiKey: undefined, anthropicApiKey: undefined, timeoutMs: 1_000 });
  const metrics = new Metrics();
  // One recorder for every door, as startServer wires it.
  const refusals = new RefusalRecorder({ store, now: () => store.now() });
  const gateway: Gateway = createGateway({ store, pricing: bundledCatalog(), upstream, mode: 'enforce', now: () => store.now(), random: (n) => randomBytes(n), refusals, onCall: (o) => metrics.observeCall(o) });
  const app = await buildServer(gateway, [adminApi({ store, keys: { admin: [adminKey], viewer: [viewerKey] }, metrics, checkResponses: true, heartbeatMs: options.heartbeatMs, refusals }), agentApi({ store, metrics, checkResponses: true, refusals })]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    dir,
    db,
    store,
    metrics,
    app,
    call: async <T>(method: string, path: string, o: CallOptions = {}): Promise<Answer<T>> => {
      const headers: Record<string, string> = { ...o.headers };
      const key = o.key === undefined ? adminKey : o.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json: json as T };
    },
    close: async () => {
      await app.close();
      await refusals.close();
      await upstream.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
