import type { z } from 'zod';
import type { Labels } from '../core/index.js';
import { presentedSecret, wireErrorOf, type Failure } from '../contract/index.js';
import { authenticateToken, type Caller } from '../ops/index.js';
import type { ToolPrices } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import type { GatewayError } from './errors.js';
import type { Gateway } from './proxy.js';

/**
 * The agent routes' building blocks: how a route is declared (once, with the zod schemas its
 * inputs and answer have, so the OpenAPI document is generated from the same declarations),
 * who may call it, and how ledger refusals become OpenAI-shaped errors.
 */

/** What the agent routes work with: the gateway's store, clock and random source, and tool prices. */
export interface AgentDeps {
  gateway: Pick<Gateway, 'store' | 'now' | 'random'>;
  toolPrices: ToolPrices;
  /** Called with errors that become a 500 (default: a line on stderr). */
  onError(error: unknown): void;
}

/**
 * Who may call a route: `token` needs an active spend token; `token-resolve` also takes a token
 * that was revoked or has expired since (so what it reserved can still be settled or voided: the
 * money was spent); `public` needs nothing.
 */
export type AgentAuth = 'token' | 'token-resolve' | 'public';

/** The labels and retry key every agent route reads from headers. */
export interface AgentHeaderValues {
  session?: string;
  task?: string;
  idempotencyKey?: string;
}

/** What a handler gets: the caller, validated inputs and the dependencies. */
export interface AgentCall<B, P> {
  /** The calling token; undefined only on public routes. */
  caller: Caller;
  body: B;
  params: P;
  headers: AgentHeaderValues;
  deps: AgentDeps;
}

/** A route as the OpenAPI document describes it. */
export interface AgentRouteDoc {
  method: 'GET' | 'POST';
  /** OpenAPI-style path: `/v1/bursar/reservations/{id}/settle`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** Group in the OpenAPI document. */
  tag: string;
  auth: AgentAuth;
  params?: z.ZodObject;
  body?: z.ZodType;
  /** True when the route reads x-bursar-session, x-bursar-task and Idempotency-Key. */
  labelHeaders?: boolean;
  response: { status: 200 | 201; description: string; schema: z.ZodType };
  /** Error statuses the route can answer with, besides 400 (bad input) and 503 (store down). */
  errors: readonly number[];
}

export interface AgentRouteDef<B extends z.ZodType, P extends z.ZodType, R extends z.ZodType> extends AgentRouteDoc {
  params?: P & z.ZodObject;
  body?: B;
  response: { status: 200 | 201; description: string; schema: R };
  handler(call: AgentCall<z.output<B>, z.output<P>>): Promise<z.input<R> | GatewayError>;
}

/** A declared route with its types erased, as the route list holds it. */
export type AgentRoute = AgentRouteDef<z.ZodType, z.ZodType, z.ZodType>;

/**
 * Declares an agent route. Types flow from the schemas to the handler's inputs and answer.
 *
 * @example
 * const voidIt = agentRoute({ method: 'POST', path: '/v1/bursar/reservations/{id}/void', operationId: 'voidTool', summary: 'Release a reservation',
 *   tag: 'tool spend', auth: 'token-resolve', params: ReservationParams, errors: [401, 404], response: { status: 200, description: 'voided', schema: VoidJson },
 *   handler: async ({ caller, params, deps }) => … });
 */
export function agentRoute<B extends z.ZodType = z.ZodUndefined, P extends z.ZodType = z.ZodObject, R extends z.ZodType = z.ZodType>(def: AgentRouteDef<B, P, R>): AgentRoute {
  // Input types are erased here (a method is checked bivariantly); the pipeline passes each
  // handler exactly what the route's own schemas produced.
  return def;
}

/** The ledger actor recorded for what a token does through these routes. */
export function actorOf(caller: Caller): string {
  return `token:${caller.token.id}`;
}

/** Session and task labels: the body's `labels` first, else the x-bursar-session / x-bursar-task headers. */
export function sessionLabels(labels: { session?: string; task?: string } | undefined, headers: AgentHeaderValues): Labels {
  const out: Labels = {};
  const session = labels?.session ?? headers.session;
  const task = labels?.task ?? headers.task;
  if (session !== undefined) out.session = session;
  if (task !== undefined) out.task = task;
  return out;
}

/**
 * A ledger refusal as an OpenAI-shaped error, its field named as the route's input names it
 * (renamed by `fields`, else in snake_case).
 *
 * @example
 * refusalError({ ok: false, code: 'policy_widens', message: '…', field: 'limitMicros' }, { limitMicros: 'max_spend_micros' }).param // 'max_spend_micros'
 */
export function refusalError(refusal: Failure, fields: Record<string, string> = {}): GatewayError {
  return wireErrorOf(refusal, fields);
}

/**
 * The calling token for a route's `auth`. `token-resolve` resolves a revoked or expired token
 * too (a valid secret is still required); `token` refuses those with their codes.
 *
 * @example
 * const caller = await callerFor('token', store, req.headers, Date.now());
 */
export async function callerFor(auth: Exclude<AgentAuth, 'public'>, store: Store, headers: Record<string, string | string[] | undefined>, nowMs: number): Promise<Caller | GatewayError> {
  const caller = await authenticateToken(store, presentedSecret(headers), nowMs, auth === 'token' ? 'active' : 'resolve');
  return 'ok' in caller ? wireErrorOf(caller) : caller;
}
