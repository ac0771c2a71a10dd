import { limits as coreLimits } from '../core/index.js';

/**
 * Every bound the admin API enforces, in one place; units come last in each name. The ledger's
 * own bounds (amounts, names, page size) are in src/core/limits.ts.
 *
 * @example
 * if (scanned >= apiLimits.usageScanEntriesMax) truncated = true;
 */
export const apiLimits = {
  /** Largest admin request body. Admin bodies are small: a budget, a policy, a token. */
  bodyBytesMax: 64 * 1024,
  /** Ledger page size: the store's own bounds. */
  ledgerPageMax: coreLimits.ledgerPageMax,
  ledgerPageDefault: coreLimits.ledgerPageDefault,
  /**
   * Settlement entries one usage report reads (newest first). Past this the report says
   * `truncated` and from when it is complete, so a caller narrows `since`/`until`.
   */
  usageScanEntriesMax: 200_000,
  /** Ledger entries read (newest first) to find the most recent sessions. */
  sessionScanEntriesMax: 200_000,
  /** Entries of one session read to total it in the session list. */
  sessionEntriesMax: 50_000,
  sessionsListDefault: 30,
  sessionsListMax: 500,
  /** Groups one usage report returns (sessions or budgets can be many); the rest are summed as `other`. */
  usageGroupsMax: 10_000,
  /** A comment line on every open event stream this often, so proxies keep it open. */
  sseHeartbeatMs: 15_000,
  /** Entries replayed from the ledger to a client resuming with Last-Event-ID. */
  sseReplayEntriesMax: 10_000,
  /** Open event streams at once; one more is refused with 503. */
  sseClientsMax: 256,
  /** Bytes buffered for one slow event-stream client before it is disconnected (it may resume). */
  sseClientBufferBytesMax: 4 * 1024 * 1024,
  /** Committed entries waiting to be sent to event streams; past this every stream is reset. */
  sseQueueEntriesMax: 100_000,
  /** Admin keys: shortest accepted, and how long a generated one is (base62 characters). */
  adminKeyCharsMin: 16,
  adminKeyCharsGenerated: 40,
  adminKeysMax: 32,
  /** Label sets one metric keeps; past this, new ones are counted under the label value `other`. */
  metricSeriesMax: 1_000,
  /** Text labels (actor header, session ids, filters). */
  labelBytesMax: coreLimits.labelBytesMax,
} as const;
