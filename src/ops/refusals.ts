import { agentOfSpend, type RefusalWrite } from '../core/index.js';
import { codeTable, isWireCode, type WireCode } from '../contract/codes.js';
import { failure, type Failure } from '../contract/errors.js';
import type { RefusalPage, RefusalQuery, Store } from '../store/index.js';
import { findAgent } from './budgets.js';
import { opsLimits, type OpsLimits } from './limits.js';

/**
 * Refused spend, recorded: every 402, 403 and 429 a door answers (and 503 `store_unavailable`,
 * written once the store is back) becomes a row of the store's refusals table, an event for
 * the event streams, and a log line, so "why did my agent stop?" has an answer. A refusal is
 * not a ledger entry: it moves no money. A flood is bounded three ways: the same code on the
 * same budget for the same agent within `refusalRunMs` is one row with a count; rows, events and
 * log lines go out at most once per `refusalFlushMs`; and the table keeps what retention allows.
 */

/** What a door knows about a refusal it answered. */
export interface RefusalNotice {
  code: WireCode;
  message: string;
  /** Where: the gateway or API route. */
  route: string;
  /** The budget that refused, when one did. */
  budget?: string;
  /** The budget the spend was for: a token's envelope, or the path a tool reservation named. */
  spendOn?: string;
  tokenId?: string;
  model?: string;
  tool?: string;
  amountMicros?: number;
  requestId?: string;
}

/** A run of the same refusal: one row, counting until `refusalRunMs` after its first. */
interface Run {
  key: string;
  row: RefusalWrite;
  /** Changed since it was last written. */
  dirty: boolean;
  /** Refusals since the run was last logged and sent to the event streams. */
  unannounced: number;
  /** The count the stored row has (0 before its first write). */
  writtenCount: number;
}

export interface RefusalRecorderOptions {
  store: Pick<Store, 'writeRefusals'>;
  /** The time refusals are recorded at (the store's clock). */
  now(): number;
  /** Where log lines go (one JSON object each); default none. */
  log?(event: Record<string, unknown>): void;
  limits?: Partial<OpsLimits>;
}

/**
 * True for a refusal worth recording: spend refused (402, 403, 429) or not recorded because the
 * store was down (503 `store_unavailable`). Bad input and bad credentials are the caller's to fix.
 *
 * @example
 * isRecordedRefusal('budget_exceeded') // true
 * isRecordedRefusal('token_invalid') // false
 */
export function isRecordedRefusal(code: string): boolean {
  if (!isWireCode(code)) return false;
  const status = codeTable[code].status;
  return status === 402 || status === 403 || status === 429 || code === 'store_unavailable';
}

/** The row a notice starts, at `nowMs`. */
function rowOf(n: RefusalNotice, nowMs: number, l: OpsLimits): RefusalWrite {
  const spendOn = n.spendOn ?? n.budget;
  return {
    id: null,
    firstMs: nowMs,
    lastMs: nowMs,
    count: 1,
    code: n.code,
    status: codeTable[n.code].status,
    budget: n.budget ?? spendOn ?? null,
    agent: spendOn === undefined ? null : agentOfSpend(spendOn),
    tokenIdPrefix: n.tokenId === undefined ? null : n.tokenId.slice(0, l.refusalTokenIdChars),
    model: n.model ?? null,
    tool: n.tool ?? null,
    amountMicros: n.amountMicros ?? null,
    message: n.message.length > l.refusalMessageCharsMax ? `${n.message.slice(0, l.refusalMessageCharsMax - 1)}…` : n.message,
    requestId: n.requestId ?? null,
    route: n.route,
  };
}

/** The latest refusal's details over a run's row, keeping its id, first time and count. */
function extend(row: RefusalWrite, latest: RefusalWrite): RefusalWrite {
  return { ...latest, id: row.id, firstMs: row.firstMs, count: row.count + 1 };
}

/**
 * Records refusals for one server: coalesces them in memory, then (at most once per
 * `refusalFlushMs`, and whenever `flush` is called) writes the changed rows, logs them and
 * hands them to subscribers. When the store cannot take them, they wait (bounded) and are
 * written later. Nothing here ever throws at a door.
 *
 * @example
 * const refusals = new RefusalRecorder({ store, now: () => store.now(), log: (e) => console.error(JSON.stringify(e)) });
 * refusals.record({ code: 'budget_exceeded', message, route: '/v1/chat/completions', budget: 'acme/bot', spendOn: envelope });
 * await refusals.close();
 */
export class RefusalRecorder {
  /** The open run of each key, oldest first. */
  private readonly runs = new Map<string, Run>();
  /** Runs with changes not yet written (open or ended). */
  private readonly pending = new Set<Run>();
  private readonly listeners = new Set<(row: RefusalWrite) => void>();
  private readonly limits: OpsLimits;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastFlushMs = Number.NEGATIVE_INFINITY;
  private dropped = 0;
  private failing = false;
  private closed = false;

  constructor(private readonly o: RefusalRecorderOptions) {
    this.limits = { ...opsLimits, ...o.limits };
  }

  /** Records one refusal (ignoring codes that are not recorded). Never throws. */
  record(n: RefusalNotice): void {
    if (this.closed || !isRecordedRefusal(n.code)) return;
    const nowMs = this.o.now();
    const latest = rowOf(n, nowMs, this.limits);
    const key = `${latest.code}\n${latest.budget ?? ''}\n${latest.agent ?? ''}`;
    const open = this.runs.get(key);
    let run: Run;
    if (open && nowMs - open.row.firstMs < this.limits.refusalRunMs) {
      run = open;
      run.row = extend(run.row, latest);
    } else {
      this.runs.delete(key);
      run = { key, row: latest, dirty: false, unannounced: 0, writtenCount: 0 };
      this.runs.set(key, run);
    }
    run.dirty = true;
    run.unannounced += 1;
    this.pending.add(run);
    this.bound();
    this.schedule();
  }

  /** Called with every row written (or, while the store is down, announced without an id). */
  subscribe(listener: (row: RefusalWrite) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes, logs and announces what is pending now (a read that must see every refusal so far calls this first). */
  async flush(): Promise<void> {
    // Each pass writes at most `refusalRowsPerFlushMax` rows; a few passes empty any backlog the bound allows.
    const passes = Math.ceil(this.limits.refusalRunsMax / this.limits.refusalRowsPerFlushMax) + 1;
    for (let pass = 0; pass < passes; pass += 1) {
      while (this.flushing) await this.flushing;
      if (this.pending.size === 0) return;
      const writing = this.write();
      this.flushing = writing.then(() => undefined).finally(() => (this.flushing = undefined));
      if (!(await writing)) return;
    }
  }

  /** Writes what is pending and stops; later refusals are not recorded. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Holds at most `refusalRunsMax` runs: the oldest are let go (their next refusal starts a new
   * row), and past that many waiting to be written, the oldest of those are dropped and counted.
   */
  private bound(): void {
    const max = this.limits.refusalRunsMax;
    for (const [key, run] of this.runs) {
      if (this.runs.size <= max) break;
      // Forgetting an open run only means its next refusal starts a new row.
      this.runs.delete(key);
      if (!run.dirty) this.pending.delete(run);
    }
    for (const run of this.pending) {
      if (this.pending.size <= max) break;
      this.pending.delete(run);
      if (this.runs.get(run.key) === run) this.runs.delete(run.key);
      this.dropped += run.row.count - run.writtenCount;
    }
  }

  /** A flush soon: at once after a quiet spell, else one `refusalFlushMs` after the last. */
  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    const delayMs = Math.max(0, Math.min(this.limits.refusalFlushMs, this.lastFlushMs + this.limits.refusalFlushMs - this.o.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /** One write of pending rows; false when the store could not take them. */
  private async write(): Promise<boolean> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const nowMs = this.o.now();
    this.lastFlushMs = nowMs;
    this.forgetEnded(nowMs);
    const batch = [...this.pending].slice(0, this.limits.refusalRowsPerFlushMax);
    const rows = batch.map((run) => {
      run.dirty = false;
      return { ...run.row };
    });
    let written = false;
    try {
      const ids = await this.o.store.writeRefusals(rows, { rowsMax: this.limits.refusalRowsMax, keepSinceMs: nowMs - this.limits.refusalAgeMsMax });
      // The row may have grown during the write; it keeps its new id either way.
      batch.forEach((run, i) => {
        run.row.id = ids[i] ?? null;
        run.writtenCount = rows[i]?.count ?? run.writtenCount;
      });
      written = true;
      this.failing = false;
    } catch (error) {
      for (const run of batch) run.dirty = true;
      this.logFailure(error);
    }
    for (const run of batch) if (!run.dirty) this.pending.delete(run);
    this.announce(batch, written);
    if (this.pending.size > 0 && !this.closed) this.schedule();
    return written;
  }

  /** Runs past their window that have nothing left to write are no longer held. */
  private forgetEnded(nowMs: number): void {
    for (const [key, run] of this.runs) if (nowMs - run.row.firstMs >= this.limits.refusalRunMs && !run.dirty) this.runs.delete(key);
  }

  /** Logs the runs with new refusals (bounded per flush) and sends them to subscribers. */
  private announce(batch: readonly Run[], written: boolean): void {
    const fresh = batch.filter((run) => run.unannounced > 0);
    const lines = this.limits.refusalLogLinesPerFlushMax;
    for (const [i, run] of fresh.entries()) {
      if (i < lines) this.o.log?.({ level: 'info', event: 'refused', ...logFields(run.row), count: run.unannounced, recorded: written });
      const row = { ...run.row };
      for (const listener of this.listeners) listener(row);
    }
    if (fresh.length > lines) {
      const rest = fresh.slice(lines);
      this.o.log?.({ level: 'info', event: 'refused', runs: rest.length, count: rest.reduce((n, run) => n + run.unannounced, 0), message: `${rest.length} more kinds of refusal in this second (GET /api/refusals lists them)` });
    }
    for (const run of fresh) run.unannounced = 0;
    if (this.dropped > 0) {
      this.o.log?.({ level: 'warn', event: 'refusals_dropped', count: this.dropped, message: 'refusals not recorded: the store could not take them and too many were waiting' });
      this.dropped = 0;
    }
  }

  /** One line when writing starts to fail; quiet while it keeps failing. */
  private logFailure(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.o.log?.({ level: 'warn', event: 'refusals_unwritten', rows: this.pending.size, message: `refusals wait to be recorded: ${(error as Error).message}` });
  }
}

/** A row's fields for a log line, snake_case as on the wire. */
function logFields(r: RefusalWrite): Record<string, unknown> {
  return { code: r.code, status: r.status, budget: r.budget, agent: r.agent, token_id_prefix: r.tokenIdPrefix, model: r.model, tool: r.tool, amount_micros: r.amountMicros, message: r.message, request_id: r.requestId, route: r.route, total: r.count };
}

/**
 * A page of recorded refusals. `agent` may be an agent's path or its bare name when unique; one
 * that names no agent is `unknown_budget`.
 *
 * @example
 * const page = await refusalsPage(store, { agent: 'market-researcher', sinceMs: Date.now() - 3_600_000 });
 * if (page.ok) page.refusals[0]?.code // 'budget_exceeded'
 */
export async function refusalsPage(store: Pick<Store, 'refusals' | 'getBudget' | 'listBudgets'>, q: RefusalQuery): Promise<({ ok: true } & RefusalPage) | Failure> {
  if (q.agent === undefined) return { ok: true, ...(await store.refusals(q)) };
  const found = await findAgent(store, q.agent);
  if (!found.ok && found.why === 'unknown') return failure('unknown_budget', `no agent at ${q.agent}`, { field: 'agent' });
  if (!found.ok && found.why === 'ambiguous') return failure('bad_request', `${found.agents.length} agents are named ${q.agent}; give the full path`, { field: 'agent' });
  // A budget of another kind that tokens were minted under is an agent here too.
  const agent = found.ok ? found.agent.path : found.budget.path;
  return { ok: true, ...(await store.refusals({ ...q, agent })) };
}
