import { z } from 'zod';
import { contractLimits } from './limits.js';
import { documentSpec, routeSpec } from './route.js';
import {
  ActorHeaders,
  AlertJson,
  AlertsQuery,
  AuditProblemJson,
  BudgetJson,
  BudgetsQuery,
  ClosedPeriodJson,
  CreateBudgetBody,
  EventsHeaders,
  EventsQuery,
  GrantBody,
  groupings,
  LedgerEntryJson,
  LedgerQuery,
  MintTokenBody,
  ModelLimitBody,
  MoveBody,
  PathParams,
  PolicyJson,
  ProviderLimitBody,
  ReasonBody,
  RefusalJson,
  RefusalsQuery,
  ReservationJson,
  ReservationParams,
  ReserveBody,
  scanFields,
  SessionJson,
  SessionParams,
  SessionQuery,
  SessionsQuery,
  SettleBody,
  TagLimitBody,
  TokenJson,
  TokenParams,
  TokensQuery,
  TreeNodeJson,
  TreeQuery,
  UpdateBudgetBody,
  UsageQuery,
  UsageRowJson,
  WriteHeaders,
} from './schemas.js';
import { ForecastQuery, ForecastReportJson, PreflightBody, PreflightReportJson, ReservationReportJson, usageMetrics } from './guard-schemas.js';
import { AddWebhookBody, DeliveriesQuery, DeliveryJson, WebhookJson, WebhookParams, WebhookTestJson } from './webhook-schemas.js';
import { webhookEventKinds } from '../core/index.js';

/**
 * The admin API's routes (under `/api`, with an admin or viewer key, and `/healthz`, `/readyz`,
 * `/metrics`), declared once: the server binds its handlers to these, the OpenAPI document at
 * `/api/openapi.json` is generated from them, and the CLI's remote backend calls them.
 */

export const BudgetResponse = z.object({ budget: BudgetJson });

/** A freshly minted token: its record, flat as in every door's answer, with the token itself and its envelope. */
export const MintedTokenJson = TokenJson.extend({
  token: z.string().describe('the bearer token for the gateway (Authorization: Bearer bsr_…), shown in this response only'),
  envelope: BudgetJson,
});
export const ReservationResponse = z.object({ reservation: ReservationJson });

const nextCursor = z.string().nullable().describe('pass as cursor for the next page; null after the last one');

export const LedgerPageJson = z.object({
  entries: z.array(LedgerEntryJson),
  next_cursor: nextCursor,
});

const totalsJson = z.object({ cost_micros: z.int(), calls: z.int(), tokens_in: z.int(), tokens_out: z.int(), tokens_cached: z.int() });

export const AuditJson = z.object({
  ok: z.boolean(),
  entries: z.int(),
  verified_from_seq: z.int().describe('the replay began after this entry: 0 from the first, else where an earlier audit left its checkpoint'),
  budgets: z.int(),
  closed_periods: z.int(),
  open_reservations: z.int(),
  head_hash: z.string(),
  problems: z.array(AuditProblemJson),
});

function statusSpec<A extends 'pause' | 'resume' | 'close'>(action: A, summary: string) {
  return routeSpec({
    method: 'POST',
    path: `/api/budgets/{path}/${action}`,
    operationId: `${action}Budget`,
    summary,
    tag: 'budgets',
    access: 'admin',
    params: PathParams,
    body: ReasonBody,
    headers: ActorHeaders,
    response: { status: 200, description: 'the budget after the change', schema: BudgetResponse },
  });
}

const pauseBudget = statusSpec('pause', 'Pause a budget: everything under it is refused new reservations');
const resumeBudget = statusSpec('resume', 'Resume a paused budget');
const closeBudget = statusSpec('close', 'Close a budget for good');

const listBudgets = routeSpec({
  method: 'GET',
  path: '/api/budgets',
  operationId: 'listBudgets',
  summary: 'List budgets, sorted by path',
  tag: 'budgets',
  access: 'viewer',
  query: BudgetsQuery,
  response: { status: 200, description: 'the budgets', schema: z.object({ budgets: z.array(BudgetJson) }) },
});

const createBudget = routeSpec({
  method: 'POST',
  path: '/api/budgets',
  operationId: 'createBudget',
  summary: 'Create a budget',
  description: 'Creates a budget at a path. Its parent must exist unless create_parents is true. A child\'s policy may only narrow its parents\'.',
  tag: 'budgets',
  access: 'admin',
  body: CreateBudgetBody,
  headers: WriteHeaders,
  response: { status: 201, description: 'the new budget', schema: BudgetResponse },
});

const getBudget = routeSpec({
  method: 'GET',
  path: '/api/budgets/{path}',
  operationId: 'getBudget',
  summary: 'Read a budget with its chain',
  description: 'The budget, every budget above it (root first), what the tightest level can still take, the policy in force, and the model, tag and provider budgets its calls may also reserve on.',
  tag: 'budgets',
  access: 'viewer',
  params: PathParams,
  response: {
    status: 200,
    description: 'the budget and its chain',
    schema: z.object({
      budget: BudgetJson,
      chain: z.array(BudgetJson).describe('root first, ending with the budget'),
      remaining_micros: z.int().nullable().describe('what the budget can spend now: the least any level has left; null when no level has a limit'),
      tightest: z.string().nullable(),
      effective_policy: PolicyJson,
      across: z.array(BudgetJson).describe('budgets across the tree its calls may also reserve on, by their model and tags: the model budgets under the chain, the tag budgets of the tags its policy requires, every provider budget (model, then tag, then provider); not counted in remaining_micros'),
    }),
  },
});

const updateBudget = routeSpec({
  method: 'PATCH',
  path: '/api/budgets/{path}',
  operationId: 'updateBudget',
  summary: 'Change a budget\'s limit, period, time zone or policy',
  description: 'Only the fields given change. Policy fields are merged into the budget\'s own policy atomically: a value sets one, null removes it.',
  tag: 'budgets',
  access: 'admin',
  params: PathParams,
  body: UpdateBudgetBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the budget after the change', schema: BudgetResponse },
});

const grantBudget = routeSpec({
  method: 'POST',
  path: '/api/budgets/{path}/grant',
  operationId: 'grantBudget',
  summary: 'Top up a budget for its current period',
  description: 'Adds an allowance on top of the limit until the period ends. Refused (budget_unlimited) for a budget without a limit.',
  tag: 'budgets',
  access: 'admin',
  params: PathParams,
  body: GrantBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the budget after the grant', schema: z.object({ budget: BudgetJson, granted_micros: z.int() }) },
});

const moveBudget = routeSpec({
  method: 'POST',
  path: '/api/budgets/{path}/move',
  operationId: 'moveBudget',
  summary: 'Move a budget (and everything under it) to a new parent',
  description: 'Refused while anything under it holds a reservation (budget_busy) and when the new parent lies inside it (tree_cycle).',
  tag: 'budgets',
  access: 'admin',
  params: PathParams,
  body: MoveBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'the budget at its new path', schema: BudgetResponse },
});

const resetBreaker = routeSpec({
  method: 'POST',
  path: '/api/budgets/{path}/reset-breaker',
  operationId: 'resetBreaker',
  summary: 'Close a budget\'s tripped burn-limit breaker by hand',
  description: 'Writes a breaker_closed entry and empties the budget\'s burn windows: whoever resets it vouches for what runs next. A breaker that is closed is left as it is (nothing is written).',
  tag: 'budgets',
  access: 'admin',
  params: PathParams,
  body: ReasonBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'the budget with its breaker closed', schema: BudgetResponse },
});

const ScopedLimitResponse = z.object({ budget: BudgetJson, created: z.boolean().describe('true when this made the budget, false when it changed its limit') });

const setModelLimit = routeSpec({
  method: 'POST',
  path: '/api/budgets/{path}/model-limits',
  operationId: 'setModelLimit',
  summary: 'Limit what the calls under a budget may spend on one model, or on models sharing a prefix',
  description:
    'Creates (or changes the limit of) the model budget <path>/model:<model>, an ordinary budget that every call under <path> for a matching model reserves on besides its chain, in the same transaction: gpt-4o* at 20 USD a day. A refusal names it like any budget. 400 when no priced model matches.',
  tag: 'budgets',
  access: 'admin',
  params: PathParams,
  body: ModelLimitBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'the model budget', schema: ScopedLimitResponse },
  errors: [404],
});

const setTagLimit = routeSpec({
  method: 'POST',
  path: '/api/tags',
  operationId: 'setTagLimit',
  summary: 'Limit what calls carrying a tag may spend, whichever budget they come from',
  description:
    'Creates (or changes the limit of) the tag budget tags/<tag> (and the tags root the first time). A call whose x-bursar-tags (or reservation tags) carries the tag reserves on it besides its chain, in the same transaction. List them with GET /api/budgets?kind=tag.',
  tag: 'budgets',
  access: 'admin',
  body: TagLimitBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'the tag budget', schema: ScopedLimitResponse },
});

const setProviderLimit = routeSpec({
  method: 'POST',
  path: '/api/providers',
  operationId: 'setProviderLimit',
  summary: 'Limit what every call one provider serves may spend, across the installation',
  description:
    'Creates (or changes the limit of) the provider budget providers/<provider> (and the providers root the first time). Every call the gateway sends to that provider reserves on it besides its chain, in the same transaction. 400 for a provider the price catalog does not know. List them with GET /api/budgets?kind=provider.',
  tag: 'budgets',
  access: 'admin',
  body: ProviderLimitBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'the provider budget', schema: ScopedLimitResponse },
});

const closedPeriods = routeSpec({
  method: 'GET',
  path: '/api/budgets/{path}/periods',
  operationId: 'listClosedPeriods',
  summary: 'Totals of a budget\'s closed periods',
  tag: 'budgets',
  access: 'viewer',
  params: PathParams,
  response: { status: 200, description: 'closed periods, oldest first', schema: z.object({ budget: z.string(), periods: z.array(ClosedPeriodJson) }) },
});

const tree = routeSpec({
  method: 'GET',
  path: '/api/tree',
  operationId: 'budgetTree',
  summary: 'The budget tree',
  description: 'Every budget nested under its parent, siblings sorted by name.',
  tag: 'budgets',
  access: 'viewer',
  query: TreeQuery,
  response: { status: 200, description: 'root budgets with their children', schema: z.object({ budgets: z.array(TreeNodeJson) }) },
});

const listTokens = routeSpec({
  method: 'GET',
  path: '/api/tokens',
  operationId: 'listTokens',
  summary: 'List spend tokens (never their secrets)',
  tag: 'tokens',
  access: 'viewer',
  query: TokensQuery,
  response: { status: 200, description: 'the tokens, oldest first', schema: z.object({ tokens: z.array(TokenJson) }) },
});

const getToken = routeSpec({
  method: 'GET',
  path: '/api/tokens/{id}',
  operationId: 'getToken',
  summary: 'Read a spend token and its envelope budget',
  tag: 'tokens',
  access: 'viewer',
  params: TokenParams,
  response: { status: 200, description: 'the token', schema: z.object({ token: TokenJson, envelope: BudgetJson.nullable() }) },
});

const mintToken = routeSpec({
  method: 'POST',
  path: '/api/tokens',
  operationId: 'mintToken',
  summary: 'Mint a spend token; the token itself (bsr_…) is in this response only',
  description:
    'Under a budget (usually an agent) the token gets its own envelope budget whose limit is max_spend_micros. With parent_token_id an admin delegates from a token that has the delegate scope: the child\'s envelope nests in the parent\'s and can only narrow it. The answer is the token\'s record (as in GET /api/tokens/{id}) with `token`, the bearer token (bsr_…) itself, as every door names it (the agent route POST /v1/bursar/tokens, bursar tokens mint --json); it is returned once and never stored: keep it.',
  tag: 'tokens',
  access: 'admin',
  body: MintTokenBody,
  headers: ActorHeaders,
  response: {
    status: 201,
    description: 'the token\'s record, the token itself (shown once) and its envelope budget',
    schema: MintedTokenJson,
  },
});

const revokeToken = routeSpec({
  method: 'POST',
  path: '/api/tokens/{id}/revoke',
  operationId: 'revokeToken',
  summary: 'Revoke a token and every token delegated from it',
  description: 'Their envelopes close; calls in flight settle normally.',
  tag: 'tokens',
  access: 'admin',
  params: TokenParams,
  body: ReasonBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'ids of the tokens revoked', schema: z.object({ revoked: z.array(z.string()) }) },
});

const reserve = routeSpec({
  method: 'POST',
  path: '/api/reservations',
  operationId: 'reserve',
  summary: 'Reserve an amount on a budget and every budget above it',
  description:
    'Admitted only if every level of the chain can take it; refused with budget_exceeded (402) naming the budget and what it has left, or budget_paused, too_many_inflight, request_cost_cap… Released automatically after ttl_ms unless settled or voided.',
  tag: 'reservations',
  access: 'admin',
  body: ReserveBody,
  headers: WriteHeaders,
  response: {
    status: 201,
    description: 'the open reservation',
    schema: z.object({
      reservation: ReservationJson,
      remaining_micros: z.int().nullable().describe('what the tightest budget of the chain can still take'),
      tightest: z.string(),
    }),
  },
});

const getReservation = routeSpec({
  method: 'GET',
  path: '/api/reservations/{id}',
  operationId: 'getReservation',
  summary: 'Read a reservation',
  tag: 'reservations',
  access: 'viewer',
  params: ReservationParams,
  response: { status: 200, description: 'the reservation', schema: ReservationResponse },
});

const settle = routeSpec({
  method: 'POST',
  path: '/api/reservations/{id}/settle',
  operationId: 'settle',
  summary: 'Settle a reservation at what it actually cost',
  description: 'Above the reservation the excess is recorded as an overrun; after expiry the cost is still recorded, as a late charge.',
  tag: 'reservations',
  access: 'admin',
  params: ReservationParams,
  body: SettleBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the settled reservation', schema: z.object({ reservation: ReservationJson, overrun_micros: z.int(), late_charge: z.boolean() }) },
});

const voidReservation = routeSpec({
  method: 'POST',
  path: '/api/reservations/{id}/void',
  operationId: 'voidReservation',
  summary: 'Release a reservation without charging it',
  tag: 'reservations',
  access: 'admin',
  params: ReservationParams,
  body: ReasonBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the voided reservation', schema: ReservationResponse },
});

const listLedger = routeSpec({
  method: 'GET',
  path: '/api/ledger',
  operationId: 'listLedger',
  summary: 'Read the ledger: filter, page, or export as CSV',
  description:
    'JSON answers one page (oldest first unless order=desc) with next_cursor. CSV (format=csv or Accept: text/csv) streams every matching entry from the cursor on, in the columns of `bursar ledger export`, up to the entry that was newest when the export began.',
  tag: 'ledger',
  access: 'viewer',
  query: LedgerQuery,
  response: { status: 200, description: 'a page of entries', schema: LedgerPageJson, alt: [{ contentType: 'text/csv', description: 'every matching entry (RFC 4180, CRLF, header row)' }] },
});

const listAlerts = routeSpec({
  method: 'GET',
  path: '/api/alerts',
  operationId: 'listAlerts',
  summary: 'Threshold alerts: when spent, or spent + reserved, reached a percentage of a budget\'s limit',
  description:
    'Each alert is an `alert` ledger entry (also sent on /api/events), raised once per budget, basis, threshold and period in the transaction that crossed it. Thresholds are the policy\'s alert_thresholds_pct (default 50, 75, 90, 100). Paged like the ledger.',
  tag: 'alerts',
  access: 'viewer',
  query: AlertsQuery,
  response: {
    status: 200,
    description: 'a page of alerts',
    schema: z.object({ alerts: z.array(AlertJson), next_cursor: nextCursor }),
  },
});

const listRefusals = routeSpec({
  method: 'GET',
  path: '/api/refusals',
  operationId: 'listRefusals',
  summary: 'Refused spend: who was refused what, where, and how often',
  description:
    'Every 402, 403 and 429 the gateway, the agent routes and tool reservations answer (and 503 store_unavailable, written once the store is back) is recorded here and sent on /api/events as `event: refusal`. Refusals are not ledger entries: they move no money and touch no balance. The same code on the same budget for the same agent within a minute is one row with a count and its first and last time. The table keeps the newest 10,000 rows and none older than 30 days. Paged by id.',
  tag: 'refusals',
  access: 'viewer',
  query: RefusalsQuery,
  response: {
    status: 200,
    description: 'a page of refusals',
    schema: z.object({ refusals: z.array(RefusalJson), next_cursor: nextCursor }),
  },
  errors: [404],
});

const usage = routeSpec({
  method: 'GET',
  path: '/api/usage',
  operationId: 'usage',
  summary: 'Spend grouped by budget, agent, session, model, hour or day',
  description: `Sums settlements and late charges in the range. Reads at most ${contractLimits.usageScanEntriesMax} settlement entries, newest first; past that truncated is true and complete_since says from when the figures are whole (narrow since/until for the rest). With metrics=reservations it also says, per group and model, what became of the reservations made in the range (settled, voided, expired, charged), the reserve-to-settle ratio and the estimate accuracy, from at most ${contractLimits.reservationScanEntriesMax} reservation entries.`,
  tag: 'usage',
  access: 'viewer',
  query: UsageQuery.extend({ metrics: z.enum(usageMetrics).optional().describe('reservations: add the reserve-to-settle ratio and estimate accuracy per group and model') }),
  response: {
    status: 200,
    description: 'the groups',
    schema: z.object({
      group_by: z.enum(groupings),
      since: z.string().nullable(),
      until: z.string().nullable(),
      timezone: z.string(),
      rows: z.array(UsageRowJson).describe('time buckets oldest first; other groups by cost, highest first'),
      other: UsageRowJson.nullable().describe(`groups beyond the first ${contractLimits.usageGroupsMax}, summed`),
      across: z
        .array(UsageRowJson.extend({ kind: z.enum(['model', 'tag', 'provider']) }))
        .describe('spend in the range on the model, tag and provider budgets its calls also reserved on (key: the budget\'s path), by cost; these repeat spend the rows already count, so they are not in totals'),
      totals: totalsJson,
      ...scanFields,
      complete_since: z.string().nullable().describe('figures include every entry from this time on (null: from the beginning)'),
      reservations: ReservationReportJson.optional().describe('with metrics=reservations'),
    }),
  },
});

const preflight = routeSpec({
  method: 'POST',
  path: '/api/preflight',
  operationId: 'preflight',
  summary: 'Price a plan against the budgets it would spend from, with ✓ / ⚠ / ✗ checks',
  description: `A plan lists calls (budget or token, model, input tokens or text, output cap, count, title). Each is priced as the gateway would reserve it (its worst case) and set against what every budget on its path can still spend; the checks cover the queue size, test-like titles, budget and token status, model policy and per-request caps, budget availability, in-flight caps against the planned concurrency, and a total above the confirmation threshold (confirm with confirmed: true). Nothing is reserved. Unknown fields, counts out of range and unpriced models are 400 naming the field; an unknown budget or token is 404. Bodies up to ${contractLimits.planBodyBytesMax} bytes.`,
  tag: 'guards',
  access: 'viewer',
  body: PreflightBody,
  bodyBytesMax: contractLimits.planBodyBytesMax,
  response: { status: 200, description: 'the report; proceed says whether the plan is cleared', schema: PreflightReportJson },
  errors: [404, 413],
});

const forecast = routeSpec({
  method: 'GET',
  path: '/api/forecast',
  operationId: 'forecast',
  summary: 'Burn rate per budget over the last 5 minutes, hour and day, and when each runs out at that rate',
  description: `Spend is what settlements, late charges and charged expiries add, less refunds, on each budget and everything under it. Each window's rate is its net spend over the whole window; runs_out_at is when what the budget has left (counting reservations as spent) would be gone at that rate, or the outlook says why not (not_this_period: the period resets first). Reads at most ${contractLimits.forecastScanEntriesMax} entries of the last 24 hours, newest first; past that truncated is true and the windows that start before complete_since are rated over the part read. Spend tokens' envelopes are listed when they spent in the last 24 hours.`,
  tag: 'guards',
  access: 'viewer',
  query: ForecastQuery,
  response: { status: 200, description: 'the forecast, soonest to run out first', schema: ForecastReportJson },
  errors: [404],
});

const listWebhooks = routeSpec({
  method: 'GET',
  path: '/api/webhooks',
  operationId: 'listWebhooks',
  summary: 'Webhooks, with what became of their deliveries',
  description: 'Never a secret, only its first characters. Admin only: a webhook URL (Slack\'s, for one) is often a credential itself.',
  tag: 'webhooks',
  access: 'admin',
  response: { status: 200, description: 'the webhooks, oldest first', schema: z.object({ webhooks: z.array(WebhookJson) }) },
});

const addWebhook = routeSpec({
  method: 'POST',
  path: '/api/webhooks',
  operationId: 'addWebhook',
  summary: 'Add a webhook; its signing secret is in this response only',
  description: `Events (${webhookEventKinds.join(', ')}) are queued in the transaction of the ledger entry that raised them and POSTed to the URL at least once, retried with exponential backoff while it fails, each with an Idempotency-Key (the event id) and a Bursar-Signature header (HMAC-SHA256 with the webhook's secret). At most ${contractLimits.webhooksMax} webhooks (webhook_limit).`,
  tag: 'webhooks',
  access: 'admin',
  body: AddWebhookBody,
  response: { status: 201, description: 'the webhook and its secret (shown once)', schema: z.object({ webhook: WebhookJson, secret: z.string().describe('the signing secret: verify Bursar-Signature with it') }) },
});

const removeWebhook = routeSpec({
  method: 'DELETE',
  path: '/api/webhooks/{id}',
  operationId: 'removeWebhook',
  summary: 'Remove a webhook and every delivery still queued for it',
  tag: 'webhooks',
  access: 'admin',
  params: WebhookParams,
  response: { status: 200, description: 'what was removed', schema: z.object({ removed: z.string(), dropped_pending: z.int().describe('queued deliveries dropped with it') }) },
});

const testWebhook = routeSpec({
  method: 'POST',
  path: '/api/webhooks/{id}/test',
  operationId: 'testWebhook',
  summary: 'Send a signed test event to a webhook now and report the receiver\'s answer',
  description: 'One attempt, not queued and not retried; kind is test. A receiver that fails is reported (delivered: false, with its status or error), not refused.',
  tag: 'webhooks',
  access: 'admin',
  params: WebhookParams,
  response: { status: 200, description: 'what the receiver answered', schema: WebhookTestJson },
});

const listWebhookDeliveries = routeSpec({
  method: 'GET',
  path: '/api/webhooks/{id}/deliveries',
  operationId: 'listWebhookDeliveries',
  summary: 'A webhook\'s deliveries, newest first: pending, delivered and given up',
  description: `Delivered and given-up deliveries are kept for ${contractLimits.webhookDeliveryRetentionMs / 86_400_000} days.`,
  tag: 'webhooks',
  access: 'admin',
  params: WebhookParams,
  query: DeliveriesQuery,
  response: { status: 200, description: 'the deliveries', schema: z.object({ deliveries: z.array(DeliveryJson) }) },
});

const listSessions = routeSpec({
  method: 'GET',
  path: '/api/sessions',
  operationId: 'listSessions',
  summary: 'The most recently active sessions with their spend',
  description: `Sessions are the x-bursar-session labels of calls and reservations. Found by reading at most ${contractLimits.sessionScanEntriesMax} entries newest first; each is then totalled from its own entries (at most ${contractLimits.sessionEntriesMax}).`,
  tag: 'sessions',
  access: 'viewer',
  query: SessionsQuery,
  response: {
    status: 200,
    description: 'sessions, most recently active first',
    schema: z.object({ sessions: z.array(SessionJson), ...scanFields }),
  },
});

const getSession = routeSpec({
  method: 'GET',
  path: '/api/sessions/{id}',
  operationId: 'getSession',
  summary: 'One session: its totals and its ledger entries (or all of them as CSV)',
  tag: 'sessions',
  access: 'viewer',
  params: SessionParams,
  query: SessionQuery,
  response: {
    status: 200,
    description: 'the session and a page of its entries',
    schema: LedgerPageJson.extend({ session: SessionJson }),
    alt: [{ contentType: 'text/csv', description: 'every entry of the session' }],
  },
});

const events = routeSpec({
  method: 'GET',
  path: '/api/events',
  operationId: 'events',
  summary: 'Every committed ledger entry and every recorded refusal, live, as Server-Sent Events',
  description:
    'Each event is `id: <seq>`, `event: ledger`, `data: <entry as in GET /api/ledger>`. Reconnecting with Last-Event-ID (or ?last_event_id=) first replays the entries after it from the ledger. A comment line is sent every 15 s. `event: gap` names sequences skipped when too many were missed. Refused spend arrives as `event: refusal` (no id: refusals are not ledger entries and are not replayed), with the row as in GET /api/refusals, again as its count grows.',
  tag: 'events',
  access: 'viewer',
  query: EventsQuery,
  headers: EventsHeaders,
  response: { status: 200, description: 'an endless event stream', schema: z.never(), alt: [{ contentType: 'text/event-stream', description: 'ledger entries as they commit' }] },
});

const audit = routeSpec({
  method: 'GET',
  path: '/api/audit',
  operationId: 'audit',
  summary: 'Replay the ledger and compare it with the stored balances',
  description:
    'Checks the hash chain, every entry against the ones before it, and every balance, closed period and open reservation. Replays from the checkpoint the last successful audit left, once it has checked the ledger still holds that entry with that hash; full=true replays from the first entry. Admin only.',
  tag: 'audit',
  access: 'admin',
  query: z.strictObject({ full: z.enum(['true', 'false']).optional().describe('true: replay from the first entry, not from the last audit\'s checkpoint') }),
  response: {
    status: 200,
    description: 'the audit report (ok false lists each problem)',
    schema: AuditJson,
  },
});

const openapi = documentSpec({ path: '/api/openapi.json', operationId: 'openapi', summary: 'This API\'s OpenAPI 3.1 document', tag: 'system', answer: 'the OpenAPI document' });

const healthz = routeSpec({
  method: 'GET',
  path: '/healthz',
  operationId: 'healthz',
  summary: 'Liveness: the process answers',
  tag: 'system',
  access: 'public',
  response: { status: 200, description: 'up', schema: z.object({ ok: z.literal(true), status: z.literal('up') }) },
});

const readyz = routeSpec({
  method: 'GET',
  path: '/readyz',
  operationId: 'readyz',
  summary: 'Readiness: the store answers (503 store_unavailable otherwise)',
  tag: 'system',
  access: 'public',
  response: { status: 200, description: 'ready', schema: z.object({ ok: z.literal(true), status: z.literal('ready'), store: z.enum(['sqlite', 'postgres']) }) },
});

const metrics = routeSpec({
  method: 'GET',
  path: '/metrics',
  operationId: 'metrics',
  summary: 'Prometheus metrics (text exposition format 0.0.4)',
  description: 'Requests and refusals by surface, route and code; reservation and upstream latency histograms; ledger entries by kind; micros settled; open event streams; webhook delivery attempts by outcome and deliveries pending. Needs no key: it holds counts, never amounts per budget or names.',
  tag: 'system',
  access: 'public',
  response: { status: 200, description: 'metrics', schema: z.never(), alt: [{ contentType: 'text/plain; version=0.0.4', description: 'Prometheus text format' }] },
});

/**
 * Every admin API route, in the order the OpenAPI document lists them.
 *
 * @example
 * urlOf(adminRoutes.grantBudget, { path: 'acme' }) // '/api/budgets/acme/grant'
 */
export const adminRoutes = {
  listBudgets,
  createBudget,
  tree,
  getBudget,
  updateBudget,
  pauseBudget,
  resumeBudget,
  closeBudget,
  grantBudget,
  moveBudget,
  resetBreaker,
  closedPeriods,
  setModelLimit,
  setTagLimit,
  setProviderLimit,
  listTokens,
  mintToken,
  getToken,
  revokeToken,
  reserve,
  getReservation,
  settle,
  voidReservation,
  listLedger,
  listAlerts,
  listRefusals,
  usage,
  preflight,
  forecast,
  listWebhooks,
  addWebhook,
  removeWebhook,
  testWebhook,
  listWebhookDeliveries,
  listSessions,
  getSession,
  events,
  audit,
  openapi,
  healthz,
  readyz,
  metrics,
};
