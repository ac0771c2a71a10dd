import { DateTime } from 'luxon';
import { isCrossKind, limits, parentPath, reservationFromLedger, spendKinds, spendOf, type BudgetView, type LedgerEntry } from '../core/index.js';
import type { LedgerQuery, Store } from '../store/index.js';
import type { BudgetIndex } from './budget-index.js';
import { isoOrNull, type GroupBy, contractLimits } from '../contract/index.js';

/**
 * Usage and sessions, computed from the ledger. Spend is what `spendOf` says each entry adds:
 * settlements, late charges and charged expiries, less refunds (an `overrun` entry repeats part
 * of a settlement, so it is not added again). Every report reads a bounded number of entries, newest first, and says when it
 * stopped early (`truncated`) and from when its figures are complete.
 */

export interface UsageTotals {
  cost_micros: number;
  calls: number;
  tokens_in: number;
  tokens_out: number;
  tokens_cached: number;
}

export interface UsageRow extends UsageTotals {
  key: string | null;
}

/**
 * Zero totals.
 *
 * @example
 * emptyTotals().cost_micros // 0
 */
export function emptyTotals(): UsageTotals {
  return { cost_micros: 0, calls: 0, tokens_in: 0, tokens_out: 0, tokens_cached: 0 };
}

/**
 * Adds one settlement entry to totals; other kinds change nothing.
 *
 * @example
 * addSpend(totals, settleEntry);
 */
export function addSpend(t: UsageTotals, e: LedgerEntry): void {
  const spend = spendOf(e);
  if (!spend) return;
  t.cost_micros += spend.micros;
  if (spend.call) t.calls += 1;
  if (!spend.tokens) return;
  t.tokens_in += e.tokensIn ?? 0;
  t.tokens_out += e.tokensOut ?? 0;
  t.tokens_cached += e.tokensCached ?? 0;
}

/**
 * The group an entry falls in, and for time buckets the bucket's start (for ordering).
 *
 * @example
 * grouper('agent', index, 'UTC')(entry).key // 'acme/research/bot'
 */
export function grouper(groupBy: GroupBy, index: BudgetIndex, timezone: string): (e: LedgerEntry) => { key: string | null; orderMs: number } {
  switch (groupBy) {
    case 'budget':
      return (e) => ({ key: index.pathOf(e.budgetId), orderMs: 0 });
    case 'agent':
      return (e) => ({ key: index.agentOf(e.budgetId), orderMs: 0 });
    case 'session':
      return (e) => ({ key: e.session, orderMs: 0 });
    case 'model':
      return (e) => ({ key: e.model, orderMs: 0 });
    case 'hour':
    case 'day':
      return (e) => {
        const start = DateTime.fromMillis(e.tsMs, { zone: timezone }).startOf(groupBy);
        return { key: start.toISO(), orderMs: start.toMillis() };
      };
  }
}

/**
 * Sums settlement entries into groups. At most `contractLimits.usageGroupsMax` groups are kept;
 * entries of further groups are summed in `other`.
 *
 * @example
 * const acc = new UsageAccumulator('model', index, 'UTC');
 * for (const e of entries) acc.add(e);
 * acc.rows() // [{ key: 'gpt-4o', cost_micros: 900, … }]
 */
export class UsageAccumulator {
  private readonly groups = new Map<string | null, { row: UsageRow; orderMs: number }>();
  readonly totals = emptyTotals();
  other: UsageRow | null = null;
  private readonly keyOf: (e: LedgerEntry) => { key: string | null; orderMs: number };

  constructor(
    private readonly groupBy: GroupBy,
    index: BudgetIndex,
    timezone: string,
  ) {
    this.keyOf = grouper(groupBy, index, timezone);
  }

  add(e: LedgerEntry): void {
    const { key, orderMs } = this.keyOf(e);
    let group = this.groups.get(key);
    if (!group && this.groups.size >= contractLimits.usageGroupsMax) {
      this.other ??= { key: null, ...emptyTotals() };
      addSpend(this.other, e);
    } else {
      if (!group) {
        group = { row: { key, ...emptyTotals() }, orderMs };
        this.groups.set(key, group);
      }
      addSpend(group.row, e);
    }
    addSpend(this.totals, e);
  }

  /** Time buckets oldest first; other groups by cost, highest first, then by key. */
  rows(): UsageRow[] {
    const all = [...this.groups.values()];
    if (this.groupBy === 'hour' || this.groupBy === 'day') return all.sort((a, b) => a.orderMs - b.orderMs).map((g) => g.row);
    return all
      .map((g) => g.row)
      .sort((a, b) => b.cost_micros - a.cost_micros || (a.key === null ? 1 : b.key === null ? -1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

/** What a bounded scan read. */
export interface ScanStats {
  scanned_entries: number;
  /** True when the scan stopped at its bound before the end of the range. */
  truncated: boolean;
  /** Time of the oldest entry read (the scan goes newest first), or null when none was. */
  oldestMs: number | null;
}

/**
 * Reads matching entries newest first, page by page, handing each to `onEntry`, until the
 * range ends, `onEntry` returns false, or `max` entries were read.
 *
 * @example
 * const stats = await scanNewestFirst(store, { kinds: ['settle'] }, 10_000, (e) => { acc.add(e); return true; });
 */
export async function scanNewestFirst(store: Pick<Store, 'ledger'>, query: LedgerQuery, max: number, onEntry: (e: LedgerEntry) => boolean): Promise<ScanStats> {
  const stats: ScanStats = { scanned_entries: 0, truncated: false, oldestMs: null };
  let cursor: string | undefined;
  for (;;) {
    const limit = Math.min(limits.ledgerPageMax, max - stats.scanned_entries);
    const page = await store.ledger({ ...query, cursor, limit, order: 'desc' });
    for (const e of page.entries) {
      stats.scanned_entries += 1;
      stats.oldestMs = e.tsMs;
      if (!onEntry(e)) return stats;
    }
    if (page.nextCursor === null) return stats;
    if (stats.scanned_entries >= max) {
      stats.truncated = true;
      return stats;
    }
    cursor = page.nextCursor;
  }
}

/**
 * The ledger filter that finds the spend a budget sees: entries under it, except that a model
 * budget's spend is on its parent's subtree and a tag's or provider's anywhere (undefined: no filter).
 *
 * @example
 * spendFilter({ path: 'acme/research/model:gpt-4o*', kind: 'model' }) // 'acme/research'
 */
export function spendFilter(root: Pick<BudgetView, 'path' | 'kind'> | undefined): string | undefined {
  if (root === undefined) return undefined;
  if (root.kind === 'model') return parentPath(root.path) ?? undefined;
  return root.kind === 'tag' || root.kind === 'provider' ? undefined : root.path;
}

/** True when some budget cuts across the tree, so spend entries may count on more than their chain. */
export function hasCrossBudgets(budgets: readonly BudgetView[]): boolean {
  return budgets.some((b) => isCrossKind(b.kind) && b.parentId !== null);
}

/**
 * The extra budgets (model, tag, provider) of the reservations made since `sinceMs`, by
 * reservation sequence, from their `reserve` entries (read newest first, at most `max`).
 * Settlements carry only the reservation's sequence; this is where their extra budgets are.
 *
 * @example
 * const held = await extrasOfReservations(store, { sinceMs }, 200_000);
 * held.get(settle.reservationSeq ?? 0) // [12, 14]: ids of acme/research/model:gpt-4o* and providers/openai
 */
export async function extrasOfReservations(store: Pick<Store, 'ledger'>, query: Pick<LedgerQuery, 'budget' | 'sinceMs' | 'untilMs'>, max: number): Promise<Map<number, readonly number[]>> {
  const held = new Map<number, readonly number[]>();
  await scanNewestFirst(store, { ...query, kinds: ['reserve'] }, max, (e) => {
    if (e.data?.includes('"also"')) {
      const also = reservationFromLedger(e).also;
      if (also) held.set(e.seq, also);
    }
    return true;
  });
  return held;
}

/** A usage row of a model, tag or provider budget. */
export interface AcrossRow extends UsageRow {
  kind: 'model' | 'tag' | 'provider';
}

/**
 * Spend on the model, tag and provider budgets: each entry on the extra budgets its reservation
 * held on (not their roots). With a `root` of those kinds, only entries that reached it (or a
 * budget under it) count at all.
 */
class AcrossUsage {
  private readonly byId = new Map<number, AcrossRow>();

  constructor(
    private readonly index: BudgetIndex,
    private readonly root: BudgetView | undefined,
  ) {}

  /** Adds the entry to the rows of its extra budgets; false when a cross-cutting root excludes it. */
  add(e: LedgerEntry, also: readonly number[]): boolean {
    const root = this.root;
    const reached = root === undefined || also.some((id) => { const p = this.index.pathOf(id); return p === root.path || p.startsWith(`${root.path}/`); });
    if (!reached) return false;
    for (const id of also) {
      let row = this.byId.get(id);
      if (!row) {
        const kind = this.index.kindOf(id);
        if (kind !== 'model' && kind !== 'tag' && kind !== 'provider') continue;
        row = { key: this.index.pathOf(id), kind, ...emptyTotals() };
        this.byId.set(id, row);
      }
      addSpend(row, e);
    }
    return true;
  }

  /** By cost, highest first, then by path. */
  rows(): AcrossRow[] {
    return [...this.byId.values()].sort((a, b) => b.cost_micros - a.cost_micros || ((a.key ?? '') < (b.key ?? '') ? -1 : 1));
  }
}

export interface UsageOptions {
  groupBy: GroupBy;
  sinceMs?: number;
  untilMs?: number;
  budget?: string;
  timezone: string;
}

/**
 * Spend grouped by budget, agent, session, model, hour or day over a time range. Reads at most
 * `contractLimits.usageScanEntriesMax` settlement entries, newest first; past that `truncated` is
 * true and `complete_since` says from when the figures are whole.
 *
 * @example
 * const report = await usageReport(store, index, { groupBy: 'agent', sinceMs: Date.now() - 86_400_000, timezone: 'UTC' });
 */
export async function usageReport(store: Pick<Store, 'ledger'>, index: BudgetIndex, o: UsageOptions) {
  const acc = new UsageAccumulator(o.groupBy, index, o.timezone);
  const budgets = index.all();
  const root = o.budget === undefined ? undefined : budgets.find((b) => b.path === o.budget);
  const budget = root ? spendFilter(root) : o.budget;
  // Spend on model, tag and provider budgets: the reserve entries name them, at most a
  // reservation's longest TTL before the spend.
  const sinceReserveMs = o.sinceMs === undefined ? undefined : o.sinceMs - limits.reservationTtlMsMax;
  const held = hasCrossBudgets(budgets) ? await extrasOfReservations(store, { budget, sinceMs: sinceReserveMs, untilMs: o.untilMs }, contractLimits.usageScanEntriesMax) : undefined;
  const across = new AcrossUsage(index, root !== undefined && isCrossKind(root.kind) ? root : undefined);
  const stats = await scanNewestFirst(store, { budget, kinds: [...spendKinds], sinceMs: o.sinceMs, untilMs: o.untilMs }, contractLimits.usageScanEntriesMax, (e) => {
    const also = (e.reservationSeq === null ? undefined : held?.get(e.reservationSeq)) ?? [];
    if (across.add(e, also)) acc.add(e);
    return true;
  });
  // Entries at the oldest time read may be only partly counted; the figures are whole after it.
  const completeSinceMs = stats.truncated && stats.oldestMs !== null ? stats.oldestMs + 1 : (o.sinceMs ?? null);
  return {
    group_by: o.groupBy,
    since: isoOrNull(o.sinceMs ?? null),
    until: isoOrNull(o.untilMs ?? null),
    timezone: o.timezone,
    rows: acc.rows(),
    other: acc.other,
    across: across.rows(),
    totals: acc.totals,
    scanned_entries: stats.scanned_entries,
    scan_limit: contractLimits.usageScanEntriesMax,
    truncated: stats.truncated,
    complete_since: isoOrNull(completeSinceMs),
  };
}

export interface SessionSummary extends UsageTotals {
  id: string;
  started_at: string;
  ended_at: string;
  agents: string[];
  models: string[];
  entries: number;
  truncated: boolean;
}

/**
 * One session's totals from its entries, oldest first; reads at most
 * `contractLimits.sessionEntriesMax` of them. Undefined when the session has no entries.
 *
 * @example
 * const s = await summarizeSession(store, index, 'run-42');
 */
export async function summarizeSession(store: Pick<Store, 'ledger'>, index: BudgetIndex, id: string, budget?: string): Promise<SessionSummary | undefined> {
  const totals = emptyTotals();
  const agents = new Set<string>();
  const models = new Set<string>();
  let first: number | null = null;
  let last: number | null = null;
  let entries = 0;
  let cursor: string | undefined;
  let truncated = false;
  for (;;) {
    const limit = Math.min(limits.ledgerPageMax, contractLimits.sessionEntriesMax - entries);
    const page = await store.ledger({ session: id, budget, cursor, limit, order: 'asc' });
    for (const e of page.entries) {
      entries += 1;
      first ??= e.tsMs;
      last = e.tsMs;
      addSpend(totals, e);
      const agent = index.agentOf(e.budgetId);
      if (agent !== null) agents.add(agent);
      if (e.model !== null) models.add(e.model);
    }
    if (page.nextCursor === null) break;
    if (entries >= contractLimits.sessionEntriesMax) {
      truncated = true;
      break;
    }
    cursor = page.nextCursor;
  }
  if (first === null || last === null) return undefined;
  return { id, started_at: new Date(first).toISOString(), ended_at: new Date(last).toISOString(), ...totals, agents: [...agents].sort(), models: [...models].sort(), entries, truncated };
}

/**
 * The `last` most recently active sessions, newest first. Finds them by reading reservation
 * and settlement entries newest first (at most `contractLimits.sessionScanEntriesMax`), then totals
 * each with `summarizeSession`.
 *
 * @example
 * const { sessions } = await recentSessions(store, index, { last: 30 });
 */
export async function recentSessions(store: Pick<Store, 'ledger'>, index: BudgetIndex, o: { last: number; sinceMs?: number; budget?: string }) {
  const ids: string[] = [];
  const seen = new Set<string>();
  const stats = await scanNewestFirst(store, { budget: o.budget, sinceMs: o.sinceMs, kinds: ['reserve', 'void', ...spendKinds] }, contractLimits.sessionScanEntriesMax, (e) => {
    if (e.session !== null && !seen.has(e.session)) {
      seen.add(e.session);
      ids.push(e.session);
    }
    return ids.length < o.last;
  });
  const sessions: SessionSummary[] = [];
  for (const id of ids) {
    const summary = await summarizeSession(store, index, id, o.budget);
    if (summary) sessions.push(summary);
  }
  return { sessions, scanned_entries: stats.scanned_entries, scan_limit: contractLimits.sessionScanEntriesMax, truncated: stats.truncated };
}
