import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import {
  applyCommand,
  assert,
  refusalMayWrite,
  expireDue,
  limits,
  parseReservationId,
  reservationFromLedger,
  resolutionKindsSqlOr,
  replayLedger,
  viewBudget,
  viewReservation,
  viewToken,
  type AuditReport,
  type BudgetRecord,
  type BudgetView,
  type ClosedPeriod,
  type Command,
  type IdempotencyRecord,
  type ReservationRecord,
  type ReservationView,
  type TokenView,
} from '../../core/index.js';
import { BaseStore } from '../base.js';
import type { BatchOutcome, BatchResult } from '../batcher.js';
import {
  budgetColumns,
  budgetFromRow,
  budgetValues,
  closedFromRow,
  decodeCursor,
  encodeCursor,
  entryFromRow,
  entryValues,
  guardColumns,
  guardValues,
  ledgerColumns,
  tokenColumns,
  tokenFromRow,
  tokenValues,
  type Row,
} from '../rows.js';
import { StoreUnavailableError, systemClock, type Clock, type FoundToken, type LedgerPage, type LedgerQuery } from '../store.js';
import { SqliteCache } from './sqlite-cache.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { sqliteMigrations } from './sqlite-migrations.js';
import { SqliteTx } from './sqlite-tx.js';

export interface SqliteStoreOptions {
  /** Database file (created when missing), or `:memory:`. */
  path: string;
  clock?: Clock;
  /** Time zone for new budgets' periods. Default UTC. */
  timezone?: string;
  /** `normal` (default; WAL keeps every commit across a process crash) or `full` (also across power loss). */
  synchronous?: 'normal' | 'full';
  /** How long a write waits for another process's write lock before answering `store_unavailable`. */
  busyTimeoutMs?: number;
  /**
   * `inline` (default): SQLite checkpoints the write-ahead log during commits. `background`: a
   * worker thread does it, keeping those pauses off the writer (what a server wants).
   */
  checkpoints?: 'inline' | 'background';
}

const unavailableCodes = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_PROTOCOL']);

function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && [...unavailableCodes].some((c) => code.startsWith(c));
}

const requireDriver = createRequire(import.meta.url);

/** Entry kinds that resolve a reservation (exactly the condition of the `ledger_resolution` index). */
const resolved = resolutionKindsSqlOr;

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/**
 * Opens (creating and migrating when needed) a SQLite ledger store.
 *
 * @example
 * const store = openSqliteStore({ path: './bursar.db' });
 * await store.createBudget({ path: 'acme', limitMicros: 100_000_000, period: 'month' });
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

/** `alert_spent_pct = ?, …`: the guard columns every budget update writes. */
const guardSet = guardColumns.map((c) => `${c} = ?`).join(', ');

/** How far the lowest open reservation moves before the stored hint follows it. */
const lowSeqStep = 1024;

export class SqliteStore extends BaseStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly timezone: string;
  private cache: SqliteCache | undefined;
  private dataVersion = -1;
  /** Whether a read in this event-loop turn already compared `data_version`. */
  private readChecked = false;
  private closed = false;
  private readonly checkpointer: { stop(): Promise<void> } | undefined;
  private readonly stmt;

  constructor(options: SqliteStoreOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.timezone = options.timezone ?? 'UTC';
    try {
      this.db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5_000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.migrate();
      if (options.checkpoints === 'background' && options.path !== ':memory:') {
        this.db.pragma('wal_autocheckpoint = 0');
        this.checkpointer = startCheckpointer(options.path, requireDriver.resolve('better-sqlite3'));
      }
    } catch (error) {
      throw new StoreUnavailableError(`cannot open SQLite database ${options.path}: ${(error as Error).message}`, { cause: error });
    }
    const db = this.db;
    this.stmt = {
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      insertEntry: db.prepare(`INSERT INTO ledger (${ledgerColumns.join(', ')}) VALUES (${placeholders(ledgerColumns.length)})`),
      insertBudget: db.prepare(`INSERT INTO budgets (${budgetColumns.join(', ')}) VALUES (${placeholders(budgetColumns.length)})`),
      updateBudget: db.prepare(
        `UPDATE budgets SET parent_id = ?, path = ?, status = ?, limit_micros = ?, period = ?, timezone = ?, period_start_ms = ?, period_end_ms = ?,
         spent_micros = ?, reserved_micros = ?, granted_micros = ?, overrun_micros = ?, inflight = ?, policy = ?, ${guardSet} WHERE id = ?`,
      ),
      updateBalances: db.prepare(`UPDATE budgets SET spent_micros = ?, reserved_micros = ?, granted_micros = ?, overrun_micros = ?, inflight = ?, ${guardSet} WHERE id = ?`),
      insertToken: db.prepare(`INSERT INTO tokens (${tokenColumns.join(', ')}) VALUES (${placeholders(tokenColumns.length)})`),
      updateToken: db.prepare('UPDATE tokens SET status = ?, revoked_ms = ? WHERE id = ?'),
      insertIdempotency: db.prepare('INSERT INTO idempotency (key, fingerprint, result) VALUES (?, ?, ?)'),
      insertClosed: db.prepare('INSERT INTO budget_periods (budget_id, start_ms, end_ms, spent_micros, granted_micros, overrun_micros) VALUES (?, ?, ?, ?, ?, ?)'),
      setLowSeq: db.prepare("UPDATE meta SET value = ? WHERE key = 'open_low_seq'"),
      getLowSeq: db.prepare("SELECT value FROM meta WHERE key = 'open_low_seq'").pluck(),
      reserveEntry: db.prepare("SELECT * FROM ledger WHERE seq = ? AND kind = 'reserve'"),
      resolution: db.prepare(`SELECT * FROM ledger WHERE reservation_seq = ? AND ${resolved} ORDER BY seq DESC LIMIT 1`),
      idempotency: db.prepare('SELECT key, fingerprint, result FROM idempotency WHERE key = ?'),
      allBudgets: db.prepare('SELECT * FROM budgets ORDER BY id'),
      openReservations: db.prepare(
        `SELECT * FROM ledger l WHERE l.seq >= ? AND l.kind = 'reserve'
         AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.reservation_seq = l.seq AND ${resolved}) ORDER BY l.seq`,
      ),
      allTokens: db.prepare('SELECT * FROM tokens ORDER BY created_ms, id'),
      head: db.prepare('SELECT seq, hash, ts_ms FROM ledger ORDER BY seq DESC LIMIT 1'),
      entryTs: db.prepare('SELECT ts_ms FROM ledger WHERE seq = ?').pluck(),
      closedOf: db.prepare('SELECT * FROM budget_periods WHERE budget_id = ? ORDER BY start_ms'),
    };
  }

  private migrate(): void {
    const current = Number(this.db.pragma('user_version', { simple: true }));
    if (current >= sqliteMigrations.length) return;
    // IMMEDIATE takes the write lock, so two processes opening a new file migrate once.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const version = Number(this.db.pragma('user_version', { simple: true }));
      for (let v = version; v < sqliteMigrations.length; v += 1) {
        this.db.exec(sqliteMigrations[v] ?? '');
        this.db.pragma(`user_version = ${v + 1}`);
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  now(): number {
    return Math.max(this.clock.now(), this.cache?.headTsMs ?? 0);
  }

  /** The cache, reloaded when another connection has committed since it was built. */
  private fresh(): SqliteCache {
    const version = Number(this.stmt.dataVersion.get());
    if (this.cache && version === this.dataVersion) return this.cache;
    this.dataVersion = version;
    this.cache = this.load();
    return this.cache;
  }

  private load(): SqliteCache {
    const cache = new SqliteCache();
    for (const row of this.stmt.allBudgets.all() as Row[]) cache.addBudget(budgetFromRow(row));
    const low = Number(this.stmt.getLowSeq.get() ?? 0);
    cache.storedLowSeq = low;
    for (const row of this.stmt.openReservations.all(low) as Row[]) cache.addOpen(reservationFromLedger(entryFromRow(row)));
    for (const row of this.stmt.allTokens.all() as Row[]) cache.addToken(tokenFromRow(row));
    const head = this.stmt.head.get() as Row | undefined;
    if (head) {
      cache.headSeq = Number(head.seq);
      cache.headHash = String(head.hash);
      cache.headTsMs = Number(head.ts_ms);
    }
    return cache;
  }

  protected runBatch(cmds: readonly (Command | null)[]): BatchOutcome {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    try {
      this.stmt.begin.run();
    } catch (error) {
      throw isUnavailable(error) ? new StoreUnavailableError((error as Error).message, { cause: error }) : error;
    }
    try {
      const cache = this.fresh();
      const tx = new SqliteTx(cache, this.reads, Math.max(this.clock.now(), cache.headTsMs));
      const expired = expireDue(tx, limits.expirePerBatchMax);
      const results: BatchResult[] = cmds.map((cmd) => {
        if (cmd === null) return { ok: true, expired };
        const before = tx.entries.length;
        const result = applyCommand(tx, cmd, { timezone: this.timezone });
        assert(result.ok || refusalMayWrite(result) || tx.entries.length === before, `a refused ${cmd.type} wrote to the ledger`);
        return result;
      });
      this.write(tx);
      this.stmt.commit.run();
      return { results, entries: tx.entries };
    } catch (error) {
      if (this.db.inTransaction) this.stmt.rollback.run();
      this.cache = undefined;
      throw isUnavailable(error) ? new StoreUnavailableError((error as Error).message, { cause: error }) : error;
    }
  }

  private readonly reads = {
    reservation: (seq: number): ReservationRecord | undefined => {
      const reserve = this.stmt.reserveEntry.get(seq) as Row | undefined;
      if (!reserve) return undefined;
      const resolution = this.stmt.resolution.get(seq) as Row | undefined;
      return reservationFromLedger(entryFromRow(reserve), resolution ? entryFromRow(resolution) : undefined);
    },
    idempotency: (key: string): IdempotencyRecord | undefined => this.stmt.idempotency.get(key) as IdempotencyRecord | undefined,
  };

  private write(tx: SqliteTx): void {
    const s = this.stmt;
    const cache = this.cache;
    assert(cache, 'cache vanished during a write');
    for (const e of tx.entries) s.insertEntry.run(entryValues(e));
    for (const b of tx.newBudgets) s.insertBudget.run(budgetValues(b));
    for (const b of tx.dirtyBudgets) {
      if (tx.newBudgets.has(b)) continue;
      // A reservation or settlement moves balances only: the row's other columns stay.
      if (!cache.reshaped(b)) s.updateBalances.run(b.spentMicros, b.reservedMicros, b.grantedMicros, b.overrunMicros, b.inflight, ...guardValues(b), b.id);
      else s.updateBudget.run(b.parentId, b.path, b.status, b.limitMicros, b.period, b.timezone, b.periodStartMs, b.periodEndMs, b.spentMicros, b.reservedMicros, b.grantedMicros, b.overrunMicros, b.inflight, JSON.stringify(b.policy), ...guardValues(b), b.id);
    }
    for (const t of tx.newTokens) s.insertToken.run(tokenValues(t));
    for (const t of tx.dirtyTokens) if (!tx.newTokens.has(t)) s.updateToken.run(t.status, t.revokedMs, t.id);
    for (const r of tx.idempotencyRecords.values()) s.insertIdempotency.run(r.key, r.fingerprint, r.result);
    for (const p of tx.closedPeriods) s.insertClosed.run(p.budgetId, p.startMs, p.endMs, p.spentMicros, p.grantedMicros, p.overrunMicros);
    // Where a reload starts looking for open reservations. It only ever moves up, and a stored
    // value that lags is still correct (the reload scans a few more entries), so it is written
    // once it has moved far, not on every settlement.
    const low = cache.openLowSeq();
    if (low - cache.storedLowSeq >= lowSeqStep) {
      s.setLowSeq.run(low);
      cache.storedLowSeq = low;
    }
  }

  /**
   * The cache for a read. Whether another connection has committed is asked once per event-loop
   * turn: the gateway reads a token on every call, and many calls arrive in one turn under load.
   * A commit made elsewhere during the turn is seen from the next one, as if the reads had come
   * a moment earlier. Writes always ask (inside their transaction).
   */
  private freshForRead(): SqliteCache {
    if (this.readChecked && this.cache) return this.cache;
    const cache = this.fresh();
    this.readChecked = true;
    setImmediate(() => {
      this.readChecked = false;
    });
    return cache;
  }

  private read<T>(fn: (cache: SqliteCache) => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    try {
      return Promise.resolve(fn(this.freshForRead()));
    } catch (error) {
      this.cache = undefined;
      return Promise.reject(isUnavailable(error) ? new StoreUnavailableError((error as Error).message, { cause: error }) : (error as Error));
    }
  }

  getBudget(path: string): Promise<BudgetView | undefined> {
    return this.read((cache) => {
      const b = cache.byPath.get(path);
      return b ? viewBudget(b, this.now()) : undefined;
    });
  }

  listBudgets(): Promise<BudgetView[]> {
    return this.read((cache) => {
      const now = this.now();
      return [...cache.budgets.values()].sort((a, b) => (a.path < b.path ? -1 : 1)).map((b) => viewBudget(b, now));
    });
  }

  chain(path: string): Promise<BudgetView[]> {
    return this.read((cache) => {
      const now = this.now();
      const out: BudgetView[] = [];
      let b: BudgetRecord | undefined = cache.byPath.get(path);
      while (b) {
        out.push(viewBudget(b, now));
        b = b.parentId === null ? undefined : cache.budgets.get(b.parentId);
      }
      return out;
    });
  }

  getReservation(id: string): Promise<ReservationView | undefined> {
    return this.read((cache) => {
      const seq = parseReservationId(id);
      if (seq === undefined) return undefined;
      const r = cache.open.get(seq) ?? this.reads.reservation(seq);
      if (!r) return undefined;
      return viewReservation(r, cache.budgets.get(r.budgetId)?.path ?? '');
    });
  }

  findTokenByHash(hash: string): Promise<FoundToken | undefined> {
    return this.read((cache) => {
      const token = cache.tokensByHash.get(hash);
      const budget = token && cache.budgets.get(token.budgetId);
      return token && budget ? { token: { ...token }, budgetPath: budget.path } : undefined;
    });
  }

  getToken(id: string): Promise<TokenView | undefined> {
    return this.read((cache) => {
      const t = cache.tokens.get(id);
      return t && viewToken(t, cache.budgets.get(t.budgetId)?.path ?? '');
    });
  }

  listTokens(): Promise<TokenView[]> {
    return this.read((cache) => [...cache.tokens.values()].map((t) => viewToken(t, cache.budgets.get(t.budgetId)?.path ?? '')));
  }

  /** First ledger sequence whose time is at or after `tsMs` (times never decrease along the ledger). */
  private seqAtOrAfter(tsMs: number, headSeq: number): number {
    let lo = 1;
    let hi = headSeq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (Number(this.stmt.entryTs.get(mid)) < tsMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  ledger(query: LedgerQuery): Promise<LedgerPage> {
    return this.read((cache) => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (query.budget !== undefined) {
        const root = cache.byPath.get(query.budget);
        const ids = root ? subtreeIds(cache, root) : [];
        where.push('budget_id IN (SELECT value FROM json_each(?))');
        args.push(JSON.stringify(ids));
      }
      for (const [column, value] of [['session', query.session], ['task', query.task], ['model', query.model]] as const) {
        if (value === undefined) continue;
        where.push(`${column} = ?`);
        args.push(value);
      }
      if (query.kinds && query.kinds.length > 0) {
        where.push('kind IN (SELECT value FROM json_each(?))');
        args.push(JSON.stringify(query.kinds));
      }
      if (query.sinceMs !== undefined) {
        where.push('seq >= ?');
        args.push(this.seqAtOrAfter(query.sinceMs, cache.headSeq));
      }
      if (query.untilMs !== undefined) {
        where.push('seq < ?');
        args.push(this.seqAtOrAfter(query.untilMs, cache.headSeq));
      }
      const desc = query.order === 'desc';
      const cursor = decodeCursor(query.cursor);
      if (cursor !== undefined) {
        where.push(desc ? 'seq < ?' : 'seq > ?');
        args.push(Number.isNaN(cursor) ? 0 : cursor);
      }
      const limit = Math.min(Math.max(1, query.limit ?? limits.ledgerPageDefault), limits.ledgerPageMax);
      const sql = `SELECT * FROM ledger ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT ?`;
      const rows = this.db.prepare(sql).all(...args, limit + 1) as Row[];
      const entries = rows.slice(0, limit).map(entryFromRow);
      const last = entries[entries.length - 1];
      return { entries, nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null };
    });
  }

  closedPeriods(path: string): Promise<ClosedPeriod[]> {
    return this.read((cache) => {
      const b = cache.byPath.get(path);
      return b ? (this.stmt.closedOf.all(b.id) as Row[]).map(closedFromRow) : [];
    });
  }

  audit(): Promise<AuditReport> {
    return this.read(() => {
      const run = this.db.transaction((): AuditReport => {
        const replay = replayLedger();
        for (const row of this.db.prepare('SELECT * FROM ledger ORDER BY seq').iterate() as Iterable<Row>) replay.apply(entryFromRow(row));
        return replay.finish({
          budgets: (this.stmt.allBudgets.all() as Row[]).map(budgetFromRow),
          closedPeriods: (this.db.prepare('SELECT * FROM budget_periods').all() as Row[]).map(closedFromRow),
          openReservations: (this.stmt.openReservations.all(0) as Row[]).map((row) => reservationFromLedger(entryFromRow(row))),
        });
      });
      return run();
    });
  }

  async ping(): Promise<void> {
    await this.read(() => this.stmt.dataVersion.get());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.committer.drain();
    this.closed = true;
    await this.checkpointer?.stop();
    this.db.close();
  }
}

function subtreeIds(cache: SqliteCache, root: BudgetRecord): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i += 1) out.push(...cache.childrenOf(out[i]?.id ?? 0));
  return out.map((b) => b.id);
}
