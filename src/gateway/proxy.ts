import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { base62, chainCap, formatUsd, limits as coreLimits, type RandomBytes, type Refusal, type ReserveOk } from '../core/index.js';
import { parseJsonText } from '../contract/json.js';
import { labelPattern, labelRule } from '../contract/labels.js';
import type { RefusalNotice } from '../ops/index.js';
import type { Store } from '../store/index.js';
import { callFingerprint } from '../ops/fingerprint.js';
import { authenticate, type Caller } from './auth.js';
import { fromRefusal, gatewayError, isGatewayError, type GatewayError, type Provider } from './errors.js';
import { resolveModel, type PriceCatalog } from '../pricing/catalog.js';
import { worstCaseMicros } from '../pricing/cost.js';
import { didYouMean } from '../suggest.js';
import { estimateCall, settleUsage, usageCost, type Estimate, type PricedModel } from './estimate.js';
import { gatewayLimits } from './limits.js';
import type { CallUsage, ParsedCall, ReportedUsage, RouteAdapter } from './providers/adapter.js';
import { sendError, sendJson, type HeaderMap } from './respond.js';
import { pipeEvents } from './relay.js';
import { upstreamFailure, UpstreamCall, type Upstream } from './upstream.js';
import { CallTracker } from './drain.js';
import { Resolver, type DeferredEvent } from './settlements.js';
import { callTags, routeOptions, type RouteOption } from './routing.js';

export type GatewayMode = 'enforce' | 'shadow' | 'dry-run';

/** What happened to one call, for metrics, logs and traces. */
export interface CallOutcome {
  route: string;
  status: number;
  code: string;
  model?: string;
  costMicros?: number;
  reserveMs?: number;
  upstreamMs?: number;
  provider?: Provider;
  /** The budget the call reserved on (its token's envelope), or the budget that refused it. */
  budget?: string;
  /** Set once the call was admitted: a call without one was refused before it was forwarded. */
  reservationId?: string;
  /** What the call was settled at. */
  tokensIn?: number;
  tokensOut?: number;
  session?: string;
  task?: string;
  /** When the call arrived and when it ended, on the gateway's clock. */
  startedMs?: number;
  endedMs?: number;
}

/** Something an operator should know about that is not a refusal: logged by the server. */
export interface GatewayNotice {
  event: 'usage_anomaly';
  reservationId: string;
  model: string;
  message: string;
}

export interface Gateway {
  store: Store;
  pricing: PriceCatalog;
  upstream: Upstream;
  mode: GatewayMode;
  now(): number;
  random: RandomBytes;
  /** Writes settlements and voids, retrying those the store cannot take at once. */
  resolver: Resolver;
  /** Calls in flight, for a graceful stop. */
  calls: CallTracker;
  /** Where refused calls are recorded (`RefusalRecorder`). */
  refusals?: { record(notice: RefusalNotice): void };
  onCall?(outcome: CallOutcome): void;
  onNotice?(notice: GatewayNotice): void;
}

/**
 * A gateway over a store: the given parts plus the resolver that writes settlements (retrying
 * through store outages) and the tracker of calls in flight.
 *
 * @example
 * const g = createGateway({ store, pricing, upstream, mode: 'enforce', now: () => store.now(), random });
 */
export function createGateway(parts: Omit<Gateway, 'resolver' | 'calls'>, onDeferred?: (event: DeferredEvent) => void): Gateway {
  return { ...parts, resolver: new Resolver(parts.store, { now: parts.now, onEvent: onDeferred }), calls: new CallTracker() };
}

/** What is known about a call while it is being admitted: what a refusal is recorded with. */
interface Attempt {
  requestId: string;
  caller?: Caller;
  model?: string;
  amountMicros?: number;
}

/** Everything known about a call once it is admitted. */
interface Admitted {
  adapter: RouteAdapter;
  caller: Caller;
  body: Record<string, unknown>;
  call: ParsedCall;
  price: PricedModel;
  estimate: Estimate;
  reservation: ReserveOk;
  requestId: string;
  headers: HeaderMap;
  startedMs: number;
  /** How long the reservation took (group commit included). */
  reserveMs: number;
  session: string | undefined;
  task: string | undefined;
  /** The usage the call was settled at, once it is. */
  usage?: CallUsage;
}


function label(headers: IncomingHttpHeaders, name: string): string | undefined | GatewayError {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !labelPattern.test(value)) return gatewayError('bad_request', `header ${name} must be ${labelRule}`, { param: name });
  return value;
}

function parseBody(raw: Buffer): Record<string, unknown> | GatewayError {
  let body: unknown;
  try {
    body = parseJsonText(raw.toString('utf8'));
  } catch (error) {
    return isGatewayError(error) ? error : gatewayError('bad_request', 'the request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return gatewayError('bad_request', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** The model's catalog entry, if this route serves it. `suggest`: name the nearest priced ids when it has none (the model a call asked for). */
function priceFor(g: Gateway, adapter: RouteAdapter, requested: string, suggest = true): PricedModel | GatewayError {
  const resolved = resolveModel(requested, g.pricing);
  if (!resolved.ok && !suggest) return gatewayError('model_unpriced', `model ${requested} has no price in the catalog`, { param: 'model' });
  if (!resolved.ok) {
    const suggestion = didYouMean(requested, [...g.pricing.models.keys(), ...g.pricing.aliases.keys()]);
    const listing = suggestion === '' ? '; see `bursar pricing list`' : `${suggestion} (\`bursar pricing list\` lists every priced model)`;
    return gatewayError('model_unpriced', `model ${requested} has no price in the catalog, so its cost cannot be bounded${listing}`, { param: 'model' });
  }
  const { entry, model } = resolved;
  if (entry.provider !== adapter.provider) return gatewayError('bad_request', `model ${requested} is served by ${entry.provider}; call ${entry.provider === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}`, { param: 'model' });
  if ((entry.kind === 'embedding') !== adapter.embeddings) return gatewayError('bad_request', `model ${requested} is ${entry.kind === 'embedding' ? 'an embedding' : 'not an embedding'} model`, { param: 'model' });
  return { model, entry };
}

/** How long a call's hold lasts: the upstream timeout plus as much again, within bounds. */
export function reservationTtlMs(upstreamTimeoutMs: number): number {
  return upstreamTimeoutMs + Math.min(gatewayLimits.reservationTtlMarginMsMax, Math.max(gatewayLimits.reservationTtlMarginMsMin, upstreamTimeoutMs));
}

/**
 * A budget refusal of a call that set no output cap: the default cap may be most of what was
 * reserved, so the message says how much and what to set.
 */
function withOutputHint(refusal: Refusal, call: ParsedCall, price: PricedModel, estimate: Estimate): Refusal {
  if (call.maxOutputTokens !== undefined || (refusal.code !== 'budget_exceeded' && refusal.code !== 'request_cost_cap') || estimate.maxOutputTokens === 0) return refusal;
  const outputMicros = worstCaseMicros(price.entry, { inputTokens: 0, maxOutputTokens: estimate.maxOutputTokens * call.choices, cacheWrite: false });
  if (outputMicros * 2 < estimate.amountMicros) return refusal;
  const hint = ` The request set no max_tokens, so ${estimate.maxOutputTokens} output tokens (${formatUsd(outputMicros)}) were reserved for the answer; set max_tokens to what the call needs (or a lower maxOutputTokens in the budget's policy).`;
  return { ...refusal, message: refusal.message + hint };
}

/** Validates, prices and reserves a call, noting in `attempt` what it learns. Returns what was admitted, or the refusal to send. */
async function admit(g: Gateway, adapter: RouteAdapter, headers: IncomingHttpHeaders, raw: Buffer, attempt: Attempt): Promise<Admitted | GatewayError> {
  const startedMs = g.now();
  const caller = await authenticate(g.store, headers, startedMs);
  if (isGatewayError(caller)) return caller;
  attempt.caller = caller;
  const session = label(headers, 'x-bursar-session');
  const task = label(headers, 'x-bursar-task');
  const tags = callTags(headers);
  if (isGatewayError(session)) return session;
  if (isGatewayError(task)) return task;
  if (isGatewayError(tags)) return tags;
  const body = parseBody(raw);
  if (isGatewayError(body)) return body;
  const call = adapter.parse(body);
  if (isGatewayError(call)) return call;
  attempt.model = call.model;
  const price = priceFor(g, adapter, call.model);
  if (isGatewayError(price)) return price;
  attempt.model = price.model;
  // The chain's policy sets the output cap of a request that sets none, and says where the call may be routed.
  const leafFirst = await g.store.chainPolicies(caller.envelope);
  const maxOutputTokens = chainCap(leafFirst, 'maxOutputTokens');
  const estimate = estimateCall(adapter, body, price, call, maxOutputTokens);
  if (isGatewayError(estimate)) return estimate;
  attempt.amountMicros = estimate.amountMicros;
  const routes = routeOptions((model) => priceFor(g, adapter, model, false), adapter, body, call, { leafFirst, maxOutputTokens }, { price, estimate });
  const requestId = attempt.requestId;
  const reserveStartedMs = performance.now();
  const result = await g.store.reserve({
    path: caller.envelope,
    amountMicros: estimate.amountMicros,
    ttlMs: reservationTtlMs(g.upstream.config.timeoutMs),
    labels: { model: price.model, session, task, requestId, tokenId: caller.token.id },
    // The same request over and over trips the budget's loop limit.
    fingerprint: callFingerprint(price.model, body),
    enforce: g.mode !== 'shadow',
    // The call is forwarded next: if its settlement never arrives, the provider may have billed it all.
    onExpiry: 'charge',
    tags,
    provider: price.entry.provider,
    modelAmounts: routes?.amounts,
  });
  const reserveMs = performance.now() - reserveStartedMs;
  if (!result.ok) return fromRefusal(withOutputHint(result, call, price, estimate));
  const out: HeaderMap = { 'x-bursar-reservation': result.reservation.id, 'x-bursar-request-id': requestId };
  // Never negative: in shadow mode a call may be admitted past the limit.
  if (result.remainingMicros !== null) out['x-bursar-remaining-micros'] = Math.max(0, result.remainingMicros);
  if (result.wouldRefuse) out['x-bursar-would-refuse'] = result.wouldRefuse.code;
  const admitted: Admitted = { adapter, caller, body, call, price, estimate, reservation: result, requestId, headers: out, startedMs, reserveMs, session, task };
  const routed = result.downgradedFrom === undefined ? undefined : routes?.options.get(result.reservation.labels.model ?? '');
  return routed ? rerouted(admitted, routed, result) : admitted;
}

/** An admitted call the ledger sent to another model: forwarded, estimated and priced as that model. */
function rerouted(a: Admitted, to: RouteOption, result: ReserveOk): Admitted {
  const model = result.reservation.labels.model ?? to.price.model;
  const headers: HeaderMap = { ...a.headers, 'x-bursar-downgraded-from': result.downgradedFrom ?? '', 'x-bursar-route': result.route ?? '' };
  return { ...a, body: { ...a.body, model }, call: { ...a.call, model }, price: to.price, estimate: to.estimate, headers };
}

/** What a call is settled at: its usage and cost, or the hold when the usage cannot be believed. */
interface Priced {
  usage: CallUsage;
  costMicros: number;
  /** Why the reported usage was not used. */
  anomaly?: string;
}

const usageFields = ['inputTokens', 'outputTokens', 'cachedTokens', 'cacheWriteTokens', 'cacheWrite1hTokens'] as const satisfies readonly (keyof CallUsage)[];

function plausible(tokens: number): boolean {
  return Number.isSafeInteger(tokens) && tokens >= 0 && tokens <= coreLimits.tokensPerRequestMax;
}

/** The hold as a settlement: the worst case the call was admitted for. */
function held(a: Admitted): Priced {
  const usage = { inputTokens: a.estimate.inputTokens, outputTokens: a.estimate.maxOutputTokens * a.call.choices, cachedTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 };
  return { usage, costMicros: a.estimate.amountMicros };
}

/**
 * Prices what the provider reported (completed from the estimate and the streamed text). Usage
 * is input from outside: counts beyond any possible request are not priced but settled at the
 * reservation, the worst case the call was admitted for, and reported; a count that is not a
 * whole number from 0 is not believed (the estimate and the text stand in) and reported.
 */
function priceCall(a: Admitted, reported: ReportedUsage | undefined, outputText: string): Priced {
  const usage = settleUsage(a.price, a.estimate, reported, outputText);
  const bad = usageFields.find((field) => !plausible(usage[field]));
  if (bad !== undefined) {
    return { ...held(a), anomaly: `the provider reported ${bad} ${usage[bad]}, beyond any request (at most ${coreLimits.tokensPerRequestMax}); settled at the reservation` };
  }
  const priced = { usage, costMicros: usageCost(a.price, usage) };
  if (reported?.invalid === undefined) return priced;
  return { ...priced, anomaly: `the provider reported ${reported.invalid}, which is not a token count; priced from the estimate and the answer's text instead` };
}

/**
 * Settles the call at its priced cost. A store that cannot take it now gets it later: the
 * resolver retries until it is written (see `Resolver`), so the answer never waits on an outage.
 */
async function settle(g: Gateway, a: Admitted, priced: Priced, reason?: string): Promise<number> {
  const { usage, costMicros, anomaly } = priced;
  a.usage = usage;
  if (anomaly !== undefined) g.onNotice?.({ event: 'usage_anomaly', reservationId: a.reservation.reservation.id, model: a.price.model, message: anomaly });
  const input = {
    reservationId: a.reservation.reservation.id,
    actualMicros: costMicros,
    usage: { model: a.price.model, tokensIn: usage.inputTokens, tokensOut: usage.outputTokens, tokensCached: usage.cachedTokens, tokensCacheWrite: usage.cacheWriteTokens + usage.cacheWrite1hTokens },
    reason: anomaly ?? reason,
  };
  await g.resolver.resolve({ kind: 'settle', input });
  return costMicros;
}

/** Voids the call's reservation: nothing was billed. Retried like a settlement when the store is down. */
async function voidCall(g: Gateway, a: Admitted, reason: string): Promise<void> {
  await g.resolver.resolve({ kind: 'void', input: { reservationId: a.reservation.reservation.id, reason } });
}

function afterCost(a: Admitted, costMicros: number): HeaderMap {
  const headers: HeaderMap = { ...a.headers, 'x-bursar-cost-micros': costMicros };
  const remaining = a.reservation.remainingMicros;
  if (remaining !== null) headers['x-bursar-remaining-micros'] = Math.max(0, remaining + a.estimate.amountMicros - costMicros);
  return headers;
}

/** Hands a refusal to the recorder with what the attempt learnt (it keeps only spend refusals). */
function recordRefusal(g: Gateway, route: string, e: GatewayError, a: Attempt): void {
  g.refusals?.record({ code: e.code, message: e.message, route, budget: e.budget, spendOn: a.caller?.envelope, tokenId: a.caller?.token.id, model: a.model, amountMicros: a.amountMicros, requestId: a.requestId });
}

function report(g: Gateway, a: Admitted, route: string, status: number, code: string, costMicros?: number, upstreamMs?: number): void {
  const facts = { provider: a.adapter.provider, budget: a.caller.envelope, reservationId: a.reservation.reservation.id, session: a.session, task: a.task, startedMs: a.startedMs, endedMs: g.now() };
  g.onCall?.({ route, status, code, model: a.price.model, costMicros, upstreamMs, reserveMs: a.reserveMs, tokensIn: a.usage?.inputTokens, tokensOut: a.usage?.outputTokens, ...facts });
}

/**
 * One proxied call: admit (validate, price, reserve on the whole chain), forward, settle what
 * the provider reports. Every admitted reservation is resolved on every path: settled, voided
 * on an upstream error, or settled for what was generated when the client leaves mid-stream.
 */
export async function proxyCall(g: Gateway, adapter: RouteAdapter, headers: IncomingHttpHeaders, raw: Buffer, res: ServerResponse): Promise<void> {
  const startedMs = g.now();
  const attempt: Attempt = { requestId: `req_${base62(g.random, 16)}` };
  const admitted = g.calls.draining ? gatewayError('shutting_down', 'the server is stopping; retry on another instance or in a moment', { retryAfterS: 1 }) : await admit(g, adapter, headers, raw, attempt);
  if (isGatewayError(admitted)) {
    sendError(res, adapter.provider, admitted, { 'x-bursar-request-id': attempt.requestId });
    g.onCall?.({ route: adapter.route, status: admitted.status, code: admitted.code, provider: adapter.provider, budget: admitted.budget, startedMs, endedMs: g.now() });
    recordRefusal(g, adapter.route, admitted, attempt);
    return;
  }
  if (g.mode === 'dry-run') return dryRun(g, admitted, res);
  // One call object for every way a call ends early: the client leaves, the timeout fires, the server stops.
  const call = new UpstreamCall();
  const untrack = g.calls.track(call);
  try {
    await forward(g, admitted, headers, res, call);
  } finally {
    untrack();
  }
}

/** Sends an admitted call upstream and relays the answer; every path resolves its reservation. */
async function forward(g: Gateway, admitted: Admitted, headers: IncomingHttpHeaders, res: ServerResponse, call: UpstreamCall): Promise<void> {
  const { adapter } = admitted;
  const upstreamBody = adapter.upstreamBody(admitted.body, admitted.call, admitted.estimate.maxOutputTokens);
  const timer = setTimeout(() => call.abort(upstreamTimeout), g.upstream.config.timeoutMs);
  timer.unref();
  res.on('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) call.abort();
  });
  const sentMs = g.now();
  let upstream;
  try {
    upstream = await g.upstream.send(adapter.provider, adapter.route, headers, JSON.stringify(upstreamBody), call);
  } catch (error) {
    await voidCall(g, admitted, `upstream unreachable: ${(error as Error).name}`);
    const host = g.upstream.host(adapter.provider);
    const late = timedOut(call);
    const e = gatewayError(late ? 'upstream_timeout' : 'upstream_error', late ? `the provider at ${host} did not answer within ${g.upstream.config.timeoutMs} ms` : `the provider at ${host} could not be reached: ${upstreamFailure(error)}`);
    sendError(res, adapter.provider, e, admitted.headers);
    report(g, admitted, adapter.route, e.status, e.code);
    return;
  }
  if (upstream.statusCode >= 400) return relayUpstreamError(g, admitted, upstream, res);
  const upstreamMs = g.now() - sentMs;
  if (admitted.call.stream) return relayStream(g, admitted, upstream, res, upstreamMs);
  return relayJson(g, admitted, upstream, res, upstreamMs);
}

/** Why a call is aborted when the upstream timeout fires (the client leaving or the server stopping abort it without one). */
const upstreamTimeout = new Error('the upstream timeout fired');

function timedOut(call: UpstreamCall): boolean {
  return call.aborted && call.reason === upstreamTimeout;
}

/** A provider error: nothing is billed, so the reservation is voided and the error relayed as is. */
async function relayUpstreamError(g: Gateway, a: Admitted, upstream: UpstreamCall, res: ServerResponse): Promise<void> {
  const text = await upstream.text().catch(() => '');
  await voidCall(g, a, `upstream ${upstream.statusCode}`);
  const headers: HeaderMap = { ...a.headers, 'x-bursar-cost-micros': 0 };
  const retryAfter = upstream.headers['retry-after'];
  if (typeof retryAfter === 'string') headers['retry-after'] = retryAfter;
  sendJson(res, upstream.statusCode, text || JSON.stringify({ error: { message: `upstream answered ${upstream.statusCode}`, type: 'api_error' } }), headers);
  report(g, a, a.adapter.route, upstream.statusCode, 'upstream_error', 0);
}

async function relayJson(g: Gateway, a: Admitted, upstream: UpstreamCall, res: ServerResponse, upstreamMs: number): Promise<void> {
  let text: string;
  let parsed: unknown;
  try {
    text = await upstream.text();
    parsed = JSON.parse(text);
  } catch {
    // A 2xx answer that cannot be read (cut, not JSON, too large, or still coming when the
    // timeout fired): the provider may have billed all of it, so the hold is charged.
    const late = timedOut(upstream);
    const cost = await settle(g, a, held(a), late ? 'upstream timeout' : 'unreadable upstream response');
    const host = g.upstream.host(a.adapter.provider);
    const e = late ? gatewayError('upstream_timeout', `the provider at ${host} did not finish its answer within ${g.upstream.config.timeoutMs} ms`) : gatewayError('upstream_error', `the provider at ${host} sent an unreadable response`);
    sendError(res, a.adapter.provider, e, afterCost(a, cost));
    report(g, a, a.adapter.route, e.status, e.code, cost, upstreamMs);
    return;
  }
  const reported = a.adapter.usageFromBody(parsed);
  // The answer's text is only counted when the provider reported no output tokens.
  const priced = priceCall(a, reported, reported?.outputTokens === undefined ? outputOf(parsed) : '');
  // SQLite: the settlement is queued before the answer is written and committed in the same
  // event-loop turn, before any new request is read, so the client does not wait for the commit
  // yet a balance read sent after this answer already sees the cost. PostgreSQL commits over the
  // network (and other processes read it), so there the answer waits for the commit.
  const settled = settle(g, a, priced);
  if (g.store.kind !== 'sqlite') await settled;
  sendJson(res, upstream.statusCode, text, afterCost(a, priced.costMicros));
  const cost = await settled;
  report(g, a, a.adapter.route, upstream.statusCode, 'ok', cost, upstreamMs);
}

/** The elements of a field that should be a list, whatever the answer holds there. */
function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/**
 * Output text of a non-streamed answer, only needed when the provider reported no usage: chat
 * choices' messages, Anthropic content blocks, Responses output items' content parts.
 */
function outputOf(body: unknown): string {
  const pieces = [
    ...listOf(field(body, 'choices')).map((c) => field(field(c, 'message'), 'content')),
    ...listOf(field(body, 'content')).map((c) => field(c, 'text')),
    ...listOf(field(body, 'output')).flatMap((item) => listOf(field(item, 'content')).map((part) => field(part, 'text'))),
  ];
  return pieces.filter((p): p is string => typeof p === 'string').join('');
}

/** Why a stream stopped before its end marker, and the error event its client gets (none when the client left). */
function streamCut(g: Gateway, a: Admitted, res: ServerResponse, upstream: UpstreamCall, oversized: boolean): { reason: string; error?: GatewayError } {
  if (res.destroyed) return { reason: 'client disconnected' };
  const host = g.upstream.host(a.adapter.provider);
  if (oversized) return { reason: 'stream ended early', error: gatewayError('upstream_error', `the provider at ${host} sent a stream event larger than ${gatewayLimits.sseEventBytesMax} bytes; the answer is cut there`) };
  if (timedOut(upstream)) return { reason: 'upstream timeout', error: gatewayError('upstream_timeout', `the provider at ${host} did not finish the stream within ${g.upstream.config.timeoutMs} ms; the answer is incomplete`) };
  if (g.calls.draining) return { reason: 'server stopping', error: gatewayError('shutting_down', 'the server is stopping; the answer is incomplete') };
  return { reason: 'stream ended early', error: gatewayError('upstream_error', `the provider at ${host} ended the stream before its end; the answer is incomplete`) };
}

/**
 * Relays a stream and settles it: at the usage the provider reported, else at what the text
 * streamed so far counts; at the hold when what it generated cannot be read (an event not in
 * the provider's format and no output count reported, or an event too large to hold). A
 * stream that breaks off ends with an error event in the provider's shape, so the client's
 * SDK raises it.
 */
async function relayStream(g: Gateway, a: Admitted, upstream: UpstreamCall, res: ServerResponse, upstreamMs: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...a.headers });
  const observer = a.adapter.observe(a.body);
  const oversized = await pipeEvents(upstream, observer, res);
  const complete = observer.finished() && !oversized;
  const unreadable = oversized || (observer.unreadable() && observer.usage()?.outputTokens === undefined);
  const cut = complete ? undefined : streamCut(g, a, res, upstream, oversized);
  const priced = unreadable ? held(a) : priceCall(a, observer.usage(), observer.outputText());
  const cost = await settle(g, a, priced, unreadable ? 'unreadable upstream stream' : cut?.reason);
  if (!res.destroyed) res.end(cut?.error ? a.adapter.streamError(cut.error) : undefined);
  report(g, a, a.adapter.route, 200, complete ? 'ok' : 'stream_incomplete', cost, upstreamMs);
}

/** Dry-run: nothing is forwarded; the estimate is recorded as the cost and a made-up answer sent. */
async function dryRun(g: Gateway, a: Admitted, res: ServerResponse): Promise<void> {
  const usage: CallUsage = { inputTokens: a.estimate.inputTokens, outputTokens: a.estimate.maxOutputTokens * a.call.choices, cachedTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 };
  const cost = await settle(g, a, { usage, costMicros: usageCost(a.price, usage) }, 'dry-run');
  const synthetic = a.adapter.synthetic(a.call, usage);
  const headers = { ...afterCost(a, cost), 'x-bursar-dry-run': 'true' };
  if (a.call.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
    res.end(synthetic.events.join(''));
  } else {
    sendJson(res, 200, synthetic.json, headers);
  }
  report(g, a, a.adapter.route, 200, 'dry_run', cost);
}
