/**
 * Bounds of the PostgreSQL store, units last. They sit here rather than in `src/core/limits.ts`
 * because only this backend uses them; the ledger's own bounds (batch size, expiries per batch,
 * ledger page size) still come from the core.
 *
 * @example
 * new pg.Client({ connectionTimeoutMillis: postgresLimits.connectTimeoutMs });
 */
export const postgresLimits = {
  /** A connection attempt that takes longer fails the batch with `store_unavailable`. */
  connectTimeoutMs: 2_000,
  /** Server-side bound on one statement. */
  statementTimeoutMs: 5_000,
  /** Client-side bound on one query's answer: catches a server that stopped answering. */
  queryTimeoutMs: 6_000,
  /** How long a batch waits for the ledger head lock held by another writer. */
  lockTimeoutMs: 5_000,
  /** A writer that stalls inside a transaction loses it (and the head lock) after this long. */
  idleInTransactionTimeoutMs: 10_000,
  /** Connections for reads (budgets, ledger pages, audit, event catch-up). */
  readPoolSize: 4,
  /** Connections for webhooks and their outbox (management and the deliverer's claims). */
  webhookPoolSize: 2,
  /** Times a batch is re-run after loading state the machine asked for and was not preloaded. */
  needDataRetriesMax: 3,
  /** Ledger rows read per page by the audit and by event catch-up. */
  ledgerFetchRowsMax: 5_000,
  /** Local entries held back while earlier entries from other processes are fetched. */
  eventStashEntriesMax: 100_000,
  /** First and largest wait before re-listening or re-fetching after a failure. */
  eventRetryMsMin: 100,
  eventRetryMsMax: 2_000,
  /** How often the LISTEN connection is checked (and the head compared) while subscribers wait. */
  eventHeartbeatMs: 5_000,
  /** Schema names: letters, digits and `_`, so that they never need quoting. */
  schemaBytesMax: 40,
} as const;
