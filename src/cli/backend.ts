import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { AuditReport, BudgetKind, BudgetOk, BudgetView, Labels, Period, Policy, RevokeOk, TokenView } from '../core/index.js';
import type { DeliveryView, Failure, ForecastReport, GroupBy, PolicyPatch, PreflightReport, PreflightRequest, ReservationReport, WebhookTestResult, WebhookView } from '../contract/index.js';
import {
  addWebhook,
  BudgetIndex,
  forecastReport,
  ledgerPage,
  listWebhooks,
  mintToken,
  recentSessions,
  removeWebhook,
  reservationReport,
  runPreflight,
  setScopedLimit,
  summarizeSession,
  testWebhook,
  unpricedRoute,
  usageReport,
  webhookDeliveries,
  type AddWebhookInput,
  type Minted,
  type PathedEntry,
  type PathedPage,
  type ScopedLimit,
  type ScopedLimitOk,
  type SessionSummary,
} from '../ops/index.js';
import { bundledCatalog, type PriceCatalog } from '../pricing/index.js';
import { openStore, StoreUnavailableError, type AuditOptions, type DeliveryState, type LedgerQuery, type RefusalPage, type RefusalQuery, type Store } from '../store/index.js';

/** A ledger entry as the CLI shows it: the stored entry plus the current path of its budget. */
export type CliLedgerEntry = PathedEntry;
export type CliLedgerPage = PathedPage;
export type { PolicyPatch, ScopedLimit, ScopedLimitOk };

export interface CreateBudgetInput {
  path: string;
  kind: BudgetKind;
  limitMicros: number | null;
  period: Period;
  timezone?: string;
  policy?: Policy;
  reason?: string;
}

export interface UpdateBudgetInput {
  path: string;
  /** A number sets the limit, null removes it, undefined leaves it. */
  limitMicros?: number | null;
  period?: Period;
  timezone?: string;
  /** Merged into the budget's existing policy. */
  policyPatch?: PolicyPatch;
  reason?: string;
}

export interface SetStatusInput {
  path: string;
  status: 'active' | 'paused' | 'closed';
  reason?: string;
}

export interface GrantInput {
  path: string;
  amountMicros: number;
  reason?: string;
}

export interface MoveInput {
  path: string;
  /** New parent path, or null to make the budget a root. */
  parent: string | null;
  reason?: string;
}

/** A token to mint under a budget (the shape `bursar tokens mint` passes). */
export interface MintTokenInput {
  path: string;
  limitMicros: number | null;
  models?: string[];
  expiresMs: number | null;
  requestCapMicros?: number;
  inflightMax?: number;
  scopes: string[];
  labels: Labels;
  reason?: string;
}

/** Which sessions to list: the `last` most recently active, optionally since a time or under a budget. */
export interface SessionsQuery {
  last: number;
  sinceMs?: number;
  budget?: string;
}

/** Sessions, most recently active first, as the admin API's `GET /api/sessions` answers. */
export interface SessionsReport {
  sessions: SessionSummary[];
  /** Ledger entries read to find them, and the bound on that read. */
  scanned_entries: number;
  scan_limit: number;
  /** True when the read stopped at its bound: older sessions may be missing. */
  truncated: boolean;
}

export type { SessionSummary };

/** What `bursar usage` asks for: the API's `GET /api/usage` query. */
export interface UsageQueryInput {
  groupBy: GroupBy;
  sinceMs?: number;
  untilMs?: number;
  budget?: string;
  timezone?: string;
  /** Add the reservation metrics (reserve-to-settle ratio, estimate accuracy). */
  reservations?: boolean;
}

/** Usage as `GET /api/usage` answers it, with the reservation metrics when asked for. */
export type UsageAnswer = Omit<Awaited<ReturnType<typeof usageReport>>, 'scan_limit'> & { scan_limit: number; reservations?: ReservationReport };

/** A freshly minted token: its view, its envelope, and the secret (shown once, never stored). */
export type MintedToken = Minted;

/**
 * Every operation the CLI performs. Command code talks only to this interface, so the same
 * commands run against the local database (`LocalBackend`) or, later, a server's admin API.
 * Expected outcomes (unknown budget, refusals) come back as results with a stable code;
 * only a broken store or connection throws.
 *
 * @example
 * const backend = await openLocalBackend({ db: './bursar.db', create: false });
 * const budgets = await backend.listBudgets();
 * await backend.close();
 */
export interface CliBackend {
  /** What the backend talks to, for messages: a database file or a server URL. */
  readonly target: string;
  createBudget(input: CreateBudgetInput): Promise<BudgetOk | Failure>;
  updateBudget(input: UpdateBudgetInput): Promise<BudgetOk | Failure>;
  setStatus(input: SetStatusInput): Promise<BudgetOk | Failure>;
  grant(input: GrantInput): Promise<BudgetOk | Failure>;
  moveBudget(input: MoveInput): Promise<BudgetOk | Failure>;
  /** Closes a budget's tripped burn-limit breaker by hand. */
  resetBreaker(input: { path: string; reason?: string }): Promise<BudgetOk | Failure>;
  /** Sets a model, tag or provider limit: creates its budget the first time, changes its limit after. */
  setScopedLimit(input: ScopedLimit): Promise<ScopedLimitOk | Failure>;
  getBudget(path: string): Promise<BudgetView | undefined>;
  /** Every budget, sorted by path. */
  listBudgets(): Promise<BudgetView[]>;
  /** The model, tag and provider budgets, sorted by path. */
  crossBudgets(): Promise<BudgetView[]>;
  /** The budget and its ancestors, leaf first; empty when the budget does not exist. */
  chain(path: string): Promise<BudgetView[]>;
  /** One page of the ledger. A `budget` filter includes everything under that budget. */
  ledgerPage(query: LedgerQuery): Promise<CliLedgerPage>;
  /** Replays the whole ledger and compares it with the stored balances. */
  audit(options?: AuditOptions): Promise<AuditReport>;
  /** One page of recorded refusals (the API's `GET /api/refusals`); `agent` is a budget path. */
  refusals(query: RefusalQuery): Promise<RefusalPage>;
  mintToken(input: MintTokenInput): Promise<MintedToken | Failure>;
  listTokens(): Promise<TokenView[]>;
  /** Revokes a token and every token delegated from it. */
  revokeToken(input: { id: string; reason?: string }): Promise<RevokeOk | Failure>;
  /** The most recently active sessions with their totals (the API's `GET /api/sessions`). */
  sessions(query: SessionsQuery): Promise<SessionsReport>;
  /** One session's totals, or undefined when no entry carries it. */
  session(id: string): Promise<SessionSummary | undefined>;
  /** Usage grouped as asked (the API's `GET /api/usage`). */
  usage(query: UsageQueryInput): Promise<UsageAnswer>;
  /**
   * A plan checked against its budgets (the API's `POST /api/preflight`). `pricing` replaces
   * the bundled catalog on a local database; a server prices with its own.
   */
  preflight(request: PreflightRequest, pricing?: PriceCatalog): Promise<PreflightReport | Failure>;
  /** Burn rates and run-out times (the API's `GET /api/forecast`). */
  forecast(query: { budget?: string }): Promise<ForecastReport>;
  /** Adds a webhook; the answer holds its secret, shown only this once. */
  addWebhook(input: AddWebhookInput): Promise<{ ok: true; webhook: WebhookView; secret: string } | Failure>;
  listWebhooks(): Promise<WebhookView[]>;
  removeWebhook(id: string): Promise<{ ok: true; dropped: number } | Failure>;
  /** Sends a signed test event to a webhook now (from wherever the backend runs). */
  testWebhook(id: string): Promise<{ ok: true; result: WebhookTestResult } | Failure>;
  webhookDeliveries(id: string, query: { state?: DeliveryState; limit?: number }): Promise<{ ok: true; deliveries: DeliveryView[] } | Failure>;
  close(): Promise<void>;
}

export type { AddWebhookInput };

/**
 * Who the ledger records as the actor of CLI operations: `cli:<user>`, on a local database and
 * (sent as `x-bursar-actor`) through a server alike.
 *
 * @example
 * localActor() // 'cli:alice'
 */
export function localActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/**
 * The CLI's operations over a `Store` opened on this machine.
 *
 * @example
 * const backend = new LocalBackend(await openStore({ db: './bursar.db' }), './bursar.db');
 */
export class LocalBackend implements CliBackend {
  private index: BudgetIndex | undefined;

  constructor(
    private readonly store: Store,
    readonly target: string,
    private readonly actor: string = localActor(),
    /** What brownout tiers, fallbacks and model limits are checked against (a server checks with its own). */
    private readonly pricing: PriceCatalog = bundledCatalog(),
  ) {}

  async createBudget(input: CreateBudgetInput): Promise<BudgetOk | Failure> {
    return unpricedRoute(input.policy, this.pricing) ?? this.store.createBudget({ ...input, actor: this.actor });
  }

  async updateBudget(input: UpdateBudgetInput): Promise<BudgetOk | Failure> {
    const patch = input.policyPatch;
    const unpriced = unpricedRoute(patch && { brownout: patch.brownout ?? undefined, fallbacks: patch.fallbacks ?? undefined }, this.pricing);
    // The store merges the patch inside its transaction, so concurrent edits cannot interleave.
    return unpriced ?? this.store.updateBudget({ ...input, actor: this.actor });
  }

  setScopedLimit(input: ScopedLimit): Promise<ScopedLimitOk | Failure> {
    return setScopedLimit(this.store, this.pricing, { ...input, actor: this.actor });
  }

  setStatus(input: SetStatusInput): Promise<BudgetOk | Failure> {
    return this.store.setStatus({ ...input, actor: this.actor });
  }

  grant(input: GrantInput): Promise<BudgetOk | Failure> {
    return this.store.grant({ ...input, actor: this.actor });
  }

  moveBudget(input: MoveInput): Promise<BudgetOk | Failure> {
    return this.store.moveBudget({ ...input, actor: this.actor });
  }

  resetBreaker(input: { path: string; reason?: string }): Promise<BudgetOk | Failure> {
    return this.store.resetBreaker({ ...input, actor: this.actor });
  }

  getBudget(path: string): Promise<BudgetView | undefined> {
    return this.store.getBudget(path);
  }

  listBudgets(): Promise<BudgetView[]> {
    return this.store.listBudgets();
  }

  crossBudgets(): Promise<BudgetView[]> {
    return this.store.crossBudgets();
  }

  chain(path: string): Promise<BudgetView[]> {
    return this.store.chain(path);
  }

  async ledgerPage(query: LedgerQuery): Promise<CliLedgerPage> {
    const { index, ...page } = await ledgerPage(this.store, query, this.index);
    this.index = index;
    return page;
  }

  audit(options?: AuditOptions): Promise<AuditReport> {
    return this.store.audit(options);
  }

  refusals(query: RefusalQuery): Promise<RefusalPage> {
    return this.store.refusals(query);
  }

  async mintToken(input: MintTokenInput): Promise<MintedToken | Failure> {
    return mintToken(this.store, (n) => randomBytes(n), { ...input, actor: this.actor });
  }

  listTokens(): Promise<TokenView[]> {
    return this.store.listTokens();
  }

  revokeToken(input: { id: string; reason?: string }): Promise<RevokeOk | Failure> {
    return this.store.revokeToken({ tokenId: input.id, reason: input.reason, actor: this.actor });
  }

  // Sessions are totalled by the same operations the admin API uses, so a local report equals a server's.
  async sessions(query: SessionsQuery): Promise<SessionsReport> {
    return recentSessions(this.store, await BudgetIndex.load(this.store), query);
  }

  async session(id: string): Promise<SessionSummary | undefined> {
    return summarizeSession(this.store, await BudgetIndex.load(this.store), id);
  }

  async usage(query: UsageQueryInput): Promise<UsageAnswer> {
    const index = await BudgetIndex.load(this.store);
    const range = { groupBy: query.groupBy, sinceMs: query.sinceMs, untilMs: query.untilMs, budget: query.budget, timezone: query.timezone ?? 'UTC' };
    const report = await usageReport(this.store, index, range);
    return query.reservations === true ? { ...report, reservations: await reservationReport(this.store, index, range) } : report;
  }

  preflight(request: PreflightRequest, pricing: PriceCatalog = bundledCatalog()): Promise<PreflightReport | Failure> {
    return runPreflight(this.store, pricing, request);
  }

  forecast(query: { budget?: string }): Promise<ForecastReport> {
    return forecastReport(this.store, query);
  }

  addWebhook(input: AddWebhookInput): Promise<{ ok: true; webhook: WebhookView; secret: string } | Failure> {
    return addWebhook(this.store, (n) => randomBytes(n), input);
  }

  listWebhooks(): Promise<WebhookView[]> {
    return listWebhooks(this.store);
  }

  removeWebhook(id: string): Promise<{ ok: true; dropped: number } | Failure> {
    return removeWebhook(this.store, id);
  }

  testWebhook(id: string): Promise<{ ok: true; result: WebhookTestResult } | Failure> {
    return testWebhook(this.store, { random: (n) => randomBytes(n) }, id);
  }

  webhookDeliveries(id: string, query: { state?: DeliveryState; limit?: number }): Promise<{ ok: true; deliveries: DeliveryView[] } | Failure> {
    return webhookDeliveries(this.store, id, query);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

export interface OpenLocalOptions {
  /** SQLite file (or `:memory:`). */
  db: string;
  /** Create the database when the file is missing; read-only commands pass false. */
  create: boolean;
}

/**
 * Opens the local database as a CLI backend. A missing file is created only for commands that
 * write, so a mistyped `--db` on a read shows an error instead of an empty, new database.
 *
 * @example
 * const backend = await openLocalBackend({ db: process.env.BURSAR_DB ?? './bursar.db', create: true });
 */
export async function openLocalBackend(options: OpenLocalOptions): Promise<CliBackend> {
  const isFile = options.db !== ':memory:' && !/^postgres(ql)?:\/\//.test(options.db);
  if (isFile && !options.create && !existsSync(options.db)) {
    throw new StoreUnavailableError(`no Bursar database at ${options.db}; pass --db <file> or set BURSAR_DB (commands that write create it)`);
  }
  const store = await openStore({ db: options.db });
  return new LocalBackend(store, options.db);
}
