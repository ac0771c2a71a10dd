import type { z } from 'zod';
import type { ActivityResponse } from '../../src/api/routes/dashboard.js';
import type { BudgetJsonValue, LedgerEntryJsonValue, ReservationJson, SessionJson, TokenJson, TreeNodeValue } from '../../src/contract/schemas.js';

/** The admin API's JSON shapes, as the server declares them (types only; nothing is bundled). */
export type Budget = BudgetJsonValue;
export type TreeNode = TreeNodeValue;
export type Entry = LedgerEntryJsonValue;
export type Session = z.output<typeof SessionJson>;
export type Token = z.output<typeof TokenJson>;
export type Reservation = z.output<typeof ReservationJson>;
export type Activity = z.output<typeof ActivityResponse>;
export type AgentActivity = Activity['agents'][number];
export type Role = 'admin' | 'viewer';

/** A refusal from the API, with its stable code and the field it names. */
export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The most one request waits before it is reported as failed. */
const requestTimeoutMs = 20_000;

export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PATCH', path: string, body?: unknown): Promise<T>;
  /** A response as a file (CSV), for a download. */
  blob(path: string, accept: string): Promise<Blob>;
}

async function failureOf(res: Response): Promise<ApiFailure> {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  let field: string | undefined;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; field?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
    field = body.error?.field;
  } catch {
    // Not the API's error shape (a proxy's page): keep the status line.
  }
  return new ApiFailure(res.status, code, message, field);
}

/**
 * A client for the admin API that sends `key` as a bearer header on every request (the key is
 * never put in a URL). `onUnauthorized` runs when the server stops accepting the key.
 *
 * @example
 * const api = apiClient(key, () => signOut());
 * const { budgets } = await api.get<{ budgets: Budget[] }>('/api/budgets');
 */
export function apiClient(key: string, onUnauthorized: (failure: ApiFailure) => void): Api {
  async function request(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(requestTimeoutMs), cache: 'no-store' });
    } catch (error) {
      throw new ApiFailure(0, 'server_unreachable', `the server did not answer (${(error as Error).message})`);
    }
    if (res.ok) return res;
    const failure = await failureOf(res);
    if (res.status === 401) onUnauthorized(failure);
    throw failure;
  }
  return {
    get: async <T>(path: string) => (await (await request('GET', path, undefined, 'application/json')).json()) as T,
    send: async <T>(method: 'POST' | 'PATCH', path: string, body?: unknown) => (await (await request(method, path, body, 'application/json')).json()) as T,
    blob: async (path: string, accept: string) => (await request('GET', path, undefined, accept)).blob(),
  };
}

/**
 * A budget path as one URL segment, as the API wants it.
 *
 * @example
 * budgetUrl('acme/research') // '/api/budgets/acme%2Fresearch'
 */
export function budgetUrl(path: string, action?: string): string {
  return `/api/budgets/${encodeURIComponent(path)}${action ? `/${action}` : ''}`;
}

/**
 * The role a key has, or the failure that refused it.
 *
 * @example
 * const { role } = await whoAmI(key);
 */
export async function whoAmI(key: string): Promise<{ role: Role; key_id: string }> {
  return apiClient(key, () => undefined).get('/api/me');
}
