import type { z } from 'zod';
import { isCrossKind, type AuditReport, type BudgetOk, type BudgetView, type RevokeOk, type TokenView } from '../core/index.js';
import {
  adminRoutes,
  auditFromJson,
  budgetFromJson,
  camelField,
  deliveryFromJson,
  entryFromJson,
  isLedgerCode,
  policyPatchToJson,
  policyToJson,
  refusalFromJson,
  RouteClient,
  tokenFromJson,
  TransportError,
  webhookFromJson,
  webhookIdPattern,
  webhookTestFromJson,
  type DeliveryView,
  type Failure,
  type ForecastReport,
  type WireCode,
  type PreflightReport,
  type PreflightRequest,
  type RouteAnswer,
  type RouteInput,
  type RouteSpec,
  type WebhookTestResult,
  type WebhookView,
} from '../contract/index.js';
import { StoreUnavailableError, type AuditOptions, type DeliveryState, type LedgerQuery, type RefusalPage, type RefusalQuery } from '../store/index.js';
import { unknownWebhook } from '../ops/index.js';
import { localActor, type AddWebhookInput, type CliBackend, type CliLedgerPage, type CreateBudgetInput, type GrantInput, type MintedToken, type MintTokenInput, type MoveInput, type ScopedLimit, type ScopedLimitOk, type SessionsQuery, type SessionsReport, type SessionSummary, type SetStatusInput, type UpdateBudgetInput, type UsageAnswer, type UsageQueryInput } from './backend.js';
import { CliError } from './errors.js';
import { cliLimits } from './limits.js';

/** The API's names for the mint route's fields, back to the ledger's (as a local store names them). */
const mintFields: Record<string, string> = { budget: 'path', max_spend_micros: 'limitMicros', expires_at: 'expiresMs', id: 'tokenId' };
const tokenIdPattern = /^tok_[A-Za-z0-9]{8,40}$/;
/** Pre-flight failures a local database gives too; the rest (forbidden, unreachable) are thrown. */
const planFailureCodes = ['bad_request', 'unknown_budget', 'unknown_token'] as const satisfies readonly WireCode[];
const isPlanFailureCode = (code: string): code is (typeof planFailureCodes)[number] => (planFailureCodes as readonly string[]).includes(code);
/** Webhook refusals a local database gives too. */
const webhookFailureCodes: readonly WireCode[] = ['bad_request', 'unknown_webhook', 'webhook_limit'];
const isWebhookFailureCode = (code: string): code is WireCode => (webhookFailureCodes as readonly string[]).includes(code);

type Answer<S extends RouteSpec> = RouteAnswer<z.output<S['response']['schema']>>;

export interface RemoteOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8787. */
  url: string;
  /** An admin key (or a viewer key, for commands that only read). */
  key: string;
  /** Recorded as the actor of changes (default `cli:<user>`, as on a local database). */
  actor?: string;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/**
 * The CLI's operations over a running server's admin API (`bursar --url …`). Answers are
 * turned back into the same values and refusals a local database gives, so every command
 * prints the same: ledger refusals come back as `Failure`s with their code, a missing budget
 * as `undefined`, an unreachable store as `StoreUnavailableError`; what only a server can say
 * (unauthorized, forbidden, unreachable) is thrown as a `CliError` with its code.
 *
 * @example
 * const backend = new RemoteBackend({ url: 'http://127.0.0.1:8787', key: process.env.BURSAR_ADMIN_KEY ?? '' });
 * const budgets = await backend.listBudgets();
 */
export class RemoteBackend implements CliBackend {
  readonly target: string;
  private readonly client: RouteClient;

  constructor(options: RemoteOptions) {
    this.client = new RouteClient({
      url: options.url,
      headers: { authorization: `Bearer ${options.key}`, 'x-bursar-actor': options.actor ?? localActor() },
      fetch: options.fetch,
      requestMsMax: cliLimits.remoteRequestMsMax,
      responseBytesMax: cliLimits.remoteBodyBytesMax,
      unreachableHint: '; is it running? (bursar serve)',
    });
    this.target = this.client.url;
  }

  async createBudget(input: CreateBudgetInput): Promise<BudgetOk | Failure> {
    const body = { path: input.path, kind: input.kind, limit_micros: input.limitMicros, period: input.period, timezone: input.timezone, policy: input.policy && policyToJson(input.policy), reason: input.reason };
    return this.budgetWrite(await this.call(adminRoutes.createBudget, { body }));
  }

  async updateBudget(input: UpdateBudgetInput): Promise<BudgetOk | Failure> {
    const body = { limit_micros: input.limitMicros, period: input.period, timezone: input.timezone, policy: input.policyPatch && policyPatchToJson(input.policyPatch), reason: input.reason };
    return this.budgetWrite(await this.call(adminRoutes.updateBudget, { params: { path: input.path }, body }));
  }

  async setStatus(input: SetStatusInput): Promise<BudgetOk | Failure> {
    const spec = { active: adminRoutes.resumeBudget, paused: adminRoutes.pauseBudget, closed: adminRoutes.closeBudget }[input.status];
    return this.budgetWrite(await this.call(spec, { params: { path: input.path }, body: { reason: input.reason } }));
  }

  async grant(input: GrantInput): Promise<BudgetOk | Failure> {
    return this.budgetWrite(await this.call(adminRoutes.grantBudget, { params: { path: input.path }, body: { amount_micros: input.amountMicros, reason: input.reason } }));
  }

  async moveBudget(input: MoveInput): Promise<BudgetOk | Failure> {
    return this.budgetWrite(await this.call(adminRoutes.moveBudget, { params: { path: input.path }, body: { parent: input.parent, reason: input.reason } }));
  }

  async resetBreaker(input: { path: string; reason?: string }): Promise<BudgetOk | Failure> {
    return this.budgetWrite(await this.call(adminRoutes.resetBreaker, { params: { path: input.path }, body: { reason: input.reason } }));
  }

  async setScopedLimit(input: ScopedLimit): Promise<ScopedLimitOk | Failure> {
    const fields = { limit_micros: input.limitMicros, period: input.period, timezone: input.timezone, reason: input.reason };
    const answer =
      input.kind === 'model'
        ? await this.call(adminRoutes.setModelLimit, { params: { path: input.under }, body: { model: input.model, ...fields } })
        : input.kind === 'tag'
          ? await this.call(adminRoutes.setTagLimit, { body: { tag: input.tag, ...fields } })
          : await this.call(adminRoutes.setProviderLimit, { body: { provider: input.provider, ...fields } });
    const written = this.value(answer, { limit_micros: 'limitMicros' });
    return written.ok ? { ok: true, budget: budgetFromJson(written.value.budget), created: written.value.created } : written;
  }

  async getBudget(path: string): Promise<BudgetView | undefined> {
    const answer = await this.call(adminRoutes.getBudget, { params: { path } });
    if (isMissingBudget(answer)) return undefined;
    return budgetFromJson(this.expect(answer).budget);
  }

  async listBudgets(): Promise<BudgetView[]> {
    return this.expect(await this.call(adminRoutes.listBudgets)).budgets.map(budgetFromJson);
  }

  async crossBudgets(): Promise<BudgetView[]> {
    return (await this.listBudgets()).filter((b) => isCrossKind(b.kind));
  }

  async chain(path: string): Promise<BudgetView[]> {
    const answer = await this.call(adminRoutes.getBudget, { params: { path } });
    if (isMissingBudget(answer)) return [];
    return this.expect(answer).chain.map(budgetFromJson).reverse();
  }

  async ledgerPage(query: LedgerQuery): Promise<CliLedgerPage> {
    const kind = query.kinds && query.kinds.length > 0 ? query.kinds.join(',') : undefined;
    const q = { budget: query.budget, session: query.session, task: query.task, model: query.model, kind, since: query.sinceMs, until: query.untilMs, cursor: query.cursor, limit: query.limit, order: query.order };
    const answer = await this.call(adminRoutes.listLedger, { query: q });
    // A local database answers an unknown budget filter with no entries; so does this.
    if (isMissingBudget(answer)) return { entries: [], nextCursor: null };
    const page = this.expect(answer);
    return { entries: page.entries.map(entryFromJson), nextCursor: page.next_cursor };
  }

  async refusals(query: RefusalQuery): Promise<RefusalPage> {
    const q = { agent: query.agent, budget: query.budget, code: query.code, since: query.sinceMs, until: query.untilMs, cursor: query.cursor, limit: query.limit, order: query.order };
    const page = this.expect(await this.call(adminRoutes.listRefusals, { query: q }));
    return { refusals: page.refusals.map(refusalFromJson), nextCursor: page.next_cursor };
  }

  async mintToken(input: MintTokenInput): Promise<MintedToken | Failure> {
    const body = {
      budget: input.path,
      max_spend_micros: input.limitMicros,
      models: input.models,
      expires_at: input.expiresMs === null ? undefined : new Date(input.expiresMs).toISOString(),
      request_cap_micros: input.requestCapMicros,
      inflight_max: input.inflightMax,
      scopes: input.scopes,
      labels: { session: input.labels.session, task: input.labels.task },
      reason: input.reason,
    };
    const answer = await this.call(adminRoutes.mintToken, { body });
    const minted = this.value(answer, mintFields);
    if (!minted.ok) return minted;
    const { token: secret, envelope, ...token } = minted.value;
    return { ok: true, token: tokenFromJson(token), envelope: budgetFromJson(envelope), secret };
  }

  async listTokens(): Promise<TokenView[]> {
    return this.expect(await this.call(adminRoutes.listTokens)).tokens.map(tokenFromJson);
  }

  async revokeToken(input: { id: string; reason?: string }): Promise<RevokeOk | Failure> {
    // What a local store answers for an id that cannot name a token (the API would say 400).
    if (!tokenIdPattern.test(input.id)) return { ok: false, code: 'unknown_token', message: `no token ${input.id}`, field: 'tokenId' };
    const revoked = this.value(await this.call(adminRoutes.revokeToken, { params: { id: input.id }, body: { reason: input.reason } }), { id: 'tokenId' });
    return revoked.ok ? { ok: true, revoked: revoked.value.revoked } : revoked;
  }

  async sessions(query: SessionsQuery): Promise<SessionsReport> {
    return this.expect(await this.call(adminRoutes.listSessions, { query: { last: query.last, since: query.sinceMs, budget: query.budget } }));
  }

  async session(id: string): Promise<SessionSummary | undefined> {
    const answer = await this.call(adminRoutes.getSession, { params: { id }, query: { limit: 1 } });
    // What a local database answers for a session no entry carries (or an id none can carry).
    const e = answer.ok ? undefined : answer.failure;
    if (e !== undefined && (e.code === 'not_found' || (e.code === 'bad_request' && e.field === 'id'))) return undefined;
    return this.expect(answer).session;
  }

  async usage(query: UsageQueryInput): Promise<UsageAnswer> {
    const q = { group_by: query.groupBy, since: query.sinceMs, until: query.untilMs, budget: query.budget, timezone: query.timezone, metrics: query.reservations === true ? 'reservations' : undefined };
    return this.expect(await this.call(adminRoutes.usage, { query: q }));
  }

  async preflight(request: PreflightRequest): Promise<PreflightReport | Failure> {
    const answer = await this.call(adminRoutes.preflight, { body: request });
    // What a local database answers too: a plan that names a bad field, an unknown budget or token.
    const e = answer.ok ? undefined : answer.failure;
    if (e !== undefined && isPlanFailureCode(e.code) && e.field !== undefined) return { ok: false, code: e.code, message: e.message, field: e.field };
    return this.expect(answer);
  }

  async forecast(query: { budget?: string }): Promise<ForecastReport> {
    return this.expect(await this.call(adminRoutes.forecast, { query: { budget: query.budget } }));
  }

  async addWebhook(input: AddWebhookInput): Promise<{ ok: true; webhook: WebhookView; secret: string } | Failure> {
    const added = this.webhookValue(await this.call(adminRoutes.addWebhook, { body: { url: input.url, events: input.events, secret: input.secret } }));
    return added.ok ? { ok: true, webhook: webhookFromJson(added.value.webhook), secret: added.value.secret } : added;
  }

  async listWebhooks(): Promise<WebhookView[]> {
    return this.expect(await this.call(adminRoutes.listWebhooks)).webhooks.map(webhookFromJson);
  }

  async removeWebhook(id: string): Promise<{ ok: true; dropped: number } | Failure> {
    // What a local database answers for an id no webhook can have (the API would say 400).
    if (!webhookIdPattern.test(id)) return unknownWebhook(id);
    const removed = this.webhookValue(await this.call(adminRoutes.removeWebhook, { params: { id } }));
    return removed.ok ? { ok: true, dropped: removed.value.dropped_pending } : removed;
  }

  async testWebhook(id: string): Promise<{ ok: true; result: WebhookTestResult } | Failure> {
    if (!webhookIdPattern.test(id)) return unknownWebhook(id);
    const tested = this.webhookValue(await this.call(adminRoutes.testWebhook, { params: { id } }));
    return tested.ok ? { ok: true, result: webhookTestFromJson(tested.value) } : tested;
  }

  async webhookDeliveries(id: string, query: { state?: DeliveryState; limit?: number }): Promise<{ ok: true; deliveries: DeliveryView[] } | Failure> {
    if (!webhookIdPattern.test(id)) return unknownWebhook(id);
    const found = this.webhookValue(await this.call(adminRoutes.listWebhookDeliveries, { params: { id }, query: { state: query.state, limit: query.limit } }));
    return found.ok ? { ok: true, deliveries: found.value.deliveries.map(deliveryFromJson) } : found;
  }

  async audit(options: AuditOptions = {}): Promise<AuditReport> {
    return auditFromJson(this.expect(await this.call(adminRoutes.audit, { query: options.full ? { full: 'true' } : {} })));
  }

  async close(): Promise<void> {
    // Nothing held open: fetch's connection pool closes idle sockets itself.
  }

  /** One call; an unreachable server or an answer that is no Bursar answer is a `CliError`. */
  private async call<S extends RouteSpec>(spec: S, input?: RouteInput): Promise<Answer<S>> {
    try {
      return await this.client.call(spec, input);
    } catch (error) {
      if (error instanceof TransportError) throw new CliError({ code: error.code, message: error.message }, 1);
      throw error;
    }
  }

  /** The answer's value; any error is thrown in the form the local backend would. */
  private expect<T>(answer: RouteAnswer<T>): T {
    if (answer.ok) return answer.value;
    const { status: _status, ...failure } = answer.failure;
    if (failure.code === 'store_unavailable') throw new StoreUnavailableError(failure.message);
    throw new CliError(failure, 1);
  }

  /**
   * The answer's value, or the ledger's refusal as the local store returns it (fields renamed
   * back by `fields`, else camelCased); an error only a server gives is thrown.
   */
  private value<T>(answer: RouteAnswer<T>, fields: Record<string, string> = {}): { ok: true; value: T } | Failure {
    if (answer.ok) return { ok: true, value: answer.value };
    const e = answer.failure;
    if (!isLedgerCode(e.code) || e.code === 'store_unavailable') return { ok: true, value: this.expect(answer) };
    const refusal: Failure = { ok: false, code: e.code, message: e.message };
    if (e.field !== undefined) refusal.field = fields[e.field] ?? camelField(e.field);
    if (e.budget !== undefined) refusal.budget = e.budget;
    if (e.remainingMicros !== undefined) refusal.remainingMicros = e.remainingMicros;
    return refusal;
  }

  /** A webhook route's answer, or its refusal as the local operations return it; anything else is thrown. */
  private webhookValue<T>(answer: RouteAnswer<T>): { ok: true; value: T } | Failure {
    if (answer.ok) return { ok: true, value: answer.value };
    const e = answer.failure;
    if (!isWebhookFailureCode(e.code)) return { ok: true, value: this.expect(answer) };
    return e.field === undefined ? { ok: false, code: e.code, message: e.message } : { ok: false, code: e.code, message: e.message, field: e.field };
  }

  /** A write's answer: the budget, or the ledger's refusal as a result (as the local store returns it). */
  private budgetWrite(answer: Answer<typeof adminRoutes.createBudget>): BudgetOk | Failure {
    const written = this.value(answer);
    return written.ok ? { ok: true, budget: budgetFromJson(written.value.budget) } : written;
  }
}

/** True for the answer to a read of a budget that does not exist (or a path no budget can have). */
function isMissingBudget(answer: RouteAnswer<unknown>): boolean {
  const e = answer.ok ? undefined : answer.failure;
  return e !== undefined && (e.code === 'unknown_budget' || (e.code === 'bad_request' && (e.field === 'path' || e.field === 'budget')));
}

/**
 * Opens a server's admin API as the CLI's backend. The key comes from `BURSAR_ADMIN_KEY` (the
 * first when it lists several) or, for reading only, `BURSAR_VIEWER_KEY`.
 *
 * @example
 * const backend = openRemoteBackend({ url: 'http://127.0.0.1:8787', env: process.env });
 */
export function openRemoteBackend(o: { url: string; env: Record<string, string | undefined> }): CliBackend {
  const first = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((k) => k.trim())
      .find((k) => k.length > 0);
  const key = first(o.env.BURSAR_ADMIN_KEY) ?? first(o.env.BURSAR_VIEWER_KEY);
  if (key === undefined) {
    throw new CliError({ code: 'unauthorized', message: `set BURSAR_ADMIN_KEY to an admin key of the server at ${o.url} (bursar serve prints one when none is configured)` }, 2);
  }
  return new RemoteBackend({ url: o.url, key });
}
