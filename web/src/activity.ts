import type { AgentActivity, Budget, Entry } from './api.js';

/**
 * What live ledger entries change on the page, as pure functions: an agent's activity (last
 * request, recent costs, session and period totals), the spend per minute of each org, and
 * budgets merged so that unchanged ones keep their identity (their rows are not redrawn).
 */

/** Settlements per agent the trend is drawn from (as GET /api/activity sends). */
export const recentCostsMax = 10;
export const minuteMs = 60_000;

/** Spend kinds: a settlement and a late charge are money spent; nothing else is. */
export function isSpend(e: Pick<Entry, 'kind'>): boolean {
  return e.kind === 'settle' || e.kind === 'late_charge';
}

/**
 * The agent a budget path belongs to: the nearest budget of kind `agent` at or above it.
 * Works for an envelope the page has not loaded yet, since its path starts with its agent's.
 *
 * @example
 * agentOf('acme/bot/tok_x', budgets) // 'acme/bot'
 */
export function agentOf(path: string, budgets: ReadonlyMap<string, Pick<Budget, 'kind'>>): string | undefined {
  let at = path;
  for (;;) {
    if (budgets.get(at)?.kind === 'agent') return at;
    const slash = at.lastIndexOf('/');
    if (slash < 0) return undefined;
    at = at.slice(0, slash);
  }
}

function added(t: { cost_micros: number; calls: number; tokens_in: number; tokens_out: number; tokens_cached: number }, e: Entry) {
  return { cost_micros: t.cost_micros + e.amount_micros, calls: t.calls + 1, tokens_in: t.tokens_in + (e.tokens_in ?? 0), tokens_out: t.tokens_out + (e.tokens_out ?? 0), tokens_cached: t.tokens_cached + (e.tokens_cached ?? 0) };
}

const zero = { cost_micros: 0, calls: 0, tokens_in: 0, tokens_out: 0, tokens_cached: 0 };

/**
 * An agent's activity after one more spend entry (a new object; the old one is unchanged).
 * A settlement in another session starts that session's totals afresh.
 *
 * @example
 * const next = withSpend(current, 'acme/bot', entry, Date.parse(budget.period_start));
 */
export function withSpend(current: AgentActivity | undefined, agent: string, e: Entry, periodStartMs: number): AgentActivity {
  const a = current ?? { agent, last_request_at: null, recent_costs_micros: [], session: null, period: zero };
  const newer = a.last_request_at === null || e.ts_ms >= Date.parse(a.last_request_at);
  const recent = e.kind === 'settle' ? [...a.recent_costs_micros, e.amount_micros].slice(-recentCostsMax) : a.recent_costs_micros;
  let session = a.session;
  if (newer) {
    if (e.session === null) session = null;
    else session = { id: e.session, ...added(a.session?.id === e.session ? a.session : zero, e) };
  } else if (session !== null && e.session === session.id) {
    session = { ...session, ...added(session, e) };
  }
  return {
    agent,
    last_request_at: newer ? e.ts : a.last_request_at,
    recent_costs_micros: recent,
    session,
    period: e.ts_ms >= periodStartMs ? added(a.period, e) : a.period,
  };
}

/**
 * Spend per minute for each org: `root → epoch minute → micros`, trimmed to a window.
 *
 * @example
 * const burn = new BurnSeries(60);
 * burn.add('acme', Date.now(), 1_200);
 * burn.series('acme', Date.now()) // 60 numbers, the last holding 1200
 */
export class BurnSeries {
  private readonly byRoot = new Map<string, Map<number, number>>();

  constructor(readonly minutes: number) {}

  add(root: string, tsMs: number, micros: number): void {
    let minutes = this.byRoot.get(root);
    if (!minutes) this.byRoot.set(root, (minutes = new Map<number, number>()));
    const minute = Math.floor(tsMs / minuteMs);
    minutes.set(minute, (minutes.get(minute) ?? 0) + micros);
  }

  /** Loads the buckets GET /api/activity sends (the first starting at `startMs`). */
  load(roots: readonly { root: string; cost_micros: readonly number[] }[], startMs: number): void {
    this.byRoot.clear();
    for (const r of roots) {
      this.byRoot.set(r.root, new Map<number, number>());
      r.cost_micros.forEach((micros, i) => {
        if (micros > 0) this.add(r.root, startMs + i * minuteMs, micros);
      });
    }
  }

  /** The last `minutes` one-minute totals up to the one holding `nowMs`, oldest first; all roots when none is named. */
  series(root: string | undefined, nowMs: number): number[] {
    const last = Math.floor(nowMs / minuteMs);
    const out = new Array<number>(this.minutes).fill(0);
    for (const [name, minutes] of this.byRoot) {
      if (root !== undefined && name !== root) continue;
      for (const [minute, micros] of minutes) {
        const i = minute - (last - this.minutes + 1);
        if (i >= 0 && i < this.minutes) out[i] = (out[i] ?? 0) + micros;
      }
    }
    return out;
  }

  /** Forgets minutes older than the window. */
  prune(nowMs: number): void {
    const first = Math.floor(nowMs / minuteMs) - this.minutes + 1;
    for (const minutes of this.byRoot.values()) for (const minute of minutes.keys()) if (minute < first) minutes.delete(minute);
  }
}

function sameBudget(a: Budget, b: Budget): boolean {
  return (
    a.spent_micros === b.spent_micros &&
    a.reserved_micros === b.reserved_micros &&
    a.limit_micros === b.limit_micros &&
    a.granted_micros === b.granted_micros &&
    a.overrun_micros === b.overrun_micros &&
    a.status === b.status &&
    a.inflight === b.inflight &&
    a.period === b.period &&
    a.period_start === b.period_start &&
    a.timezone === b.timezone &&
    a.path === b.path &&
    a.parent_id === b.parent_id &&
    JSON.stringify(a.policy) === JSON.stringify(b.policy)
  );
}

/**
 * Merges fresh budgets into the map by path, keeping the old object where nothing changed;
 * with `complete`, budgets missing from `fresh` are removed. Returns whether anything changed.
 *
 * @example
 * if (mergeBudgets(budgets, chain, false)) redraw();
 */
export function mergeBudgets(budgets: Map<string, Budget>, fresh: readonly Budget[], complete: boolean): boolean {
  let changed = false;
  for (const b of fresh) {
    const old = budgets.get(b.path);
    if (old && sameBudget(old, b)) continue;
    budgets.set(b.path, b);
    changed = true;
  }
  if (complete && budgets.size !== fresh.length) {
    const keep = new Set(fresh.map((b) => b.path));
    for (const path of [...budgets.keys()]) if (!keep.has(path)) budgets.delete(path);
    changed = true;
  }
  return changed;
}
