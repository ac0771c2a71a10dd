/**
 * Every bound the HTTP API (admin and agent routes) enforces, in one place; units come last in
 * each name. The ledger's own bounds (amounts, names, page size) are core's `limits`, the
 * schemas' are `contractLimits`, the reports' are `opsLimits`.
 *
 * @example
 * scope.addContentTypeParser('application/json', { bodyLimit: apiLimits.bodyBytesMax }, parse);
 */
export const apiLimits = {
  /** Largest request body. Bodies here are small: a budget, a policy, a token, a reservation. */
  bodyBytesMax: 64 * 1024,
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
} as const;
