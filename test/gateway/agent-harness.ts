import { randomBytes } from 'node:crypto';
import { newSpendToken } from '../../src/core/index.js';
import type { Store } from '../../src/store/index.js';

/** Helpers for the agent-route tests: tokens with scopes, and calls with a spend token. */

export interface Minted {
  id: string;
  secret: string;
  envelope: string;
}

export interface MintSpec {
  /** Budget to mint under (default the harness agent); ignored with `parent`. */
  path?: string;
  parent?: string;
  limitMicros?: number | null;
  scopes?: string[];
  expiresMs?: number | null;
  models?: string[];
  inflightMax?: number;
  requestCapMicros?: number;
}

/** Mints a token straight on the store (as an admin would), with whatever scopes the test needs. */
export async function mintToken(store: Store, spec: MintSpec = {}): Promise<Minted> {
  const t = newSpendToken((n) => randomBytes(n));
  const made = await store.mintToken({
    path: spec.parent === undefined ? (spec.path ?? 'acme/research/bot') : undefined,
    parentTokenId: spec.parent,
    tokenId: t.id,
    hash: t.hash,
    limitMicros: spec.limitMicros === undefined ? 1_000_000 : spec.limitMicros,
    scopes: spec.scopes ?? [],
    expiresMs: spec.expiresMs === undefined ? store.now() + 3_600_000 : spec.expiresMs,
    models: spec.models,
    inflightMax: spec.inflightMax,
    requestCapMicros: spec.requestCapMicros,
  });
  if (!made.ok) throw new Error(`mint refused: ${made.code} ${made.message}`);
  return { id: t.id, secret: t.secret, envelope: made.envelope.path };
}

export interface AgentAnswer<T = ErrorJson> {
  status: number;
  headers: Headers;
  json: T;
}

/** The OpenAI-shaped error of every agent route. */
export interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string; budget: string | null; remaining_micros: number | null };
}

export interface AgentCallOptions {
  /** The spend token's secret; null sends none. */
  token: string | null;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

/** Calls an agent route on a running server. */
export async function agentCall<T = ErrorJson>(url: string, method: string, path: string, o: AgentCallOptions): Promise<AgentAnswer<T>> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== null) headers.authorization = `Bearer ${o.token}`;
  let body = o.raw;
  if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url + path, { method, headers, body });
  return { status: res.status, headers: res.headers, json: (await res.json()) as T };
}
