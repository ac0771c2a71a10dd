import type { z } from 'zod';
import {
  BalanceArgs,
  BalanceJson,
  balanceToJson,
  DelegateBody,
  DelegatedJson,
  delegatedToJson,
  delegationFromJson,
  failure,
  EstimateArgs,
  EstimateJson,
  ModelsArgs,
  ModelsJson,
  modelPriceToJson,
  reservationToJson,
  ReserveArgs,
  SettleArgs,
  SettleJson,
  settledToJson,
  ToolReservedJson,
  toolReservedToJson,
  VoidArgs,
  VoidJson,
  type Balance,
  type EstimateArgsValue,
  type EstimateJsonValue,
  type Failure,
  type FieldNames,
} from '../contract/index.js';
import { formatUsd, type Labels, type RandomBytes } from '../core/index.js';
import { allowedModels, balanceAt, balanceOf, delegate, estimateModelCallOn, reserveToolAs, settle, tokenScopedKey, voidReservation, type Caller, type TokenUse } from '../ops/index.js';
import { estimateTool, listModels, type PriceCatalog, type ToolPrices } from '../pricing/index.js';
import type { Store } from '../store/index.js';

/**
 * Bursar's MCP tools, as plain definitions: each an input and an output schema (the contract's
 * zod shapes, published as JSON Schema), and a function that calls the operations layer with
 * the calling token. What a tool answers is the agent route's JSON where there is one, plus a
 * sentence for the model to read. The MCP server (server.ts) turns these into MCP tools.
 */

/** What the tools work with: the ledger, prices, and the sources of secrets and time. */
export interface McpDeps {
  store: Store;
  pricing: PriceCatalog;
  toolPrices: ToolPrices;
  random: RandomBytes;
  now(): number;
}

/** Who calls: the spend token the connection presents, and the session and task it runs under. */
export interface McpSession {
  secret: string | undefined;
  labels: Pick<Labels, 'session' | 'task'>;
}

/** A tool's answer: its structured content and the sentence that says it; or a refusal. */
export type ToolAnswer = { json: Record<string, unknown>; text: string } | (Failure & { fields?: FieldNames });

interface ToolCall<A> {
  caller: Caller;
  args: A;
  deps: McpDeps;
  session: McpSession;
}

/** One Bursar tool. */
export interface BursarTool<I extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: z.ZodObject;
  /** `resolve`: a revoked or expired token may still call it (to settle or void what it reserved). */
  use: TokenUse;
  readOnly: boolean;
  run(call: ToolCall<z.output<I>>): Promise<ToolAnswer>;
}

/** Types each tool's `run` by its own input schema, for the list of every tool. */
function tool<I extends z.ZodType>(t: BursarTool<I>): BursarTool {
  return t;
}

const actorOf = (caller: Caller) => `token:${caller.token.id}`;

/** A call's session and task: its own labels first, else the connection's. */
function labelsOf(own: { session?: string; task?: string } | undefined, session: McpSession): Pick<Labels, 'session' | 'task'> {
  const out: Pick<Labels, 'session' | 'task'> = {};
  const s = own?.session ?? session.labels.session;
  const t = own?.task ?? session.labels.task;
  if (s !== undefined) out.session = s;
  if (t !== undefined) out.task = t;
  return out;
}

const usd = (micros: number | null) => (micros === null ? 'no limit' : formatUsd(micros));

function balanceText(b: Balance): string {
  const levels = b.chain.map((l) => `${l.budget}: ${l.limitMicros === null ? 'no limit' : `${usd(l.remainingMicros)} of ${usd(l.limitMicros)} left`}${l.status === 'active' ? '' : ` (${l.status})`}`);
  const head = b.remainingMicros === null ? 'No budget of the chain has a limit.' : `You can spend ${usd(b.remainingMicros)} more; the tightest budget is ${b.tightest}.`;
  const across = b.across.map((l) => `${l.budget} (${l.kind} budget, for ${l.appliesTo}): ${l.limitMicros === null ? 'no limit' : `${usd(l.remainingMicros)} of ${usd(l.limitMicros)} left`}${l.status === 'active' ? '' : ` (${l.status})`}`);
  const acrossHead = across.length === 0 ? [] : ['Calls also reserve on these when their model, tags or provider match:'];
  return [`${head}${b.active ? '' : ' A budget of the chain is not active, so nothing can be spent now.'}`, ...levels, ...acrossHead, ...across].join('\n');
}

const budgetBalance = tool({
  name: 'budget_balance',
  title: 'Budget balance',
  description: 'What this agent can still spend: every budget of its chain (its token, the agent, the team, the org) with its limit, spent, reserved and remaining amounts in micro-USD, and the tightest one. Check it before long or paid work.',
  input: BalanceArgs,
  output: BalanceJson,
  use: 'active',
  readOnly: true,
  run: async ({ caller, deps }) => {
    const balance = (await balanceAt(deps.store, caller.envelope)) ?? balanceOf([]);
    return { json: balanceToJson(caller.token, balance), text: balanceText(balance) };
  },
});

function estimateText(e: EstimateJsonValue): string {
  const what = e.kind === 'tool' ? `One call of the tool ${e.name}` : `One call of ${e.priced_as} with ${e.input_tokens} input tokens and up to ${e.max_output_tokens} output tokens`;
  const total = e.count === 1 ? '' : `; ${e.count} calls reserve ${formatUsd(e.total_micros)}`;
  const room = e.remaining_micros === null ? 'no budget of the chain has a limit' : `the chain can still take ${formatUsd(e.remaining_micros)} (tightest: ${e.tightest})`;
  const verdict = !e.allowed ? `not allowed: budget ${e.not_allowed_by} does not allow ${e.priced_as}` : e.fits ? 'it fits' : 'it does not fit';
  return `${what} reserves at most ${formatUsd(e.cost_micros)}${total}. ${room[0]?.toUpperCase()}${room.slice(1)}: ${verdict}.`;
}

/** The estimate of a model or a tool call on the caller's chain. */
async function estimateOf(args: EstimateArgsValue, caller: Caller, deps: McpDeps): Promise<Omit<EstimateJsonValue, 'count' | 'total_micros' | 'remaining_micros' | 'tightest' | 'fits'> & { balance: Balance } | Failure> {
  if (args.tool !== undefined) {
    const e = estimateTool(deps.toolPrices, args.tool);
    const balance = balanceOf(await deps.store.chain(caller.envelope));
    return { kind: 'tool', name: args.tool, priced_as: e.pricedAs, basis: e.basis === 'table' ? 'table' : 'unknown', input_tokens: null, max_output_tokens: null, cost_micros: e.costMicros, allowed: true, not_allowed_by: null, balance };
  }
  const e = await estimateModelCallOn(deps.store, deps.pricing, caller.envelope, { model: args.model ?? '', input: args.input, input_tokens: args.input_tokens, max_output_tokens: args.max_output_tokens });
  if ('ok' in e) return e;
  return { kind: 'model', name: args.model ?? e.model, priced_as: e.model, basis: 'catalog', input_tokens: e.inputTokens, max_output_tokens: e.maxOutputTokens, cost_micros: e.callMicros, allowed: e.notAllowedBy === null, not_allowed_by: e.notAllowedBy, balance: balanceOf(e.chain) };
}

const estimateCost = tool({
  name: 'estimate_cost',
  title: 'Estimate cost',
  description: 'What a model call (model, input text or input_tokens, max_output_tokens) or a paid tool call (tool) would reserve, priced as the gateway prices it (the worst case: the whole output cap), times count; whether the chain allows it and whether it fits what is left. Reserves nothing.',
  input: EstimateArgs,
  output: EstimateJson,
  use: 'active',
  readOnly: true,
  run: async ({ caller, args, deps }) => {
    const e = await estimateOf(args, caller, deps);
    if ('ok' in e) return e;
    const { balance, ...estimate } = e;
    const count = args.count ?? 1;
    const total = estimate.cost_micros * count;
    if (!Number.isSafeInteger(total)) return failure('bad_request', `count: ${count} calls of ${formatUsd(estimate.cost_micros)} add up past what Bursar counts; ask for fewer`, { field: 'count' });
    const json = { ...estimate, count, total_micros: total, remaining_micros: balance.remainingMicros, tightest: balance.tightest, fits: estimate.allowed && balance.active && (balance.remainingMicros === null || total <= balance.remainingMicros) };
    return { json, text: estimateText(json) };
  },
});

const reserveSpend = tool({
  name: 'reserve_spend',
  title: 'Reserve spend',
  description: 'Before paid work that is not a model call through the gateway (a paid API, a search, a sub-task): reserve what it may cost on the whole budget chain (estimate_micros, else the tool price table). Settle it with settle_spend when the work is done, or void_spend if it was not done. Refused when any budget cannot take it.',
  input: ReserveArgs,
  output: ToolReservedJson,
  use: 'active',
  readOnly: false,
  run: async ({ caller, args, deps, session }) => {
    const input = { tool: args.tool, estimateMicros: args.estimate_micros, ttlMs: args.ttl_ms, idempotencyKey: args.idempotency_key, labels: labelsOf(args.labels, session), actor: actorOf(caller) };
    const result = await reserveToolAs(deps.store, deps.toolPrices, caller, input);
    if (!result.ok) return { ...result, fields: { amountMicros: args.estimate_micros === undefined ? 'tool' : 'estimate_micros', path: 'token' } };
    const v = result.reservation.reservation;
    const left = result.reservation.remainingMicros === null ? '' : `; ${formatUsd(result.reservation.remainingMicros)} left on ${result.reservation.tightest}`;
    return { json: toolReservedToJson(result), text: `Reserved ${formatUsd(v.amountMicros)} for ${args.tool} as ${v.id} (expires ${new Date(v.expiresMs).toISOString()})${left}. Settle it with settle_spend, or void it with void_spend.` };
  },
});

const settleSpend = tool({
  name: 'settle_spend',
  title: 'Settle spend',
  description: 'After the work a reserve_spend covered: charge what it actually cost (actual_micros). Above the reservation the excess is charged and recorded as an overrun; below it the rest is released.',
  input: SettleArgs,
  output: SettleJson,
  use: 'resolve',
  readOnly: false,
  run: async ({ caller, args, deps }) => {
    const result = await settle(deps.store, { within: caller.envelope, reservationId: args.reservation_id, actualMicros: args.actual_micros, reason: args.reason, actor: actorOf(caller), idempotencyKey: tokenScopedKey(caller, args.idempotency_key) });
    if (!result.ok) return { ...result, fields: { reservationId: 'reservation_id' } };
    const overrun = result.overrunMicros > 0 ? `, ${formatUsd(result.overrunMicros)} over the reservation` : '';
    return { json: settledToJson(result), text: `Settled ${result.reservation.id} at ${formatUsd(args.actual_micros)}${overrun}${result.lateCharge ? ' (after it had expired)' : ''}.` };
  },
});

const voidSpend = tool({
  name: 'void_spend',
  title: 'Void spend',
  description: 'Release a reservation whose work was not done (or cost nothing): nothing is charged.',
  input: VoidArgs,
  output: VoidJson,
  use: 'resolve',
  readOnly: false,
  run: async ({ caller, args, deps }) => {
    const result = await voidReservation(deps.store, { within: caller.envelope, reservationId: args.reservation_id, reason: args.reason, actor: actorOf(caller), idempotencyKey: tokenScopedKey(caller, args.idempotency_key) });
    if (!result.ok) return { ...result, fields: { reservationId: 'reservation_id' } };
    return { json: { reservation: reservationToJson(result.reservation) }, text: `Voided ${result.reservation.id}: ${formatUsd(result.reservation.amountMicros)} released.` };
  },
});

const delegateBudget = tool({
  name: 'delegate_budget',
  title: 'Delegate budget',
  description: 'Mint a narrower spend token for a sub-agent, carved out of what this token may spend: at most max_spend_micros, optionally fewer models, lower caps and an earlier expiry. Its spend counts on every budget above it. Only a token minted with the delegate scope may. The answer carries the child\'s secret (bsr_…) once.',
  input: DelegateBody,
  output: DelegatedJson,
  use: 'active',
  readOnly: false,
  run: async ({ caller, args, deps, session }) => {
    const nowMs = deps.now();
    const result = await delegate(deps.store, deps.random, { token: caller.token }, { ...delegationFromJson(args, nowMs), labels: labelsOf(args.labels, session), actor: actorOf(caller) }, nowMs);
    if (!result.ok) return { ...result, fields: { limitMicros: 'max_spend_micros', expiresMs: args.expires_at !== undefined ? 'expires_at' : 'expires_in_ms', scopes: 'delegate', parentTokenId: 'token' } };
    return { json: delegatedToJson(result, result.secret), text: `Minted ${result.token.id} for a sub-agent: at most ${formatUsd(result.envelope.limitMicros ?? 0)}, spending from ${result.envelope.path}. Hand it this secret (shown only now): ${result.secret}` };
  },
});

const listModelsTool = tool({
  name: 'list_models',
  title: 'List models',
  description: 'The models this agent may call through the gateway (allowed by every budget of its chain) with their prices in micro-USD per million tokens.',
  input: ModelsArgs,
  output: ModelsJson,
  use: 'active',
  readOnly: true,
  run: async ({ caller, args, deps }) => {
    const allowed = await allowedModels(deps.store, deps.pricing, caller.envelope);
    const models = allowed.filter((m) => args.provider === undefined || m.entry.provider === args.provider).map((m) => modelPriceToJson(m.model, m.entry));
    const restricted = allowed.length < listModels(deps.pricing).length;
    const lines = models.map((m) => `${m.model} (${m.provider}): ${formatUsd(m.input_micros_per_million)} in, ${formatUsd(m.output_micros_per_million)} out per 1M tokens`);
    return { json: { models, restricted }, text: `${models.length} models${restricted ? ' allowed by the chain\'s policy' : ''}:\n${lines.join('\n')}` };
  },
});

/**
 * Every Bursar MCP tool, in the order `tools/list` shows them.
 *
 * @example
 * bursarTools.map((t) => t.name) // ['budget_balance', 'estimate_cost', 'reserve_spend', …]
 */
export const bursarTools: readonly BursarTool[] = [budgetBalance, estimateCost, reserveSpend, settleSpend, voidSpend, delegateBudget, listModelsTool];
