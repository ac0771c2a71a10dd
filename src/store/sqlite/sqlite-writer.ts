import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../store.js';

/** One statement run: its index in the writer's statement list and its parameters (a list, or an object of named ones). */
export type WriteOp = readonly [statement: number, params: readonly unknown[] | Readonly<Record<string, unknown>>];

/**
 * Rows for the writer: ledger entries as the texts their hashes were computed over, joined by
 * commas, and their hashes, concatenated (a string crosses threads as one copy; arrays of
 * values cost a structured clone each), then any other statements.
 */
export interface WritePart {
  texts: string;
  hashes: string;
  ops?: WriteOp[];
}

/**
 * How a batch ended on the writer: committed; `retry` (computed on state that changed: another
 * process wrote first, or an earlier batch it was computed after did not commit); or failed.
 */
export type WriteOutcome = { ok: true } | { ok: false; retry: true; epoch: number } | { ok: false; retry: false; epoch: number; error: Error };

interface Reply {
  id: number;
  epoch: number;
  ok: boolean;
  retry?: boolean;
  code?: string;
  message?: string;
}

// Runs in a worker thread with its own connection. A batch arrives as `part`s and an `end`; the
// first carries `begin`, the ledger head the batch was computed on, checked under the write
// lock. Batches already queued when one ends join its transaction (group commit across
// batches); the whole group commits at once and each batch is answered. When a batch fails, the
// transaction is rolled back: the batches grouped with it and every later one of the same epoch
// were computed on state that will not exist, so they are answered `retry` until the main
// thread moves to a new epoch.
const workerSource = `
const { parentPort, receiveMessageOnPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = ' + workerData.synchronous);
// Checkpoints, when asked for, run here between transactions (never inside one): this thread
// takes the place of the separate checkpointing thread.
if (workerData.checkpointIntervalMs !== undefined) db.pragma('wal_autocheckpoint = 0');
const statements = workerData.sql.map((sql) => db.prepare(sql));
const insertEntry = statements[workerData.insertEntry];
const insertBareEntry = statements[workerData.insertBareEntry];
const perInsert = workerData.entriesPerInsert;
const head = db.prepare('SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1');
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');
let deadEpoch = -1;
// Batches written in the open transaction and ended, waiting for the group to commit.
let group = [];
// Ledger rows written in the open transaction.
let groupRows = 0;
// The batch begun and not ended yet (its parts are still arriving).
let open = null;
// Failures of batches whose end has not arrived yet: answered when it does.
const failed = new Map();
// Entries arrive as the text their hash was computed over ([prevHash, seq, ..., data]) and their
// hashes: the row is that array without its first element, then the hash. An entry whose usage,
// request and attribution fields (8 to 16) are all null is bare: it binds only the columns it
// fills. Rows of each shape are gathered into multi-row inserts of \`perInsert\` (order does not
// matter within a transaction, every row names its seq); the rest go one by one.
function shape(one, manySql, width) {
  return { one, many: db.prepare(manySql), width, params: new Array(width * perInsert), rows: 0 };
}
const bare = shape(insertBareEntry, workerData.insertBareEntriesSql, 9);
const full = shape(insertEntry, workerData.insertEntriesSql, 18);
function insertRow(r, hash) {
  const isBare = r[8] === null && r[9] === null && r[10] === null && r[11] === null && r[12] === null && r[13] === null && r[14] === null && r[15] === null && r[16] === null;
  const s = isBare ? bare : full;
  let o = s.rows * s.width;
  for (let c = 1; c <= 7; c += 1) s.params[o++] = r[c];
  if (!isBare) for (let c = 8; c <= 16; c += 1) s.params[o++] = r[c];
  s.params[o++] = r[17];
  s.params[o] = hash;
  s.rows += 1;
  if (s.rows === perInsert) {
    s.many.run(s.params);
    s.rows = 0;
  }
}
// The rows left over, one statement each, their parameters bound one by one (a list costs the driver more a row).
function insertLeftRows(s) {
  for (let j = 0; j < s.rows; j += 1) s.one.run(...s.params.slice(j * s.width, (j + 1) * s.width));
  s.rows = 0;
}
function write(m) {
  if (m.texts) {
    const rows = JSON.parse('[' + m.texts + ']');
    groupRows += rows.length;
    // Counted afresh: an insert that failed in an earlier message left its rows gathered.
    bare.rows = 0;
    full.rows = 0;
    for (let i = 0; i < rows.length; i += 1) insertRow(rows[i], m.hashes.slice(i * 64, i * 64 + 64));
    insertLeftRows(bare);
    insertLeftRows(full);
  }
  if (m.ops) for (const op of m.ops) {
    if (Array.isArray(op[1])) statements[op[0]].run(...op[1]);
    else statements[op[0]].run(op[1]);
  }
}
function errorReply(m, error) {
  return { id: m.id, epoch: m.epoch, ok: false, code: error && error.code, message: String(error && error.message) };
}
// Rolls back the transaction; the batches in it are computed again, \`m\` gets \`reply\`.
function fail(m, reply) {
  if (db.inTransaction) { try { rollback.run(); } catch {} }
  for (const b of group) parentPort.postMessage({ id: b.id, epoch: b.epoch, ok: false, retry: true });
  group = [];
  groupRows = 0;
  open = null;
  deadEpoch = Math.max(deadEpoch, m.epoch);
  if (reply === null) return;
  if (m.type === 'end') parentPort.postMessage(reply);
  else failed.set(m.id, reply);
}
function handle(m) {
  if (m.type === 'end' && failed.has(m.id)) {
    parentPort.postMessage(failed.get(m.id));
    failed.delete(m.id);
    return;
  }
  if (m.epoch <= deadEpoch) {
    if (m.type === 'end') parentPort.postMessage({ id: m.id, epoch: m.epoch, ok: false, retry: true });
    return;
  }
  if (m.type === 'abort') return fail(m, null);
  try {
    if (m.begin) {
      if (!db.inTransaction) begin.run();
      open = m.id;
      const h = head.get();
      if ((h ? h.seq : 0) !== m.begin.seq || (h ? h.hash : m.begin.genesis) !== m.begin.hash) return fail(m, { id: m.id, epoch: m.epoch, ok: false, retry: true });
    }
    write(m);
    if (m.type === 'end') {
      group.push({ id: m.id, epoch: m.epoch });
      open = null;
    }
  } catch (error) {
    fail(m, errorReply(m, error));
  }
}
// Commits the group once no batch is half written; a failed commit fails every batch in it.
function finish() {
  if (group.length === 0 || open !== null) return;
  try {
    commit.run();
    for (const b of group) parentPort.postMessage({ id: b.id, epoch: b.epoch, ok: true });
  } catch (error) {
    if (db.inTransaction) { try { rollback.run(); } catch {} }
    for (const b of group) parentPort.postMessage(errorReply(b, error));
    deadEpoch = Math.max(deadEpoch, group[group.length - 1].epoch);
  }
  group = [];
  groupRows = 0;
}
function checkpoint() {
  if (db.inTransaction) return;
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}
const checkpoints = workerData.checkpointIntervalMs === undefined ? undefined : setInterval(checkpoint, workerData.checkpointIntervalMs);
parentPort.on('message', (first) => {
  let m = first;
  for (;;) {
    if (m.type === 'stop') {
      if (db.inTransaction) rollback.run();
      if (checkpoints !== undefined) { clearInterval(checkpoints); checkpoint(); }
      db.close();
      parentPort.close();
      return;
    }
    handle(m);
    // A bound on one transaction while batches keep arriving: callers wait for its commit.
    if (group.length >= workerData.groupBatchesMax || groupRows >= workerData.groupRowsMax) finish();
    const next = receiveMessageOnPort(parentPort);
    if (next === undefined) break;
    m = next.message;
  }
  finish();
});
`;

/** Batches one transaction of the writer takes at most when more keep arriving. */
const groupBatchesMax = 64;

export interface WriterOptions {
  path: string;
  driver: string;
  sql: readonly string[];
  /** Index in `sql` of the ledger insert, whose parameters are the entry columns in `ledgerColumns` order. */
  insertEntry: number;
  /** Index in `sql` of the insert of an entry without usage, request or attribution fields (`bareLedgerColumns`). */
  insertBareEntry: number;
  /** The inserts of `entriesPerInsert` entries at once, each bound as `insertEntry` and `insertBareEntry` bind one. */
  insertEntriesSql: string;
  insertBareEntriesSql: string;
  entriesPerInsert: number;
  synchronous: 'NORMAL' | 'FULL';
  busyTimeoutMs: number;
  /** Ledger rows past which a transaction commits even while more batches are queued (the whole group is answered). */
  groupRowsMax: number;
  /** Checkpoint the write-ahead log this often (between transactions); undefined leaves it to SQLite. */
  checkpointIntervalMs: number | undefined;
  genesisHash: string;
  isUnavailable(code: string | undefined): boolean;
}

/**
 * The ledger's writes on a thread of their own (`writer: 'thread'`). The store runs the ledger
 * machine on the main thread and hands each batch's rows over in parts as they are made, so
 * the thread inserts one part while the next is computed; SQLite's work (binding, B-trees, the
 * commit and its fsync) stays off the event loop that answers callers, and a batch is computed
 * as soon as it is submitted even while earlier ones are being written. Each batch starts by
 * checking that the ledger head is the one it was computed on (another process may have
 * written); batches carry the store's epoch, which moves on whenever one fails.
 */
export class SqliteWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (outcome: WriteOutcome) => void>();
  private nextId = 1;
  private dead: Error | undefined;

  constructor(private readonly options: WriterOptions) {
    const { path, driver, sql, insertEntry, insertBareEntry, insertEntriesSql, insertBareEntriesSql, entriesPerInsert, synchronous, busyTimeoutMs, checkpointIntervalMs, groupRowsMax } = options;
    const workerData = { path, driver, sql, insertEntry, insertBareEntry, insertEntriesSql, insertBareEntriesSql, entriesPerInsert, synchronous, busyTimeoutMs, checkpointIntervalMs, groupBatchesMax, groupRowsMax };
    this.worker = new Worker(workerSource, { eval: true, workerData });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.answer(reply));
    this.worker.on('error', (error) => this.stopAll(new StoreUnavailableError(`the ledger writer failed: ${error.message}`, { cause: error })));
    this.worker.on('exit', () => this.stopAll(new StoreUnavailableError('the ledger writer stopped')));
  }

  /**
   * Starts a batch computed on the ledger head `seq`/`hash` in `epoch`; returns functions that
   * hand over its parts and end it (the promise settles once it has committed, or not).
   */
  begin(epoch: number, seq: number, hash: string): { send(part: WritePart): void; end(part: WritePart): Promise<WriteOutcome>; abort(): void } {
    if (this.dead) throw this.dead;
    const id = this.nextId;
    this.nextId += 1;
    // The head to check travels with the batch's first message: a small batch is one message.
    let begin: { seq: number; hash: string; genesis: string } | undefined = { seq, hash, genesis: this.options.genesisHash };
    const first = (): typeof begin => {
      const b = begin;
      begin = undefined;
      return b;
    };
    return {
      send: (part) => {
        if (part.texts !== '' || (part.ops?.length ?? 0) > 0) this.worker.postMessage({ type: 'part', id, epoch, begin: first(), ...part });
      },
      end: (part) => {
        if (this.dead) return Promise.reject(this.dead);
        return new Promise<WriteOutcome>((resolve) => {
          this.waiting.set(id, resolve);
          this.worker.ref();
          this.worker.postMessage({ type: 'end', id, epoch, begin: first(), ...part });
        });
      },
      // A batch whose computation failed: its rows, and those grouped with it, are rolled back.
      abort: () => {
        if (!this.dead) this.worker.postMessage({ type: 'abort', id, epoch });
      },
    };
  }

  private answer(reply: Reply): void {
    const resolve = this.waiting.get(reply.id);
    if (!resolve) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    if (reply.ok) return resolve({ ok: true });
    if (reply.retry) return resolve({ ok: false, retry: true, epoch: reply.epoch });
    const message = reply.message ?? 'the ledger write failed';
    const error = this.options.isUnavailable(reply.code) ? new StoreUnavailableError(message) : Object.assign(new Error(message), { code: reply.code });
    resolve({ ok: false, retry: false, epoch: reply.epoch, error });
  }

  private stopAll(error: Error): void {
    this.dead ??= error;
    for (const resolve of this.waiting.values()) resolve({ ok: false, retry: false, epoch: Infinity, error });
    this.waiting.clear();
  }

  /** Closes the writer's connection and ends its thread. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.dead) return resolve();
      this.dead = new StoreUnavailableError('the store is closed');
      this.worker.ref();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'stop' });
    });
  }
}
