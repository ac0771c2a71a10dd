import { z } from 'zod';
import type { AuditProblem, AuditReport, BudgetOk, BudgetView, Refusal, RevokeOk, TokenView } from '../core/index.js';
import { isLedgerCode } from '../api/errors.js';
import { budgetFromJson, entryFromJson, policyToJson, tokenFromJson } from '../api/json.js';
import { ForecastReportJson, PreflightReportJson, ReservationReportJson } from '../api/guard-schemas.js';
import { AuditProblemJson, BudgetJson, ErrorJson, LedgerEntryJson, SessionJson, TokenJson, UsageRowJson, groupings } from '../api/schemas.js';
import type { PreflightReport, PreflightRequest } from '../guards/index.js';
import type { ForecastReport } from '../ops/forecast.js';
import type { PlanFailure } from '../ops/preflight.js';
import { StoreUnavailableError, type LedgerQuery } from '../store/index.js';
import {
  localActor,
  type CliBackend,
  type CliLedgerPage,
  type CreateBudgetInput,
  type GrantInput,
  type MintedToken,
  type MintTokenInput,
  type MoveInput,
  type PolicyPatch,
  type SessionsQuery,
  type SessionsReport,
  type SessionSummary,
  type SetStatusInput,
  type UpdateBudgetInput,
  type UsageAnswer,
  type UsageQueryInput,
} from './backend.js';
import { CliError } from './context.js';
import { cliLimits } from './parse.js';

const BudgetAnswer = z.object({ budget: BudgetJson });
const BudgetsAnswer = z.object({ budgets: z.array(BudgetJson) });
const ChainAnswer = z.object({ chain: z.array(BudgetJson) });
const LedgerAnswer = z.object({ entries: z.array(LedgerEntryJson), next_cursor: z.string().nullable() });
const TokensAnswer = z.object({ tokens: z.array(TokenJson) });
const MintAnswer = z.object({ token: TokenJson, secret: z.string(), envelope: BudgetJson });
const RevokeAnswer = z.object({ revoked: z.array(z.string()) });
const SessionsAnswer = z.object({ sessions: z.array(SessionJson), scanned_entries: z.int(), scan_limit: z.int(), truncated: z.boolean() });
const SessionAnswer = z.object({ session: SessionJson });
const UsageTotalsJson = z.object({ cost_micros: z.int(), calls: z.int(), tokens_in: z.int(), tokens_out: z.int(), tokens_cached: z.int() });
const UsageAnswerJson = z.object({
  group_by: z.enum(groupings),
  since: z.string().nullable(),
  until: z.string().nullable(),
  timezone: z.string(),
  rows: z.array(UsageRowJson),
  other: UsageRowJson.nullable(),
  totals: UsageTotalsJson,
  scanned_entries: z.int(),
  scan_limit: z.int(),
  truncated: z.boolean(),
  complete_since: z.string().nullable(),
  reservations: ReservationReportJson.optional(),
});
/** Pre-flight failures a local database gives too; others (forbidden, unreachable) are thrown. */
const planFailureCodes = new Set(['bad_request', 'unknown_budget', 'unknown_token']);
const AuditAnswer = z.object({
  ok: z.boolean(),
  entries: z.int(),
  budgets: z.int(),
  closed_periods: z.int(),
  open_reservations: z.int(),
  head_hash: z.string(),
  problems: z.array(AuditProblemJson),
});

type ErrorDetail = z.output<typeof ErrorJson>['error'];

/** The API's names for the mint route's fields, back to the ledger's (as a local store names them). */
const mintFields: Record<string, string> = { budget: 'path', max_spend_micros: 'limitMicros', expires_at: 'expiresMs', id: 'tokenId' };
const tokenIdPattern = /^tok_[A-Za-z0-9]{8,40}$/;

/** An answer from the server: its status and parsed JSON body (undefined when it is not JSON). */
interface Answer {
  status: number;
  body: unknown;
}

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

function patchToJson(patch: PolicyPatch | undefined): Record<string, unknown> | undefined {
  if (patch === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (patch.models !== undefined) out.models = patch.models;
  if (patch.requestCapMicros !== undefined) out.request_cap_micros = patch.requestCapMicros;
  if (patch.inflightMax !== undefined) out.inflight_max = patch.inflightMax;
  if (patch.maxOutputTokens !== undefined) out.max_output_tokens = patch.maxOutputTokens;
  if (patch.alertThresholdsPct !== undefined) out.alert_thresholds_pct = patch.alertThresholdsPct;
  return out;
}

function problemFromJson(p: z.output<typeof AuditProblemJson>): AuditProblem {
  const out: AuditProblem = { message: p.message };
  if (p.seq !== undefined) out.seq = p.seq;
  if (p.budget !== undefined) out.budget = p.budget;
  if (p.field !== undefined) out.field = p.field;
  if (p.expected !== undefined) out.expected = p.expected;
  if (p.actual !== undefined) out.actual = p.actual;
  return out;
}

/** `policy.inflight_max` → `policy.inflightMax`: ledger fields as the local store names them. */
function camelField(field: string): string {
  return field.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function enc(path: string): string {
  return encodeURIComponent(path);
}

/**
 * The CLI's operations over a running server's admin API (`bursar --url …`). Answers are
 * turned back into the same values and refusals a local database gives, so every command
 * prints the same: ledger refusals come back as `Refusal`s with their code, a missing budget
 * as `undefined`, an unreachable store as `StoreUnavailableError`; what only a server can say
 * (unauthorized, forbidden, unreachable) is thrown as a `CliError` with its code.
 *
 * @example
 * const backend = new RemoteBackend({ url: 'http://127.0.0.1:8787', key: process.env.BURSAR_ADMIN_KEY ?? '' });
 * const budgets = await backend.listBudgets();
 */
export class RemoteBackend implements CliBackend {
  readonly target: string;
  private readonly base: string;
  private readonly actor: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: RemoteOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.target = this.base;
    this.actor = options.actor ?? localActor();
    this.fetch = options.fetch ?? fetch;
  }

  async createBudget(input: CreateBudgetInput): Promise<BudgetOk | Refusal> {
    const body = { path: input.path, kind: input.kind, limit_micros: input.limitMicros, period: input.period, timezone: input.timezone, policy: input.policy && policyToJson(input.policy), reason: input.reason };
    return this.budgetWrite(await this.send('POST', '/api/budgets', body));
  }

  async updateBudget(input: UpdateBudgetInput): Promise<BudgetOk | Refusal> {
    const body = { limit_micros: input.limitMicros, period: input.period, timezone: input.timezone, policy: patchToJson(input.policyPatch), reason: input.reason };
    return this.budgetWrite(await this.send('PATCH', `/api/budgets/${enc(input.path)}`, body));
  }

  async setStatus(input: SetStatusInput): Promise<BudgetOk | Refusal> {
    const action = { active: 'resume', paused: 'pause', closed: 'close' }[input.status];
    return this.budgetWrite(await this.send('POST', `/api/budgets/${enc(input.path)}/${action}`, { reason: input.reason }));
  }

  async grant(input: GrantInput): Promise<BudgetOk | Refusal> {
    return this.budgetWrite(await this.send('POST', `/api/budgets/${enc(input.path)}/grant`, { amount_micros: input.amountMicros, reason: input.reason }));
  }

  async moveBudget(input: MoveInput): Promise<BudgetOk | Refusal> {
    return this.budgetWrite(await this.send('POST', `/api/budgets/${enc(input.path)}/move`, { parent: input.parent, reason: input.reason }));
  }

  async getBudget(path: string): Promise<BudgetView | undefined> {
    const answer = await this.send('GET', `/api/budgets/${enc(path)}`);
    if (this.isMissingBudget(answer)) return undefined;
    return budgetFromJson(this.expect(answer, BudgetAnswer).budget);
  }

  async listBudgets(): Promise<BudgetView[]> {
    return this.expect(await this.send('GET', '/api/budgets'), BudgetsAnswer).budgets.map(budgetFromJson);
  }

  async chain(path: string): Promise<BudgetView[]> {
    const answer = await this.send('GET', `/api/budgets/${enc(path)}`);
    if (this.isMissingBudget(answer)) return [];
    return this.expect(answer, ChainAnswer).chain.map(budgetFromJson).reverse();
  }

  async ledgerPage(query: LedgerQuery): Promise<CliLedgerPage> {
    const params = new URLSearchParams();
    const set = (name: string, value: string | number | undefined) => {
      if (value !== undefined) params.set(name, String(value));
    };
    set('budget', query.budget);
    set('session', query.session);
    set('task', query.task);
    set('model', query.model);
    if (query.kinds && query.kinds.length > 0) params.set('kind', query.kinds.join(','));
    set('since', query.sinceMs);
    set('until', query.untilMs);
    set('cursor', query.cursor);
    set('limit', query.limit);
    set('order', query.order);
    const qs = params.toString();
    const answer = await this.send('GET', `/api/ledger${qs === '' ? '' : `?${qs}`}`);
    // A local database answers an unknown budget filter with no entries; so does this.
    if (this.isMissingBudget(answer)) return { entries: [], nextCursor: null };
    const page = this.expect(answer, LedgerAnswer);
    return { entries: page.entries.map(entryFromJson), nextCursor: page.next_cursor };
  }

  async mintToken(input: MintTokenInput): Promise<MintedToken | Refusal> {
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
    const answer = await this.send('POST', '/api/tokens', body);
    const refusal = this.refusalOf(answer, mintFields);
    if (refusal) return refusal;
    const minted = this.expect(answer, MintAnswer);
    return { ok: true, token: tokenFromJson(minted.token), envelope: budgetFromJson(minted.envelope), secret: minted.secret };
  }

  async listTokens(): Promise<TokenView[]> {
    return this.expect(await this.send('GET', '/api/tokens'), TokensAnswer).tokens.map(tokenFromJson);
  }

  async revokeToken(input: { id: string; reason?: string }): Promise<RevokeOk | Refusal> {
    // What a local store answers for an id that cannot name a token (the API would say 400).
    if (!tokenIdPattern.test(input.id)) return { ok: false, code: 'unknown_token', message: `no token ${input.id}`, field: 'tokenId' };
    const answer = await this.send('POST', `/api/tokens/${enc(input.id)}/revoke`, { reason: input.reason });
    const refusal = this.refusalOf(answer, { id: 'tokenId' });
    if (refusal) return refusal;
    return { ok: true, revoked: this.expect(answer, RevokeAnswer).revoked };
  }

  async sessions(query: SessionsQuery): Promise<SessionsReport> {
    const params = new URLSearchParams({ last: String(query.last) });
    if (query.sinceMs !== undefined) params.set('since', String(query.sinceMs));
    if (query.budget !== undefined) params.set('budget', query.budget);
    return this.expect(await this.send('GET', `/api/sessions?${params.toString()}`), SessionsAnswer);
  }

  async session(id: string): Promise<SessionSummary | undefined> {
    const answer = await this.send('GET', `/api/sessions/${enc(id)}?limit=1`);
    // What a local database answers for a session no entry carries (or an id none can carry).
    const e = this.errorOf(answer);
    if (e !== undefined && (e.code === 'not_found' || (e.code === 'bad_request' && e.field === 'id'))) return undefined;
    return this.expect(answer, SessionAnswer).session;
  }

  async usage(query: UsageQueryInput): Promise<UsageAnswer> {
    const params = new URLSearchParams({ group_by: query.groupBy });
    if (query.sinceMs !== undefined) params.set('since', String(query.sinceMs));
    if (query.untilMs !== undefined) params.set('until', String(query.untilMs));
    if (query.budget !== undefined) params.set('budget', query.budget);
    if (query.timezone !== undefined) params.set('timezone', query.timezone);
    if (query.reservations === true) params.set('metrics', 'reservations');
    return this.expect(await this.send('GET', `/api/usage?${params.toString()}`), UsageAnswerJson);
  }

  async preflight(request: PreflightRequest): Promise<PreflightReport | PlanFailure> {
    const answer = await this.send('POST', '/api/preflight', request);
    const e = this.errorOf(answer);
    if (e !== undefined && planFailureCodes.has(e.code) && e.field !== undefined) return { ok: false, code: e.code as PlanFailure['code'], message: e.message, field: e.field };
    return this.expect(answer, PreflightReportJson);
  }

  async forecast(query: { budget?: string }): Promise<ForecastReport> {
    const params = new URLSearchParams();
    if (query.budget !== undefined) params.set('budget', query.budget);
    return this.expect(await this.send('GET', `/api/forecast?${params.toString()}`), ForecastReportJson);
  }

  async audit(): Promise<AuditReport> {
    const r = this.expect(await this.send('GET', '/api/audit'), AuditAnswer);
    return { ok: r.ok, entries: r.entries, budgets: r.budgets, closedPeriods: r.closed_periods, openReservations: r.open_reservations, headHash: r.head_hash, problems: r.problems.map(problemFromJson) };
  }

  async close(): Promise<void> {
    // Nothing held open: fetch's connection pool closes idle sockets itself.
  }

  /** One request. Throws a `CliError` when the server cannot be reached or does not answer JSON. */
  private async send(method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.key}`, accept: 'application/json', 'x-bursar-actor': this.actor };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(cliLimits.remoteRequestMsMax) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new CliError({ code: 'server_unreachable', message: `cannot reach the Bursar server at ${this.base} (${why}); is it running? (bursar serve)` }, 1);
    }
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > cliLimits.remoteBodyBytesMax) throw new CliError({ code: 'bad_response', message: `the server at ${this.base} sent ${length} bytes, more than ${cliLimits.remoteBodyBytesMax}` }, 1);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError({ code: 'bad_response', message: `the server at ${this.base} answered ${method} ${path.split('?')[0]} with HTTP ${res.status} and no JSON; is --url a Bursar server?` }, 1);
    }
    return { status: res.status, body: parsed };
  }

  /** The error an answer carries, if it is one. */
  private errorOf(answer: Answer): ErrorDetail | undefined {
    if (answer.status < 400) return undefined;
    const parsed = ErrorJson.safeParse(answer.body);
    if (parsed.success) return parsed.data.error;
    return { code: 'server_error', message: `the server at ${this.base} answered HTTP ${answer.status}` };
  }

  /** True for the answer to a read of a budget that does not exist (or a path no budget can have). */
  private isMissingBudget(answer: Answer): boolean {
    const e = this.errorOf(answer);
    return e !== undefined && (e.code === 'unknown_budget' || (e.code === 'bad_request' && (e.field === 'path' || e.field === 'budget')));
  }

  /** Throws the failure an error answer carries, in the form the local backend would. */
  private fail(e: ErrorDetail): never {
    if (e.code === 'store_unavailable') throw new StoreUnavailableError(e.message);
    const failure: { code: string; message: string; field?: string; budget?: string; remainingMicros?: number | null } = { code: e.code, message: e.message };
    if (e.field !== undefined) failure.field = e.field;
    if (e.budget !== undefined) failure.budget = e.budget;
    if (e.remaining_micros !== undefined) failure.remainingMicros = e.remaining_micros;
    throw new CliError(failure, 1);
  }

  private expect<S extends z.ZodType>(answer: Answer, schema: S): z.output<S> {
    const e = this.errorOf(answer);
    if (e) this.fail(e);
    const parsed = schema.safeParse(answer.body);
    if (!parsed.success) throw new CliError({ code: 'bad_response', message: `the server at ${this.base} sent an answer this CLI does not understand (${parsed.error.issues[0]?.message ?? 'invalid'}); are the versions the same?` }, 1);
    return parsed.data;
  }

  /**
   * The ledger's refusal an answer carries, as the local store returns it (fields renamed back
   * by `fields`, else camelCased); undefined for a success or an error only a server gives.
   */
  private refusalOf(answer: Answer, fields: Record<string, string> = {}): Refusal | undefined {
    const e = this.errorOf(answer);
    if (!e || !isLedgerCode(e.code)) return undefined;
    const refusal: Refusal = { ok: false, code: e.code, message: e.message };
    if (e.code === 'store_unavailable') return refusal;
    if (e.field !== undefined) refusal.field = fields[e.field] ?? camelField(e.field);
    if (e.budget !== undefined) refusal.budget = e.budget;
    if (e.remaining_micros !== undefined) refusal.remainingMicros = e.remaining_micros;
    return refusal;
  }

  /** A write's answer: the budget, or the ledger's refusal as a result (as the local store returns it). */
  private budgetWrite(answer: Answer): BudgetOk | Refusal {
    return this.refusalOf(answer) ?? { ok: true, budget: budgetFromJson(this.expect(answer, BudgetAnswer).budget) };
  }
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
