import { createRequire } from 'node:module';
import type pg from 'pg';
import {
  applyCommand,
  assert,
  fail,
  refusalMayWrite,
  expireDue,
  limits,
  NeedData,
  parseReservationId,
  viewBudget,
  viewReservation,
  viewToken,
  type AuditReport,
  type BudgetView,
  type ClosedPeriod,
  type Command,
  type CommandResult,
  type LedgerEntry,
  type ReservationView,
  type TokenView,
} from '../../core/index.js';
import { BaseStore } from '../base.js';
import type { BatchOutcome, BatchResult } from '../batcher.js';
import { tokenFromRow, type Row } from '../rows.js';
import { refusalPageOf, refusalQuerySql, refusalValues, refusalWriteSql, type RefusalPage, type RefusalQuery, type RefusalRetention, type RefusalWrite } from '../refusals.js';
import { StoreUnavailableError, systemClock, type AuditOptions, type Clock, type FoundToken, type LedgerPage, type LedgerQuery } from '../store.js';
import { PgCache, type PgHead } from './postgres-cache.js';
import { asStoreError, isUnavailable } from './postgres-errors.js';
import { PgEvents } from './postgres-events.js';
import { postgresLimits } from './postgres-limits.js';
import { migrate } from './postgres-migrations.js';
import { allBudgets, auditLedger, crossBudgetsIn, budgetAt, chainAt, closedPeriodsAt, entriesBetween, ledgerPage, reservationAt, type Queryable } from './postgres-reads.js';
import { loadParams, loadSql, lockHeadSql, needsOf, parseLoaded, writeParams, writeSql, type BatchNeeds } from './postgres-sql.js';
import { PgTx } from './postgres-tx.js';
import { PgWebhooks } from './postgres-webhooks.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; `?schema=name` picks the schema. */
  url: string;
  /** Schema holding Bursar's tables (created when missing). Default `bursar`, or the URL's `schema`. */
  schema?: string;
  clock?: Clock;
  /** Time zone for new budgets' periods. Default UTC. */
  timezone?: string;
  /** Overrides of the connection bounds in `postgresLimits`. */
  timeouts?: Partial<PostgresTimeouts>;
}

/** How long the store waits on the database before answering `store_unavailable`. */
export interface PostgresTimeouts {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  lockTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
}

const refusalSql = refusalWriteSql((i) => `$${i + 1}`);

const schemaPattern = /^[a-z_][a-z0-9_]*$/;
const int8Oid = 20;

function parseInt8(text: string): number {
  const n = Number(text);
  assert(Number.isSafeInteger(n), `a bigint column holds ${text}, beyond what a JavaScript number carries exactly`);
  return n;
}

/** The pg driver, loaded when a PostgreSQL store opens: a process on SQLite never loads it (about 2 MB). */
const driver = (() => {
  let loaded: typeof pg | undefined;
  return (): typeof pg => (loaded ??= createRequire(import.meta.url)('pg') as typeof pg);
})();

// int8 columns (sequences, micros, times) arrive as exact JavaScript numbers.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): ((text: string) => unknown) => (oid === int8Oid ? parseInt8 : (driver().types.getTypeParser(oid, format) as (text: string) => unknown))) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * The connection string without Bursar's own `schema` parameter, the schema to use, and any
 * server `options` the URL carried (taken out so that they add to Bursar's rather than, as the
 * driver would have it, replace them).
 *
 * @example
 * parsePostgresUrl('postgres://u@db:5432/app?schema=spend') // { connectionString: 'postgres://u@db:5432/app', schema: 'spend', options: '' }
 */
export function parsePostgresUrl(url: string, schema?: string): { connectionString: string; schema: string; options: string } {
  const parsed = new URL(url);
  const fromUrl = parsed.searchParams.get('schema') ?? undefined;
  const options = parsed.searchParams.get('options') ?? '';
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('options');
  const name = schema ?? fromUrl ?? 'bursar';
  if (!schemaPattern.test(name) || name.length > postgresLimits.schemaBytesMax) {
    throw new Error(`schema "${name}" must be lower-case letters, digits and _ (at most ${postgresLimits.schemaBytesMax} characters)`);
  }
  return { connectionString: parsed.toString(), schema: name, options };
}

function clientConfig(url: ReturnType<typeof parsePostgresUrl>, t: PostgresTimeouts): pg.ClientConfig {
  return {
    connectionString: url.connectionString,
    options: `${url.options} -c search_path=${url.schema}`.trim(),
    connectionTimeoutMillis: t.connectTimeoutMs,
    statement_timeout: t.statementTimeoutMs,
    query_timeout: t.queryTimeoutMs,
    lock_timeout: t.lockTimeoutMs,
    idle_in_transaction_session_timeout: t.idleInTransactionTimeoutMs,
    keepAlive: true,
    application_name: 'bursar',
    types,
  };
}

function headFromRow(row: Row | undefined): PgHead {
  assert(row, 'the ledger head row is missing');
  return { seq: Number(row.seq), hash: String(row.hash), tsMs: Number(row.ts_ms), version: Number(row.version), budgetIdMax: Number(row.budget_id_max) };
}

/**
 * Opens (creating and migrating when needed) a PostgreSQL ledger store. Many processes, on
 * many hosts, may open the same database and schema: writes are serialised by the ledger head
 * row, and each process's group commit puts everything submitted in one event-loop turn into
 * one transaction.
 *
 * @example
 * const store = await openPostgresStore({ url: 'postgres://bursar@db:5432/bursar' });
 * await store.createBudget({ path: 'acme', limitMicros: 100_000_000, period: 'month' });
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  try {
    await store.start();
  } catch (error) {
    await store.close();
    throw asStoreError(error);
  }
  return store;
}

/**
 * The PostgreSQL ledger store. Open it with `openPostgresStore` (which migrates); the
 * constructor alone connects to nothing.
 *
 * @example
 * const store = await openPostgresStore({ url: process.env.BURSAR_DB ?? '' });
 * const r = await store.reserve({ path: 'acme/research/bot', amountMicros: 25_000 });
 */
export class PostgresStore extends BaseStore {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly config: pg.ClientConfig;
  private readonly pool: pg.Pool;
  /** Delivery bookkeeping has connections of its own: it never waits behind, or holds up, the gateway's reads. */
  private readonly webhookPool: pg.Pool;
  readonly webhooks: PgWebhooks;
  private readonly clock: Clock;
  private readonly timezone: string;
  private readonly channel: string;
  private readonly events: PgEvents;
  private writer: pg.Client | undefined;
  /** Budgets and head as of the last commit; dropped whenever a batch does not commit. */
  private cache: PgCache | undefined;
  private headTsMs = 0;
  private closed = false;

  constructor(options: PostgresStoreOptions) {
    super();
    const url = parsePostgresUrl(options.url, options.schema);
    const schema = url.schema;
    this.schema = schema;
    this.clock = options.clock ?? systemClock;
    this.timezone = options.timezone ?? 'UTC';
    this.channel = `bursar_ledger_${schema}`;
    this.config = clientConfig(url, { ...pickTimeouts(postgresLimits), ...options.timeouts });
    this.pool = new (driver().Pool)({ ...this.config, max: postgresLimits.readPoolSize, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    // An idle connection that breaks is dropped by the pool; it must not crash the process.
    this.pool.on('error', () => undefined);
    this.webhookPool = new (driver().Pool)({ ...this.config, max: postgresLimits.webhookPoolSize, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    this.webhookPool.on('error', () => undefined);
    this.webhooks = new PgWebhooks(this.webhookPool, () => this.closed);
    this.events = new PgEvents(
      {
        deliver: (entries) => super.emit(entries),
        fetch: (after, upto, max) => entriesBetween(this.pool, after, upto, max),
        connect: () => this.connectClient(),
        headSeq: async (client) => Number((await client.query<Row>('SELECT seq FROM ledger_head WHERE id = 1')).rows[0]?.seq ?? 0),
        channel: this.channel,
      },
      0,
    );
  }

  /** Migrates under the advisory lock and reads the head. Called once, by `openPostgresStore`. */
  async start(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await migrate(client, this.schema);
      const head = headFromRow((await client.query<Row>('SELECT * FROM ledger_head WHERE id = 1')).rows[0]);
      this.headTsMs = head.tsMs;
      this.events.startAt(head.seq);
    } finally {
      client.release();
    }
  }

  now(): number {
    return Math.max(this.clock.now(), this.headTsMs);
  }

  /**
   * A new connection. The writer's is pipelined, and its plans never scan a whole table: its
   * statements are prepared once per connection, and PostgreSQL may keep a generic plan made
   * while the tables were small (a sequential scan of the ledger per batch, slower as the
   * ledger grows). Every lookup a batch makes has an index.
   */
  private async connectClient(writer = false): Promise<pg.Client> {
    const options = writer ? `${this.config.options ?? ''} -c enable_seqscan=off` : this.config.options;
    const client = new (driver().Client)({ ...this.config, options, pipeline: writer });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => undefined);
      throw asStoreError(error);
    }
    return client;
  }

  /** The writer connection, (re)connected when missing: a broken one is replaced on the next batch. */
  private async writerClient(): Promise<pg.Client> {
    if (this.writer) return this.writer;
    const client = await this.connectClient(true);
    client.on('error', () => this.dropWriter(client));
    client.on('end', () => this.dropWriter(client));
    this.writer = client;
    return client;
  }

  private dropWriter(client: pg.Client): void {
    if (this.writer !== client) return;
    this.writer = undefined;
    client.end().catch(() => undefined);
  }

  protected async runBatch(cmds: readonly (Command | null)[]): Promise<BatchOutcome> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    let extra: BatchNeeds = { reservationSeqs: [], tokenIds: [], keys: [] };
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.attempt(cmds, extra);
      } catch (error) {
        if (!(error instanceof NeedData) || attempt >= postgresLimits.needDataRetriesMax) throw error;
        extra = {
          reservationSeqs: [...extra.reservationSeqs, ...(error.what.reservationSeqs ?? [])],
          tokenIds: [...extra.tokenIds, ...(error.what.tokenIds ?? [])],
          keys: extra.keys,
        };
      }
    }
  }

  /**
   * One try at a batch, in two round trips on a pipelined connection: (1) BEGIN, lock the head
   * and load what the commands need, sent together (the load runs once the lock is held, with
   * a fresh snapshot); the machine then runs in memory; (2) one statement writes everything,
   * sent together with COMMIT. A failed write makes that COMMIT a rollback.
   */
  private async attempt(cmds: readonly (Command | null)[], extra: BatchNeeds): Promise<BatchOutcome> {
    const client = await this.writerClient();
    // The machine mutates cached budgets in place: the cache comes back only after a commit.
    const cache = this.cache ?? new PgCache();
    this.cache = undefined;
    try {
      const clockMs = this.clock.now();
      const needs = this.needsFor(cmds, extra);
      const [locked, answer] = await both(
        client.query(lockHeadSql) as unknown as Promise<pg.QueryResult<Row>[]>,
        client.query<Row>({ name: 'bursar_load', text: loadSql, values: loadParams(cache.head.version, needs, clockMs) }),
      );
      const head = headFromRow(locked[1]?.rows[0]);
      const { budgets, loaded } = parseLoaded(answer.rows[0], needs);
      cache.head = head;
      for (const b of budgets) cache.upsertBudget(b);
      const tx = new PgTx(cache, loaded, Math.max(clockMs, head.tsMs));
      const results = this.applyAll(tx, cmds);
      if (tx.wrote()) cache.head.version = head.version + 1;
      const write: Promise<unknown> = tx.wrote() ? client.query({ name: 'bursar_write', text: writeSql, values: writeParams(tx, cache.head, this.channel) }) : Promise.resolve();
      await both(write, client.query('COMMIT'));
      this.cache = cache;
      this.headTsMs = Math.max(this.headTsMs, cache.head.tsMs);
      return { results, entries: tx.entries };
    } catch (error) {
      await this.rollback(client, error);
      throw error instanceof NeedData ? error : asStoreError(error);
    }
  }

  /** What to load before running `cmds`: everything they name (overridden only by tests). */
  protected needsFor(cmds: readonly (Command | null)[], extra: BatchNeeds): BatchNeeds {
    return needsOf(cmds, extra);
  }

  private applyAll(tx: PgTx, cmds: readonly (Command | null)[]): BatchResult[] {
    const expired = expireDue(tx, limits.expirePerBatchMax);
    return cmds.map((cmd): BatchResult => {
      if (cmd === null) return { ok: true, expired };
      const before = tx.entries.length;
      const result: CommandResult = applyCommand(tx, cmd, { timezone: this.timezone });
      if (!result.ok && !refusalMayWrite(result) && tx.entries.length !== before) fail(`a refused ${cmd.type} wrote to the ledger`);
      return result;
    });
  }

  /** Ends a failed transaction; a connection that cannot is replaced. */
  private async rollback(client: pg.Client, cause: unknown): Promise<void> {
    if (isUnavailable(cause)) return this.dropWriter(client);
    try {
      await client.query('ROLLBACK');
    } catch {
      this.dropWriter(client);
    }
  }

  private async read<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('the store is closed');
    try {
      return await fn(this.pool);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  getBudget(path: string): Promise<BudgetView | undefined> {
    return this.read(async (q) => {
      const b = await budgetAt(q, path);
      return b ? viewBudget(b, this.now()) : undefined;
    });
  }

  listBudgets(): Promise<BudgetView[]> {
    return this.read(async (q) => (await allBudgets(q)).map((b) => viewBudget(b, this.now())));
  }

  crossBudgets(): Promise<BudgetView[]> {
    return this.read(async (q) => (await crossBudgetsIn(q)).map((b) => viewBudget(b, this.now())));
  }

  chain(path: string): Promise<BudgetView[]> {
    return this.read(async (q) => (await chainAt(q, path)).map((b) => viewBudget(b, this.now())));
  }

  getReservation(id: string): Promise<ReservationView | undefined> {
    return this.read(async (q) => {
      const seq = parseReservationId(id);
      const found = seq === undefined ? undefined : await reservationAt(q, seq);
      return found ? viewReservation(found.record, found.path) : undefined;
    });
  }

  findTokenByHash(hash: string): Promise<FoundToken | undefined> {
    return this.read(async (q) => {
      const [row] = (await q.query('SELECT t.*, b.path AS budget_path FROM tokens t JOIN budgets b ON b.id = t.budget_id WHERE t.hash = $1', [hash])).rows;
      return row ? { token: tokenFromRow(row), budgetPath: String(row.budget_path) } : undefined;
    });
  }

  getToken(id: string): Promise<TokenView | undefined> {
    return this.read(async (q) => {
      const [row] = (await q.query('SELECT t.*, b.path AS budget_path FROM tokens t JOIN budgets b ON b.id = t.budget_id WHERE t.id = $1', [id])).rows;
      return row ? viewToken(tokenFromRow(row), String(row.budget_path)) : undefined;
    });
  }

  listTokens(): Promise<TokenView[]> {
    return this.read(async (q) => {
      const found = (await q.query('SELECT t.*, b.path AS budget_path FROM tokens t JOIN budgets b ON b.id = t.budget_id ORDER BY t.created_ms, t.id COLLATE "C"')).rows;
      return found.map((row) => viewToken(tokenFromRow(row), String(row.budget_path)));
    });
  }

  ledger(query: LedgerQuery): Promise<LedgerPage> {
    return this.read((q) => ledgerPage(q, query));
  }

  closedPeriods(path: string): Promise<ClosedPeriod[]> {
    return this.read((q) => closedPeriodsAt(q, path));
  }

  audit(options: AuditOptions = {}): Promise<AuditReport> {
    return this.read(async () => {
      const client = await this.pool.connect();
      try {
        return await auditLedger(client, { full: options.full === true, nowMs: this.clock.now() });
      } finally {
        client.release();
      }
    });
  }

  writeRefusals(rows: readonly RefusalWrite[], retention: RefusalRetention): Promise<number[]> {
    return this.read(async () => {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const ids: number[] = [];
        for (const r of rows) {
          const values = refusalValues(r);
          const updated = r.id === null ? 0 : ((await client.query(refusalSql.update, [...values, r.id])).rowCount ?? 0);
          ids.push(updated > 0 && r.id !== null ? r.id : Number((await client.query<Row>(refusalSql.insert, values)).rows[0]?.id));
        }
        await client.query(refusalSql.pruneAge, [retention.keepSinceMs]);
        await client.query(refusalSql.pruneCount, [retention.rowsMax]);
        await client.query('COMMIT');
        return ids;
      } catch (error) {
        // A connection that cannot roll back is dropped rather than returned to the pool.
        broken = await client.query('ROLLBACK').then(() => false, () => true);
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  refusals(query: RefusalQuery): Promise<RefusalPage> {
    return this.read(async (q) => {
      const { sql, args, limit } = refusalQuerySql(query, (i) => `$${i + 1}`, limits.ledgerPageMax);
      return refusalPageOf((await q.query(sql, args)).rows, limit);
    });
  }

  /**
   * True once subscribers get every entry committed by any process: the feed listens. Entries
   * committed elsewhere before the first subscriber's feed listened are not delivered.
   */
  eventsListening(): boolean {
    return this.events.listening;
  }

  override subscribe(listener: (entries: readonly LedgerEntry[]) => void): () => void {
    const stop = super.subscribe(listener);
    this.events.subscriberAdded();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      stop();
      this.events.subscriberRemoved();
    };
  }

  protected override emit(entries: readonly LedgerEntry[]): void {
    this.events.local(entries);
  }

  async ping(): Promise<void> {
    await this.read((q) => q.query('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.committer.drain();
    this.closed = true;
    await this.events.close();
    const writer = this.writer;
    this.writer = undefined;
    await Promise.all([writer?.end().catch(() => undefined), this.pool.end().catch(() => undefined), this.webhookPool.end().catch(() => undefined)]);
  }
}

/** Awaits two pipelined queries; the first failure (in order) is thrown once both are answered. */
async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
  return [x.value, y.value];
}

function pickTimeouts(l: typeof postgresLimits): PostgresTimeouts {
  return {
    connectTimeoutMs: l.connectTimeoutMs,
    statementTimeoutMs: l.statementTimeoutMs,
    queryTimeoutMs: l.queryTimeoutMs,
    lockTimeoutMs: l.lockTimeoutMs,
    idleInTransactionTimeoutMs: l.idleInTransactionTimeoutMs,
  };
}
