import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import {
  anchored,
  isCrossKind,
  checkpointFromText,
  applyCommand,
  fail,
  refusalMayWrite,
  expireDue,
  genesisHash,
  isBareEntry,
  limits,
  parseReservationId,
  reservationFromLedger,
  resolutionKindsSqlOr,
  replayLedger,
  viewBudget,
  viewReservation,
  viewToken,
  type AuditReport,
  type ReplayCheckpoint,
  type BudgetRecord,
  type Policy,
  type BudgetView,
  type ClosedPeriod,
  type Command,
  type IdempotencyRecord,
  type LedgerEntry,
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
  bareLedgerColumns,
  ledgerColumns,
  tokenColumns,
  tokenFromRow,
  tokenValues,
  type Row,
} from '../rows.js';
import { refusalPageOf, refusalQuerySql, refusalValues, refusalWriteSql, type RefusalPage, type RefusalQuery, type RefusalRetention, type RefusalWrite } from '../refusals.js';
import { StoreUnavailableError, systemClock, type AuditOptions, type Clock, type FoundToken, type LedgerPage, type LedgerQuery } from '../store.js';
import { SqliteCache } from './sqlite-cache.js';
import { checkpointIntervalMsDefault, startCheckpointer } from './sqlite-checkpointer.js';
import { sqliteMigrations } from './sqlite-migrations.js';
import { SqliteTx } from './sqlite-tx.js';
import { outboxInsertSql, SqliteWebhooks } from './sqlite-webhooks.js';
import { SqliteWriter, type WriteOp, type WriteOutcome, type WritePart, type WriterOptions } from './sqlite-writer.js';
import { outboxEventsOf } from '../webhooks.js';

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
  /**
   * `inline` (default): ledger writes run on the calling thread. `thread`: a worker thread with its
   * own connection inserts each batch's rows while the next part of the batch is computed, and
   * commits; the event loop stays free for callers meanwhile (what a server wants). Ignored for
   * `:memory:`.
   */
  writer?: 'inline' | 'thread';
  /**
   * With `writer: 'thread'`: a batch of at most this many operations is committed on the calling
   * thread when the writer thread has nothing in hand (default 64; 0 sends every batch there,
   * and starts the thread with the store).
   */
  inlineBatchOpsMax?: number;
  /**
   * With `writer: 'thread'`: the thread (a V8 instance of its own, about 10 MB) starts once more
   * than this many operations were committed on the calling thread within one second (default
   * 2,000; 0 starts it with the store). Until then every batch commits on the calling thread,
   * and SQLite checkpoints the write-ahead log there as with `checkpoints: 'inline'`.
   */
  writerStartOpsPerSecond?: number;
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
 * Ledger rows one multi-row insert of the writer thread writes: SQLite steps one statement for
 * all of them and the driver is entered once (at 256 callers the thread's CPU per pair fell by
 * about 14%; 8 rows did as well, 4 less). Inline commits write a row per statement: there, at
 * 16 callers, batches of 16 rows measured no faster.
 */
const entriesPerInsert = 16;

/** `(?, ?), (?, ?), …`: `rows` rows of `columns` parameters. */
function rowsOf(columns: number, rows: number): string {
  return Array.from({ length: rows }, () => `(${placeholders(columns)})`).join(', ');
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

/** Every statement a ledger write runs, by name; a write is a list of `[index, params]`. */
const writeSql = {
  insertEntry: `INSERT INTO ledger (${ledgerColumns.join(', ')}) VALUES (${placeholders(ledgerColumns.length)})`,
  /** An entry without usage, request or attribution fields: the columns left out are NULL, the same row. */
  insertBareEntry: `INSERT INTO ledger (${bareLedgerColumns.join(', ')}) VALUES (${placeholders(bareLedgerColumns.length)})`,
  insertBudget: `INSERT INTO budgets (${budgetColumns.join(', ')}) VALUES (${placeholders(budgetColumns.length)})`,
  updateBudget: `UPDATE budgets SET parent_id = ?, path = ?, status = ?, limit_micros = ?, period = ?, timezone = ?, period_start_ms = ?, period_end_ms = ?,
     spent_micros = ?, reserved_micros = ?, granted_micros = ?, overrun_micros = ?, inflight = ?, policy = ?, ${guardSet} WHERE id = ?`,
  updateBalances: `UPDATE budgets SET spent_micros = ?, reserved_micros = ?, granted_micros = ?, overrun_micros = ?, inflight = ?, ${guardSet} WHERE id = ?`,
  insertToken: `INSERT INTO tokens (${tokenColumns.join(', ')}) VALUES (${placeholders(tokenColumns.length)})`,
  updateToken: 'UPDATE tokens SET status = ?, revoked_ms = ? WHERE id = ?',
  insertIdempotency: 'INSERT INTO idempotency (key, fingerprint, result) VALUES (?, ?, ?)',
  insertClosed: 'INSERT INTO budget_periods (budget_id, start_ms, end_ms, spent_micros, granted_micros, overrun_micros) VALUES (?, ?, ?, ?, ?, ?)',
  setLowSeq: "UPDATE meta SET value = ? WHERE key = 'open_low_seq'",
  /** Named parameters: an `OutboxEvent`. */
  insertOutbox: outboxInsertSql,
} as const;
const writeNames = Object.keys(writeSql) as (keyof typeof writeSql)[];
const op = Object.fromEntries(writeNames.map((name, i) => [name, i])) as Record<keyof typeof writeSql, number>;

/**
 * Writes an entry on this thread. Parameters are bound one by one (an array costs the driver
 * about 0.8 µs more a row), and an entry without usage, request or attribution fields binds only
 * the nine columns it fills.
 */
function insertEntry(statements: readonly Database.Statement[], e: LedgerEntry): void {
  if (isBareEntry(e)) statements[op.insertBareEntry]?.run(e.seq, e.tsMs, e.kind, e.budgetId, e.amountMicros, e.reservationSeq, e.model, e.data, e.hash);
  else statements[op.insertEntry]?.run(...entryValues(e));
}

/** Runs one write statement, its parameters bound one by one when they are a list. */
function runOp(statements: readonly Database.Statement[], [index, params]: WriteOp): void {
  const statement = statements[index];
  if (Array.isArray(params)) statement?.run(...(params as unknown[]));
  else statement?.run(params);
}

/** Commands whose rows are handed to the writer thread together while the rest of the batch is computed. */
const commandsPerPart = 64;

/** Times a batch is computed again after another process wrote first, before it is refused. */
const conflictAttemptsMax = 8;

/** Batches the writer thread may be committing while the next is computed. */
const inflightBatchesMax = 8;

/**
 * Operations a batch for the writer thread takes at most; the writer commits once a transaction
 * holds this many ledger rows, even while more batches wait. A burst of callers is cut in
 * batches that commit one after the other, so the callers of the first are answered and their
 * next operations computed while the next is written (or waits for its fsync): with 256 callers
 * in a closed loop, one batch of 256 left the main thread idle during the commit and the
 * writer idle during the computation.
 */
const writerBatchOpsMax = 128;

/**
 * Operations a batch may hold and still be committed on the calling thread when the writer
 * thread is idle: below this, handing a batch over costs the two threads' wake-ups and messages
 * more than its rows cost here (16 callers: 38,000 pairs/s inline against 15,000 handed over; a
 * gateway at 64 connections: about 10% less CPU per call inline).
 */
const inlineBatchOpsMaxDefault = 64;

interface InflightBatch {
  tx: SqliteTx;
  results: BatchResult[];
  /** `seq:hash` of the ledger head once this batch is written. */
  head: string;
  written: Promise<WriteOutcome>;
}

/**
 * Operations committed on the calling thread within one second past which the writer thread
 * starts: about 1,000 calls a second (a reservation and a settlement each). A server below it
 * spends a few percent of a core on its commits and never pays for the thread's memory.
 */
const writerStartOpsPerSecondDefault = 2_000;

/** How far the lowest open reservation moves before the stored hint follows it. */
const lowSeqStep = 1024;

const refusalSql = refusalWriteSql(() => '?');

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
  /** The writer thread once started; `writerOptions` while it may still start. */
  private writer: SqliteWriter | undefined;
  private writerOptions: WriterOptions | undefined;
  /** Until the writer thread starts: operations committed here in the current one-second window, and when it began. */
  private readonly inlineLoad = { ops: 0, windowStartMs: 0, startOpsPerSecond: writerStartOpsPerSecondDefault };
  private readonly writeStatements: Database.Statement[];
  /** The ledger head as last committed by this store's writer thread (`writer: 'thread'`). */
  private committedHead = { seq: -1, hash: '' };
  /** The heads batches in flight will leave (`seq:hash`): the file's head may be any of them. */
  private readonly inflightHeads = new Set<string>();
  /** Moves on whenever computed state is dropped; the writer refuses batches of an older one. */
  private epoch = 0;
  /** Batches handed to the writer thread and not answered yet. */
  private writing = 0;
  private readonly inlineBatchOpsMax: number;
  /** What batches in flight decided that the file does not hold yet. */
  private readonly pending = { keys: new Map<string, IdempotencyRecord>(), resolved: new Map<number, ReservationRecord>() };
  private readonly stmt;
  readonly webhooks: SqliteWebhooks;

  constructor(options: SqliteStoreOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.timezone = options.timezone ?? 'UTC';
    this.inlineBatchOpsMax = options.inlineBatchOpsMax ?? inlineBatchOpsMaxDefault;
    try {
      this.db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5_000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.migrate();
      const background = options.checkpoints === 'background' && options.path !== ':memory:';
      if (options.writer === 'thread' && options.path !== ':memory:') {
        // One thread does both: each costs about 10 MB of memory (a V8 instance of its own).
        this.writerOptions = {
          path: options.path,
          driver: requireDriver.resolve('better-sqlite3'),
          sql: writeNames.map((name) => writeSql[name]),
          insertEntry: op.insertEntry,
          insertBareEntry: op.insertBareEntry,
          // Only the writer thread writes rows many to a statement: this connection never prepares these.
          insertEntriesSql: `INSERT INTO ledger (${ledgerColumns.join(', ')}) VALUES ${rowsOf(ledgerColumns.length, entriesPerInsert)}`,
          insertBareEntriesSql: `INSERT INTO ledger (${bareLedgerColumns.join(', ')}) VALUES ${rowsOf(bareLedgerColumns.length, entriesPerInsert)}`,
          entriesPerInsert,
          synchronous: options.synchronous === 'full' ? 'FULL' : 'NORMAL',
          busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
          checkpointIntervalMs: background ? checkpointIntervalMsDefault : undefined,
          groupRowsMax: writerBatchOpsMax,
          genesisHash,
          isUnavailable: (code) => code !== undefined && isUnavailable({ code }),
        };
        this.inlineLoad.startOpsPerSecond = options.writerStartOpsPerSecond ?? writerStartOpsPerSecondDefault;
        if (this.inlineBatchOpsMax === 0 || this.inlineLoad.startOpsPerSecond === 0) this.startWriter();
        this.committer.maxInFlight = inflightBatchesMax;
        // A small batch waits for the writer to finish, then commits inline: handing it over
        // too would keep the writer busy, and every later batch with it, under a steady trickle.
        this.committer.overlaps = (queued) => queued > this.inlineBatchOpsMax;
        this.committer.batchOpsMax = writerBatchOpsMax;
      } else if (background) {
        this.db.pragma('wal_autocheckpoint = 0');
        this.checkpointer = startCheckpointer(options.path, requireDriver.resolve('better-sqlite3'));
      }
    } catch (error) {
      throw new StoreUnavailableError(`cannot open SQLite database ${options.path}: ${(error as Error).message}`, { cause: error });
    }
    const db = this.db;
    this.writeStatements = writeNames.map((name) => db.prepare(writeSql[name]));
    this.stmt = {
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
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
      ledgerAfter: db.prepare('SELECT * FROM ledger WHERE seq > ? ORDER BY seq'),
      entryHash: db.prepare('SELECT hash FROM ledger WHERE seq = ?').pluck(),
      entryAt: db.prepare('SELECT * FROM ledger WHERE seq = ?'),
      lastCheckpoint: db.prepare('SELECT seq, hash, state FROM audit_checkpoints ORDER BY seq DESC LIMIT 1'),
      insertCheckpoint: db.prepare('INSERT OR REPLACE INTO audit_checkpoints (seq, hash, state, created_ms) VALUES (?, ?, ?, ?)'),
      pruneCheckpoints: db.prepare('DELETE FROM audit_checkpoints WHERE seq < (SELECT min(seq) FROM (SELECT seq FROM audit_checkpoints ORDER BY seq DESC LIMIT 2))'),
      refusalInsert: db.prepare(refusalSql.insert).pluck(),
      refusalUpdate: db.prepare(refusalSql.update),
      refusalPruneAge: db.prepare(refusalSql.pruneAge),
      refusalPruneCount: db.prepare(refusalSql.pruneCount),
    };
    this.webhooks = new SqliteWebhooks(db, (fn) => this.guarded(fn));
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
    // This connection also sees the writer thread's commits: only a head that is not this
    // store's own means another process wrote.
    if (this.cache && this.writer) {
      if (this.ownHead(this.cache)) return this.cache;
      // Another process wrote: batches in flight were computed without it and will be refused.
      this.dropState();
    }
    this.cache = this.loadSnapshot();
    return this.cache;
  }

  /** Whether the ledger's head is the one this store last committed, or the one its batch in flight will leave. */
  private ownHead(cache: SqliteCache): boolean {
    const head = this.stmt.head.get() as Row | undefined;
    const seq = head ? Number(head.seq) : 0;
    const hash = head ? String(head.hash) : genesisHash;
    return (seq === cache.headSeq && hash === cache.headHash) || (seq === this.committedHead.seq && hash === this.committedHead.hash) || this.inflightHeads.has(`${seq}:${hash}`);
  }

  /** Loads the cache from one consistent snapshot of the file (a savepoint inside a write transaction). */
  private readonly loadSnapshot = (): SqliteCache => this.db.transaction(() => this.load())();

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

  /**
   * Starts the writer thread. Until now SQLite checkpointed during this connection's commits (a
   * pause of a few milliseconds every thousand pages); from now on, when asked to, the thread does.
   */
  private startWriter(): SqliteWriter {
    const options = this.writerOptions;
    if (options === undefined || this.writer !== undefined) fail('the writer thread starts once');
    this.writer = new SqliteWriter(options);
    this.writerOptions = undefined;
    if (options.checkpointIntervalMs !== undefined) this.db.pragma('wal_autocheckpoint = 0');
    return this.writer;
  }

  /** Whether the writer thread is running (it starts under sustained load, see `writerStartOpsPerSecond`). */
  get writerStarted(): boolean {
    return this.writer !== undefined;
  }

  /**
   * Counts a batch committed here while the writer thread has not started; true once the
   * operations of the current one-second window pass the point where the thread starts.
   */
  private sustainedLoad(ops: number): boolean {
    if (this.writerOptions === undefined) return false;
    const now = performance.now();
    if (now - this.inlineLoad.windowStartMs >= 1_000) {
      this.inlineLoad.windowStartMs = now;
      this.inlineLoad.ops = 0;
    }
    this.inlineLoad.ops += ops;
    return this.inlineLoad.ops > this.inlineLoad.startOpsPerSecond;
  }

  protected runBatch(cmds: readonly (Command | null)[]): BatchOutcome | Promise<BatchOutcome> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    if (this.sustainedLoad(cmds.length)) this.startWriter();
    // A small batch with nothing being written is committed here at once: handing it to the
    // writer thread and waiting for its answer would only add the two threads' wake-ups.
    if (this.writer && (this.writing > 0 || cmds.length > this.inlineBatchOpsMax)) return this.runBatchOnWriter(this.writer, cmds);
    try {
      this.stmt.begin.run();
    } catch (error) {
      throw isUnavailable(error) ? new StoreUnavailableError((error as Error).message, { cause: error }) : error;
    }
    try {
      const cache = this.fresh();
      const tx = new SqliteTx(cache, this.reads, Math.max(this.clock.now(), cache.headTsMs));
      const results = this.apply(tx, cmds);
      for (const e of tx.entries) insertEntry(this.writeStatements, e);
      for (const writeOp of this.writeOps(tx, cache)) runOp(this.writeStatements, writeOp);
      this.stmt.commit.run();
      this.committedHead = { seq: cache.headSeq, hash: cache.headHash };
      return { results, entries: tx.entries };
    } catch (error) {
      if (this.db.inTransaction) this.stmt.rollback.run();
      this.cache = undefined;
      throw isUnavailable(error) ? new StoreUnavailableError((error as Error).message, { cause: error }) : error;
    }
  }

  /** Runs the batch's commands in one transaction; `onPart` is called after every `commandsPerPart`. */
  private apply(tx: SqliteTx, cmds: readonly (Command | null)[], onPart?: () => void): BatchResult[] {
    const expired = expireDue(tx, limits.expirePerBatchMax);
    return cmds.map((cmd, i) => {
      if (onPart && i > 0 && i % commandsPerPart === 0) onPart();
      if (cmd === null) return { ok: true, expired };
      const before = tx.entries.length;
      const result = applyCommand(tx, cmd, { timezone: this.timezone });
      if (!result.ok && !refusalMayWrite(result) && tx.entries.length !== before) fail(`a refused ${cmd.type} wrote to the ledger`);
      return result;
    });
  }

  /**
   * A batch through the writer thread: computed here on the cache at once (even while earlier
   * batches are being written), its rows handed over part by part, committed there. A batch
   * computed on state that did not last (another process wrote first, or an earlier batch did
   * not commit) is computed again on fresh state: nothing of it was answered.
   */
  private async runBatchOnWriter(writer: SqliteWriter, cmds: readonly (Command | null)[]): Promise<BatchOutcome> {
    for (let attempt = 1; ; attempt += 1) {
      const batch = this.computeForWriter(writer, cmds);
      this.writing += 1;
      const outcome = await batch.written;
      this.writing -= 1;
      this.inflightHeads.delete(batch.head);
      if (outcome.ok) {
        this.committed(batch);
        return { results: batch.results, entries: batch.tx.entries };
      }
      if (outcome.epoch === this.epoch) this.dropState();
      if (!outcome.retry) throw outcome.error;
      if (attempt >= conflictAttemptsMax) throw new StoreUnavailableError(`the ledger kept changing under this store's writes (${attempt} attempts)`);
    }
  }

  private computeForWriter(writer: SqliteWriter, cmds: readonly (Command | null)[]): InflightBatch {
    let cache: SqliteCache;
    try {
      cache = this.freshForRead();
    } catch (error) {
      throw isUnavailable(error) ? new StoreUnavailableError((error as Error).message, { cause: error }) : error;
    }
    const batch = writer.begin(this.epoch, cache.headSeq, cache.headHash);
    const tx = new SqliteTx(cache, this.reads, Math.max(this.clock.now(), cache.headTsMs));
    let sent = 0;
    const part = (): WritePart => {
      const hashes = tx.entries.slice(sent).map((e) => e.hash);
      const texts = tx.entryTexts.slice(sent).join(',');
      sent = tx.entries.length;
      return { texts, hashes: hashes.join('') };
    };
    let results: BatchResult[];
    let last: WritePart;
    try {
      results = this.apply(tx, cmds, () => batch.send(part()));
      last = part();
      last.ops = this.writeOps(tx, cache);
    } catch (error) {
      batch.abort();
      this.dropState();
      throw error;
    }
    // Until it commits, what this batch decided is only in memory: later batches look here first.
    for (const r of tx.idempotencyRecords.values()) this.pending.keys.set(r.key, r);
    for (const r of tx.resolved) this.pending.resolved.set(r.seq, r);
    const head = `${cache.headSeq}:${cache.headHash}`;
    this.inflightHeads.add(head);
    return { tx, results, head, written: batch.end(last) };
  }

  /** A batch committed: the file now holds what it decided. */
  private committed(batch: InflightBatch): void {
    const [seq, hash] = batch.head.split(':');
    this.committedHead = { seq: Number(seq), hash: hash ?? '' };
    for (const r of batch.tx.idempotencyRecords.values()) if (this.pending.keys.get(r.key) === r) this.pending.keys.delete(r.key);
    for (const r of batch.tx.resolved) if (this.pending.resolved.get(r.seq) === r) this.pending.resolved.delete(r.seq);
  }

  /** Forgets everything computed and not committed: batches in flight will be computed again. */
  private dropState(): void {
    this.epoch += 1;
    this.cache = undefined;
    this.pending.keys.clear();
    this.pending.resolved.clear();
    this.inflightHeads.clear();
  }

  private readonly reads = {
    reservation: (seq: number): ReservationRecord | undefined => {
      const pending = this.pending.resolved.get(seq);
      if (pending) return pending;
      const reserve = this.stmt.reserveEntry.get(seq) as Row | undefined;
      if (!reserve) return undefined;
      const resolution = this.stmt.resolution.get(seq) as Row | undefined;
      return reservationFromLedger(entryFromRow(reserve), resolution ? entryFromRow(resolution) : undefined);
    },
    idempotency: (key: string): IdempotencyRecord | undefined => this.pending.keys.get(key) ?? (this.stmt.idempotency.get(key) as IdempotencyRecord | undefined),
  };

  /** The statements that write a transaction's changes besides its entries (written first, on their own). */
  private writeOps(tx: SqliteTx, cache: SqliteCache): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const b of tx.newBudgets) ops.push([op.insertBudget, budgetValues(b)]);
    for (const b of tx.dirtyBudgets) {
      if (tx.newBudgets.has(b)) continue;
      // A reservation or settlement moves balances only: the row's other columns stay.
      if (!cache.reshaped(b)) ops.push([op.updateBalances, [b.spentMicros, b.reservedMicros, b.grantedMicros, b.overrunMicros, b.inflight, ...guardValues(b), b.id]]);
      else ops.push([op.updateBudget, [b.parentId, b.path, b.status, b.limitMicros, b.period, b.timezone, b.periodStartMs, b.periodEndMs, b.spentMicros, b.reservedMicros, b.grantedMicros, b.overrunMicros, b.inflight, JSON.stringify(b.policy), ...guardValues(b), b.id]]);
    }
    for (const t of tx.newTokens) ops.push([op.insertToken, tokenValues(t)]);
    for (const t of tx.dirtyTokens) if (!tx.newTokens.has(t)) ops.push([op.updateToken, [t.status, t.revokedMs, t.id]]);
    for (const r of tx.idempotencyRecords.values()) ops.push([op.insertIdempotency, [r.key, r.fingerprint, r.result]]);
    for (const p of tx.closedPeriods) ops.push([op.insertClosed, [p.budgetId, p.startMs, p.endMs, p.spentMicros, p.grantedMicros, p.overrunMicros]]);
    // The outbox: events leave with the entries that raised them (the whole batch's), or not at all.
    for (const e of outboxEventsOf(tx.entries, (id) => cache.budgets.get(id))) ops.push([op.insertOutbox, { ...e }]);
    // Where a reload starts looking for open reservations. It only ever moves up, and a stored
    // value that lags is still correct (the reload scans a few more entries), so it is written
    // once it has moved far, not on every settlement.
    const low = cache.openLowSeq();
    if (low - cache.storedLowSeq >= lowSeqStep) {
      ops.push([op.setLowSeq, [low]]);
      cache.storedLowSeq = low;
    }
    return ops;
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
    return this.guarded(
      () => fn(this.freshForRead()),
      () => (this.cache = undefined),
    );
  }

  /** Runs `fn` on the open database; a database that cannot answer is `StoreUnavailableError`. */
  private guarded<T>(fn: () => T, onError?: () => void): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (error) {
      onError?.();
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

  crossBudgets(): Promise<BudgetView[]> {
    return this.read((cache) => {
      const now = this.now();
      const cross = [...cache.budgets.values()].filter((b) => isCrossKind(b.kind));
      return cross.sort((a, b) => (a.path < b.path ? -1 : 1)).map((b) => viewBudget(b, now));
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

  override chainPolicies(path: string): Promise<Policy[]> {
    return this.read((cache) => {
      const out: Policy[] = [];
      for (let b = cache.byPath.get(path); b; b = b.parentId === null ? undefined : cache.budgets.get(b.parentId)) out.push(b.policy);
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

  audit(options: AuditOptions = {}): Promise<AuditReport> {
    return this.read(() => {
      const { report, checkpoint } = this.db.transaction(() => this.replay(options.full === true))();
      if (checkpoint) this.saveCheckpoint(checkpoint);
      return report;
    });
  }

  /**
   * Replays the ledger from the last audit's checkpoint (when the ledger still holds that entry
   * with that hash) or from the first entry, in one read transaction. Open reservations are
   * looked for from the stored hint on, as a reload finds them.
   */
  private replay(full: boolean): { report: AuditReport; checkpoint: ReplayCheckpoint | undefined } {
    const saved = full ? undefined : (this.stmt.lastCheckpoint.get() as Row | undefined);
    const mark = saved && { seq: Number(saved.seq), hash: String(saved.hash) };
    const entry = mark && (this.stmt.entryAt.get(mark.seq) as Row | undefined);
    const prevHash = mark && (this.stmt.entryHash.get(mark.seq - 1) as string | undefined);
    const holds = mark !== undefined && anchored(mark, entry && entryFromRow(entry), prevHash ?? genesisHash);
    const from = holds ? checkpointFromText(String(saved?.state)) : undefined;
    const replay = replayLedger(from);
    if (mark !== undefined && !holds) replay.unanchored(mark, entry ? String(entry.hash) : null);
    for (const row of this.stmt.ledgerAfter.iterate(from?.seq ?? 0) as Iterable<Row>) replay.apply(entryFromRow(row));
    const report = replay.finish({
      budgets: (this.stmt.allBudgets.all() as Row[]).map(budgetFromRow),
      closedPeriods: (this.db.prepare('SELECT * FROM budget_periods').all() as Row[]).map(closedFromRow),
      openReservations: (this.stmt.openReservations.all(Number(this.stmt.getLowSeq.get() ?? 0)) as Row[]).map((row) => reservationFromLedger(entryFromRow(row))),
    });
    const moved = report.ok && report.entries > (from?.entries ?? 0);
    return { report, checkpoint: moved ? replay.checkpoint() : undefined };
  }

  /** Keeps a successful audit's state for the next one (and the one before it); skipped if the file is busy. */
  private saveCheckpoint(c: ReplayCheckpoint): void {
    try {
      this.db.transaction(() => {
        this.stmt.insertCheckpoint.run(c.seq, c.hash, JSON.stringify(c), this.clock.now());
        this.stmt.pruneCheckpoints.run();
      }).immediate();
    } catch (error) {
      if (!isUnavailable(error)) throw error;
    }
  }

  writeRefusals(rows: readonly RefusalWrite[], retention: RefusalRetention): Promise<number[]> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    const s = this.stmt;
    const write = this.db.transaction((): number[] => {
      const ids = rows.map((r) => {
        const values = refusalValues(r);
        if (r.id !== null && s.refusalUpdate.run(...values, r.id).changes > 0) return r.id;
        return Number(s.refusalInsert.get(...values));
      });
      s.refusalPruneAge.run(retention.keepSinceMs);
      s.refusalPruneCount.run(retention.rowsMax);
      return ids;
    });
    try {
      return Promise.resolve(write());
    } catch (error) {
      return Promise.reject(isUnavailable(error) ? new StoreUnavailableError((error as Error).message, { cause: error }) : (error as Error));
    }
  }

  refusals(query: RefusalQuery): Promise<RefusalPage> {
    return this.read(() => {
      const { sql, args, limit } = refusalQuerySql(query, () => '?', limits.ledgerPageMax);
      return refusalPageOf(this.db.prepare(sql).all(...args) as Row[], limit);
    });
  }

  async ping(): Promise<void> {
    await this.read(() => this.stmt.dataVersion.get());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.committer.drain();
    this.closed = true;
    await this.writer?.stop();
    await this.checkpointer?.stop();
    this.db.close();
  }
}

function subtreeIds(cache: SqliteCache, root: BudgetRecord): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i += 1) out.push(...cache.childrenOf(out[i]?.id ?? 0));
  return out.map((b) => b.id);
}
