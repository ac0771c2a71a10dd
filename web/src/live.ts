import { agentOf, BurnSeries, isSpend, mergeBudgets, withSpend } from './activity.js';
import { ApiFailure, budgetUrl, type Activity, type AgentActivity, type Api, type Budget, type Entry, type Role } from './api.js';
import { openEventStream, type SseEvent, type StreamState } from './sse.js';

/**
 * The page's live picture of the server: budgets, each agent's activity, spend per minute and
 * a feed of notable entries. Loaded once, then kept current from GET /api/events: spend
 * entries update activity directly; any entry marks its budget, whose chain is re-read (a few
 * at a time, at most every `flushMs`), so balances always come from the server.
 */

/** Kinds shown in the activity feed: changes a person made or should notice, threshold alerts and the burn-limit breaker. */
export const notableKinds = ['pause', 'resume', 'close', 'overrun', 'expire', 'limit_change', 'policy_change', 'grant', 'token_minted', 'token_revoked', 'budget_created', 'budget_moved', 'alert', 'breaker_tripped', 'breaker_closed'] as const;

/**
 * A server-side notice sent on the event stream as `event: alert` or `event: refusal`. A
 * refusal row is sent again as its count grows: the notice with its id is replaced.
 */
export interface Notice {
  kind: 'alert' | 'refusal';
  /** The refusal row's id, when it has one. */
  id: number | undefined;
  ts: string;
  code: string;
  budget: string | undefined;
  message: string;
  /** Refusals the row stands for. */
  count: number;
}

export const liveLimits = {
  /** Budgets marked by events are re-read at most this often. */
  flushMs: 300,
  /** More marked budgets than this and the whole list is re-read instead, at most every `fullReadMs`. */
  chainReadsMax: 12,
  fullReadMs: 1_000,
  chainReadsParallel: 4,
  feedItemsMax: 50,
  noticesMax: 100,
  /** Refusals read at start (GET /api/refusals), newest first. */
  refusalsLoaded: 20,
  burnMinutes: 60,
  /** Relative times ("12 s ago") and the burn window move on this often. */
  tickMs: 10_000,
} as const;

type Listener = () => void;

/** A notice from an event's body (or a row of GET /api/refusals), whatever it lacks filled in. */
function noticeOf(kind: 'alert' | 'refusal', body: Record<string, unknown>, nowMs: number): Notice {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const ts = text(body.last_at) ?? text(body.ts) ?? new Date(nowMs).toISOString();
  return { kind, id: typeof body.id === 'number' ? body.id : undefined, ts, code: text(body.code) ?? kind, budget: text(body.budget), message: text(body.message) ?? '', count: typeof body.count === 'number' ? body.count : 1 };
}

export class Live {
  readonly budgets = new Map<string, Budget>();
  readonly activity = new Map<string, AgentActivity>();
  readonly burn = new BurnSeries(liveLimits.burnMinutes);
  /** Notable ledger entries, newest first. */
  feed: Entry[] = [];
  notices: Notice[] = [];
  connection: StreamState = 'connecting';
  loaded = false;
  /** Bumped whenever anything changes; budgetsVersion only when budgets do. */
  version = 0;
  budgetsVersion = 0;
  /** Bumped per batch of ledger entries (pages that show ledger reads refetch on it). */
  ledgerVersion = 0;
  /** Newest ledger entry applied. */
  lastSeq = 0;
  private skewMs = 0;
  private readonly listeners = new Set<Listener>();
  private readonly marked = new Set<string>();
  private reloadAll = false;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private flushing = false;
  private lastFullReadMs = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private stream: { close(): void } | undefined;
  private notifyPending = false;
  private stopped = false;

  constructor(
    readonly api: Api,
    private readonly key: string,
    readonly role: Role,
    /** Called when the event stream is refused the key (the server was restarted with other keys). */
    private readonly onRefused: () => void = () => undefined,
  ) {}

  /** The server's clock, as far as the page can tell. */
  nowMs(): number {
    return Date.now() + this.skewMs;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Loads everything, then follows the event stream from the newest entry loaded. */
  async start(): Promise<void> {
    await Promise.all([this.loadBudgets(), this.loadActivity(), this.loadFeed(), this.loadRefusals()]);
    if (this.stopped) return;
    this.loaded = true;
    this.changed();
    this.follow();
    this.ticker = setInterval(() => {
      this.burn.prune(this.nowMs());
      this.changed();
    }, liveLimits.tickMs);
  }

  stop(): void {
    this.stopped = true;
    this.stream?.close();
    clearInterval(this.ticker);
    clearTimeout(this.flushTimer);
    this.listeners.clear();
  }

  /** Re-reads one budget's chain now (after a change made from this page). */
  async refreshBudget(path: string): Promise<void> {
    await this.loadChain(path);
  }

  private follow(): void {
    this.stream?.close();
    this.stream = openEventStream({
      url: '/api/events',
      key: this.key,
      lastEventId: String(this.lastSeq),
      onEvent: (e) => this.onEvent(e),
      onState: (state) => {
        this.connection = state;
        // Reads that failed while the server was away are made again once it is back.
        if (state === 'live' && this.reloadAll) this.scheduleFlush();
        if (state === 'refused') this.onRefused();
        this.changed();
      },
    });
  }

  /** Loads activity afresh and resumes the stream from its head (after a gap in the stream). */
  private async resync(): Promise<void> {
    this.stream?.close();
    await Promise.all([this.loadBudgets(), this.loadActivity()]);
    if (!this.stopped) this.follow();
  }

  private changed(): void {
    this.version += 1;
    if (this.notifyPending) return;
    this.notifyPending = true;
    const run = () => {
      this.notifyPending = false;
      for (const l of [...this.listeners]) l();
    };
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
    else setTimeout(run, 0);
  }

  private async loadBudgets(): Promise<void> {
    const { budgets } = await this.api.get<{ budgets: Budget[] }>('/api/budgets');
    if (mergeBudgets(this.budgets, budgets, true)) this.budgetsVersion += 1;
    this.changed();
  }

  private async loadChain(path: string): Promise<void> {
    try {
      const { chain } = await this.api.get<{ chain: Budget[] }>(budgetUrl(path));
      if (mergeBudgets(this.budgets, chain, false)) this.budgetsVersion += 1;
      this.changed();
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 404) this.reloadAll = true;
      else throw error;
    }
  }

  private async loadActivity(): Promise<void> {
    const a = await this.api.get<Activity>(`/api/activity?minutes=${liveLimits.burnMinutes}`);
    this.skewMs = Date.parse(a.now) - Date.now();
    this.activity.clear();
    for (const agent of a.agents) this.activity.set(agent.agent, agent);
    this.burn.load(a.burn.roots, Date.parse(a.burn.start));
    this.lastSeq = a.head_seq;
    this.changed();
  }

  private async loadFeed(): Promise<void> {
    const { entries } = await this.api.get<{ entries: Entry[] }>(`/api/ledger?order=desc&limit=${liveLimits.feedItemsMax}&kind=${notableKinds.join(',')}`);
    this.feed = entries;
  }

  /** The latest refusals, so the page shows what was refused before it was opened. */
  private async loadRefusals(): Promise<void> {
    const { refusals } = await this.api.get<{ refusals: Record<string, unknown>[] }>(`/api/refusals?order=desc&limit=${liveLimits.refusalsLoaded}`);
    this.notices = refusals.map((r) => noticeOf('refusal', r, this.nowMs()));
  }

  private onEvent(e: SseEvent): void {
    if (e.event === 'ledger') return this.onEntry(JSON.parse(e.data) as Entry);
    if (e.event === 'gap') return void this.resync().catch(() => undefined);
    if (e.event === 'alert' || e.event === 'refusal') return this.onNotice(e.event, e.data);
  }

  private onEntry(entry: Entry): void {
    if (entry.seq <= this.lastSeq) return;
    this.lastSeq = entry.seq;
    this.ledgerVersion += 1;
    if (isSpend(entry)) this.applySpend(entry);
    // The feed was read separately at start and may already hold an entry the stream replays.
    if ((notableKinds as readonly string[]).includes(entry.kind) && !this.feed.some((f) => f.seq === entry.seq)) this.feed = [entry, ...this.feed].slice(0, liveLimits.feedItemsMax);
    if (entry.kind === 'budget_created' || entry.kind === 'budget_moved' || entry.kind === 'period_change') this.reloadAll = true;
    this.marked.add(entry.budget);
    this.scheduleFlush();
    this.changed();
  }

  private applySpend(entry: Entry): void {
    this.burn.add(entry.budget.split('/')[0] ?? entry.budget, entry.ts_ms, entry.amount_micros);
    const agent = agentOf(entry.budget, this.budgets);
    if (agent === undefined) return;
    const periodStart = this.budgets.get(agent)?.period_start;
    this.activity.set(agent, withSpend(this.activity.get(agent), agent, entry, periodStart ? Date.parse(periodStart) : 0));
  }

  private onNotice(kind: 'alert' | 'refusal', data: string): void {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(data) as Record<string, unknown>;
    } catch {
      body = { message: data };
    }
    const notice = noticeOf(kind, body, this.nowMs());
    const others = notice.id === undefined ? this.notices : this.notices.filter((n) => n.kind !== kind || n.id !== notice.id);
    this.notices = [notice, ...others].slice(0, liveLimits.noticesMax);
    this.changed();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.flushing) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, liveLimits.flushMs);
  }

  /** Re-reads the marked budgets' chains (or every budget when many are marked). */
  private async flush(): Promise<void> {
    const all = this.reloadAll || this.marked.size > liveLimits.chainReadsMax;
    const waitMs = this.lastFullReadMs + liveLimits.fullReadMs - Date.now();
    if (all && waitMs > 0) {
      // A busy fleet marks many budgets at once: one whole read a second serves them all.
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, waitMs);
      return;
    }
    this.flushing = true;
    const paths = [...this.marked];
    this.marked.clear();
    this.reloadAll = false;
    if (all) this.lastFullReadMs = Date.now();
    const periods = this.agentPeriods();
    let failed = false;
    try {
      if (all) await this.loadBudgets();
      else for (let i = 0; i < paths.length; i += liveLimits.chainReadsParallel) await Promise.all(paths.slice(i, i + liveLimits.chainReadsParallel).map((p) => this.loadChain(p)));
      // An agent whose period rolled over starts its period totals afresh: read them again.
      if (this.periodRolled(periods)) await this.resync();
    } catch {
      // The server is away: read everything once the stream is back.
      failed = true;
      this.reloadAll = true;
    } finally {
      this.flushing = false;
      if (!failed && (this.marked.size > 0 || this.reloadAll)) this.scheduleFlush();
    }
  }

  private agentPeriods(): Map<string, string> {
    const periods = new Map<string, string>();
    for (const b of this.budgets.values()) if (b.kind === 'agent') periods.set(b.path, b.period_start);
    return periods;
  }

  /** True when an agent known before has a new period start now. */
  private periodRolled(before: ReadonlyMap<string, string>): boolean {
    for (const [path, start] of before) {
      const now = this.budgets.get(path);
      if (now && now.period_start !== start) return true;
    }
    return false;
  }
}
