import { z } from 'zod';
import { isCrossKind, spendKinds, spendOf, type LedgerEntry } from '../../core/index.js';
import type { Store } from '../../store/index.js';
import { contractLimits, isoOrNull, queryInt, routeSpec } from '../../contract/index.js';
import { addSpend, BudgetIndex, emptyTotals, scanNewestFirst } from '../../ops/index.js';
import { route, type Route } from '../deps.js';

/**
 * Reads the dashboard needs besides budgets and the ledger: who the caller is, and each
 * agent's recent activity with the spend rate of the last minutes. Both are plain reads that
 * any key may make.
 */

const tag = 'dashboard';
const minuteMs = 60_000;

/** Bounds of the activity report; units last. */
export const activityLimits = {
  /** Settlements per agent the cost-per-request trend is drawn from. */
  recentCostsMax: 10,
  /** One-minute buckets of the burn series: default and most. */
  burnMinutesDefault: 60,
  burnMinutesMax: 1_440,
  /** Spend entries one report reads, newest first (the usage report's bound). */
  scanEntriesMax: contractLimits.usageScanEntriesMax,
} as const;

const totalsJson = z.object({ cost_micros: z.int(), calls: z.int(), tokens_in: z.int(), tokens_out: z.int(), tokens_cached: z.int() });

const AgentActivityJson = z
  .object({
    agent: z.string().describe('the agent\'s path'),
    last_request_at: z.string().nullable().describe('time of its newest settlement in the scan'),
    recent_costs_micros: z.array(z.int()).describe(`cost of its last ${activityLimits.recentCostsMax} settlements, oldest first`),
    session: totalsJson.extend({ id: z.string() }).nullable().describe('the session of its newest settlement (x-bursar-session) and what that session spent on this agent; null when that call had no session'),
    period: totalsJson.describe('settlements on this agent (and its envelopes) since its current period began'),
  })
  .meta({ id: 'AgentActivity' });

export const ActivityResponse = z.object({
  head_seq: z.int().describe('the newest ledger entry the report covers: apply live events after it'),
  now: z.string().describe('the server\'s clock when the report was made'),
  agents: z.array(AgentActivityJson).describe('agents with spend in the scan, by path'),
  burn: z.object({
    start: z.string().describe('start of the first one-minute bucket'),
    minutes: z.int(),
    roots: z.array(z.object({ root: z.string().describe('a root budget (an org)'), cost_micros: z.array(z.int()).describe('spend settled in each minute, oldest first') })),
  }),
  scanned_entries: z.int(),
  scan_limit: z.int(),
  truncated: z.boolean().describe('true when the scan stopped at its bound: older figures (long periods) are partial'),
});

type AgentActivity = z.output<typeof AgentActivityJson>;

const ActivityQuery = z.strictObject({
  minutes: queryInt(1, activityLimits.burnMinutesMax).optional().describe(`one-minute buckets of the burn series (default ${activityLimits.burnMinutesDefault})`),
});

/** What one agent's spend entries add up to, newest first. */
class AgentAccumulator {
  readonly activity: AgentActivity;
  private sessionSeen = false;

  constructor(
    agent: string,
    private readonly periodStartMs: number,
  ) {
    this.activity = { agent, last_request_at: null, recent_costs_micros: [], session: null, period: emptyTotals() };
  }

  add(e: LedgerEntry): void {
    const a = this.activity;
    a.last_request_at ??= isoOrNull(e.tsMs);
    if (e.kind === 'settle' && a.recent_costs_micros.length < activityLimits.recentCostsMax) a.recent_costs_micros.unshift(e.amountMicros);
    if (!this.sessionSeen) {
      this.sessionSeen = true;
      if (e.session !== null) a.session = { id: e.session, ...emptyTotals() };
    }
    if (a.session !== null && e.session === a.session.id) addSpend(a.session, e);
    if (e.tsMs >= this.periodStartMs) addSpend(a.period, e);
  }
}

/**
 * Each agent's recent activity and the spend per minute of every org (root budget), from one scan of
 * settlements newest first (back to the oldest agent period start, at most
 * `activityLimits.scanEntriesMax` entries).
 *
 * @example
 * const report = await activityReport(store, { minutes: 60 });
 * report.agents[0].recent_costs_micros // [1200, 1350, …]
 */
export async function activityReport(store: Store, o: { minutes: number }): Promise<z.input<typeof ActivityResponse>> {
  const nowMs = store.now();
  const headSeq = (await store.ledger({ order: 'desc', limit: 1 })).entries[0]?.seq ?? 0;
  const index = await BudgetIndex.load(store);
  const budgets = index.all();
  const burnStartMs = Math.floor(nowMs / minuteMs) * minuteMs - (o.minutes - 1) * minuteMs;
  const periodStart = new Map(budgets.filter((b) => b.kind === 'agent').map((b) => [b.path, b.periodStartMs]));
  let sinceMs = burnStartMs;
  for (const startMs of periodStart.values()) sinceMs = Math.min(sinceMs, startMs);
  const agents = new Map<string, AgentAccumulator>();
  const burn = new Map<string, number[]>(budgets.filter((b) => b.parentId === null && !isCrossKind(b.kind)).map((b) => [b.path, new Array<number>(o.minutes).fill(0)]));
  const stats = await scanNewestFirst(store, { kinds: [...spendKinds], sinceMs }, activityLimits.scanEntriesMax, (e) => {
    if (e.seq > headSeq) return true;
    const path = index.pathOf(e.budgetId);
    const minute = Math.floor((e.tsMs - burnStartMs) / minuteMs);
    const series = burn.get(path.split('/')[0] ?? '');
    if (series && minute >= 0 && minute < o.minutes) series[minute] = (series[minute] ?? 0) + (spendOf(e)?.micros ?? 0);
    const agent = index.agentOf(e.budgetId);
    if (agent === null) return true;
    let acc = agents.get(agent);
    if (!acc) agents.set(agent, (acc = new AgentAccumulator(agent, periodStart.get(agent) ?? 0)));
    acc.add(e);
    return true;
  });
  return {
    head_seq: headSeq,
    now: new Date(nowMs).toISOString(),
    agents: [...agents.values()].map((a) => a.activity).sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0)),
    burn: { start: new Date(burnStartMs).toISOString(), minutes: o.minutes, roots: [...burn].map(([root, cost]) => ({ root, cost_micros: cost })) },
    scanned_entries: stats.scanned_entries,
    scan_limit: activityLimits.scanEntriesMax,
    truncated: stats.truncated,
  };
}

const activity = route(
  routeSpec({
  method: 'GET',
  path: '/api/activity',
  operationId: 'activity',
  summary: 'Each agent\'s recent activity and the spend per minute of every org',
  description:
    'For every agent with settlements: its last request, the cost of its last 10 settlements (the trend), its current session and its period totals; and for every root budget the spend settled in each of the last `minutes` minutes. head_seq names the newest entry counted, so a live client applies GET /api/events entries after it.',
  tag,
  access: 'viewer',
  query: ActivityQuery,
    response: { status: 200, description: 'the activity report', schema: ActivityResponse },
  }),
  async ({ query, deps }) => activityReport(deps.store, { minutes: query.minutes ?? activityLimits.burnMinutesDefault }),
);

const whoami = route(
  routeSpec({
  method: 'GET',
  path: '/api/me',
  operationId: 'whoami',
  summary: 'The role of the key sent',
  description: 'admin (reads and writes) or viewer (reads only), and the key\'s id as the ledger records it. Lets a client show only the controls the key may use.',
  tag,
  access: 'viewer',
    response: { status: 200, description: 'the caller', schema: z.object({ role: z.enum(['admin', 'viewer']), key_id: z.string() }) },
  }),
  async ({ principal }) => ({ role: principal?.role ?? 'viewer', key_id: principal?.keyId ?? '' }),
);

export const dashboardRoutes: Route[] = [whoami, activity];
