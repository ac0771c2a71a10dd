import { z } from 'zod';
import type { Store } from '../../store/index.js';
import { BudgetIndex } from '../budget-index.js';
import { route, type Route } from '../deps.js';
import { ApiError } from '../errors.js';
import { apiLimits } from '../limits.js';
import { SessionJson, SessionParams, SessionQuery, SessionsQuery, UsageQuery, UsageRowJson, groupings } from '../schemas.js';
import { recentSessions, summarizeSession, usageReport } from '../usage.js';
import { guardLimits } from '../../guards/index.js';
import { reservationReport } from '../../ops/reservation-report.js';
import { ReservationReportJson } from '../guard-schemas.js';
import { LedgerPageJson, ledgerAnswer, wantsCsv } from './ledger.js';

const totalsJson = z.object({ cost_micros: z.int(), calls: z.int(), tokens_in: z.int(), tokens_out: z.int(), tokens_cached: z.int() });

async function checkBudget(store: Store, path: string | undefined): Promise<void> {
  if (path !== undefined && !(await store.getBudget(path))) throw new ApiError('unknown_budget', `no budget at ${path}`, { field: 'budget' });
}

const usage = route({
  method: 'GET',
  path: '/api/usage',
  operationId: 'usage',
  summary: 'Spend grouped by budget, agent, session, model, hour or day',
  description: `Sums settlements and late charges in the range. Reads at most ${apiLimits.usageScanEntriesMax} settlement entries, newest first; past that truncated is true and complete_since says from when the figures are whole (narrow since/until for the rest). With metrics=reservations it also says, per group and model, what became of the reservations made in the range (settled, voided, expired, charged), the reserve-to-settle ratio and the estimate accuracy, from at most ${guardLimits.reservationScanEntriesMax} reservation entries.`,
  tag: 'usage',
  access: 'viewer',
  query: UsageQuery.extend({ metrics: z.enum(['reservations']).optional().describe('reservations: add the reserve-to-settle ratio and estimate accuracy per group and model') }),
  response: {
    status: 200,
    description: 'the groups',
    schema: z.object({
      group_by: z.enum(groupings),
      since: z.string().nullable(),
      until: z.string().nullable(),
      timezone: z.string(),
      rows: z.array(UsageRowJson).describe('time buckets oldest first; other groups by cost, highest first'),
      other: UsageRowJson.nullable().describe(`groups beyond the first ${apiLimits.usageGroupsMax}, summed`),
      totals: totalsJson,
      scanned_entries: z.int(),
      scan_limit: z.int(),
      truncated: z.boolean(),
      complete_since: z.string().nullable().describe('figures include every entry from this time on (null: from the beginning)'),
      reservations: ReservationReportJson.optional().describe('with metrics=reservations'),
    }),
  },
  handler: async ({ query, deps }) => {
    await checkBudget(deps.store, query.budget);
    const index = await BudgetIndex.load(deps.store);
    const range = { groupBy: query.group_by, sinceMs: query.since, untilMs: query.until, budget: query.budget, timezone: query.timezone ?? 'UTC' };
    const report = await usageReport(deps.store, index, range);
    return query.metrics === 'reservations' ? { ...report, reservations: await reservationReport(deps.store, index, range) } : report;
  },
});

const listSessions = route({
  method: 'GET',
  path: '/api/sessions',
  operationId: 'listSessions',
  summary: 'The most recently active sessions with their spend',
  description: `Sessions are the x-bursar-session labels of calls and reservations. Found by reading at most ${apiLimits.sessionScanEntriesMax} entries newest first; each is then totalled from its own entries (at most ${apiLimits.sessionEntriesMax}).`,
  tag: 'sessions',
  access: 'viewer',
  query: SessionsQuery,
  response: {
    status: 200,
    description: 'sessions, most recently active first',
    schema: z.object({ sessions: z.array(SessionJson), scanned_entries: z.int(), scan_limit: z.int(), truncated: z.boolean() }),
  },
  handler: async ({ query, deps }) => {
    await checkBudget(deps.store, query.budget);
    const index = await BudgetIndex.load(deps.store);
    return recentSessions(deps.store, index, { last: query.last ?? apiLimits.sessionsListDefault, sinceMs: query.since, budget: query.budget });
  },
});

const getSession = route({
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
  handler: async ({ params, query, deps, request, reply }) => {
    const index = await BudgetIndex.load(deps.store);
    const summary = await summarizeSession(deps.store, index, params.id);
    if (!summary) throw new ApiError('not_found', `no ledger entries for session ${params.id}`, { field: 'id' });
    const filters = { session: params.id, cursor: query.cursor, limit: query.limit, order: query.order };
    const safeName = params.id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
    const answer = await ledgerAnswer(deps.store, filters, { csv: wantsCsv(query.format, request), reply, filename: `bursar-session-${safeName}.csv` });
    return typeof answer === 'symbol' ? answer : { session: summary, ...answer };
  },
});

export const usageRoutes: Route[] = [usage, listSessions, getSession];
