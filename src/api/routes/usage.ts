import { z } from 'zod';
import type { Store } from '../../store/index.js';
import { route, type Route } from '../deps.js';
import { contractLimits, WireError, wireErrorOf, SessionJson, SessionParams, SessionQuery, SessionsQuery, UsageQuery, UsageRowJson, groupings } from '../../contract/index.js';
import { BudgetIndex, opsLimits, recentSessions, summarizeSession, unknownBudget, usageReport } from '../../ops/index.js';
import { LedgerPageJson, ledgerAnswer, wantsCsv } from './ledger.js';

const totalsJson = z.object({ cost_micros: z.int(), calls: z.int(), tokens_in: z.int(), tokens_out: z.int(), tokens_cached: z.int() });

async function checkBudget(store: Store, path: string | undefined): Promise<void> {
  if (path !== undefined && !(await store.getBudget(path))) throw wireErrorOf(unknownBudget(path, 'budget'));
}

const usage = route({
  method: 'GET',
  path: '/api/usage',
  operationId: 'usage',
  summary: 'Spend grouped by budget, agent, session, model, hour or day',
  description: `Sums settlements and late charges in the range. Reads at most ${opsLimits.usageScanEntriesMax} settlement entries, newest first; past that truncated is true and complete_since says from when the figures are whole (narrow since/until for the rest).`,
  tag: 'usage',
  access: 'viewer',
  query: UsageQuery,
  response: {
    status: 200,
    description: 'the groups',
    schema: z.object({
      group_by: z.enum(groupings),
      since: z.string().nullable(),
      until: z.string().nullable(),
      timezone: z.string(),
      rows: z.array(UsageRowJson).describe('time buckets oldest first; other groups by cost, highest first'),
      other: UsageRowJson.nullable().describe(`groups beyond the first ${opsLimits.usageGroupsMax}, summed`),
      totals: totalsJson,
      scanned_entries: z.int(),
      scan_limit: z.int(),
      truncated: z.boolean(),
      complete_since: z.string().nullable().describe('figures include every entry from this time on (null: from the beginning)'),
    }),
  },
  handler: async ({ query, deps }) => {
    await checkBudget(deps.store, query.budget);
    const index = await BudgetIndex.load(deps.store);
    return usageReport(deps.store, index, { groupBy: query.group_by, sinceMs: query.since, untilMs: query.until, budget: query.budget, timezone: query.timezone ?? 'UTC' });
  },
});

const listSessions = route({
  method: 'GET',
  path: '/api/sessions',
  operationId: 'listSessions',
  summary: 'The most recently active sessions with their spend',
  description: `Sessions are the x-bursar-session labels of calls and reservations. Found by reading at most ${opsLimits.sessionScanEntriesMax} entries newest first; each is then totalled from its own entries (at most ${opsLimits.sessionEntriesMax}).`,
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
    return recentSessions(deps.store, index, { last: query.last ?? contractLimits.sessionsListDefault, sinceMs: query.since, budget: query.budget });
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
    if (!summary) throw new WireError('not_found', `no ledger entries for session ${params.id}`, { field: 'id' });
    const filters = { session: params.id, cursor: query.cursor, limit: query.limit, order: query.order };
    const safeName = params.id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
    const answer = await ledgerAnswer(deps.store, filters, { csv: wantsCsv(query.format, request), reply, filename: `bursar-session-${safeName}.csv` });
    return typeof answer === 'symbol' ? answer : { session: summary, ...answer };
  },
});

export const usageRoutes: Route[] = [usage, listSessions, getSession];
