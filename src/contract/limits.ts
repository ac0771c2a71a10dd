/**
 * Bounds the wire contract states, in one place; units last: what the schemas accept, and how
 * far a report reads before it says it is truncated. The ledger's own bounds (amounts, names,
 * TTLs, page size) are core's `limits`, which the schemas use directly.
 *
 * @example
 * z.record(z.string(), z.unknown()).refine((p) => Buffer.byteLength(JSON.stringify(p)) <= contractLimits.toolParamsBytesMax);
 */
export const contractLimits = {
  /**
   * Deepest nesting of objects and arrays a request body may have: far above what a real request
   * (tool schemas included) uses, far below what would overflow a recursive reader.
   */
  jsonDepthMax: 128,
  /** Largest `params` object of a tool reservation, serialised. */
  toolParamsBytesMax: 16 * 1024,
  /** Longest Idempotency-Key an agent sends; the store's key is this prefixed with the caller's token id. */
  agentIdempotencyKeyBytesMax: 200,
  /** Longest lifetime a minted or delegated token may ask for (a child is also capped by its parent's expiry). */
  tokenLifetimeMsMax: 10 * 366 * 86_400_000,
  /** Shortest lifetime a minted token may ask for. */
  tokenLifetimeMsMin: 1_000,
  /** Longest `agent` filter: an agent's path or its bare name. */
  agentRefCharsMax: 1_100,
  sessionsListDefault: 30,
  sessionsListMax: 500,
  /**
   * Settlement entries one usage report reads (newest first). Past this the report says
   * `truncated` and from when it is complete, so a caller narrows `since`/`until`.
   */
  usageScanEntriesMax: 200_000,
  /** Ledger entries read (newest first) to find the most recent sessions. */
  sessionScanEntriesMax: 200_000,
  /** Entries of one session read to total it in the session list. */
  sessionEntriesMax: 50_000,
  /** Groups one usage report returns (sessions or budgets can be many); the rest are summed as `other`. */
  usageGroupsMax: 10_000,
  /** Items one pre-flight plan may list. */
  planItemsMax: 1_000,
  /** Calls one plan may add up to (items times their counts). */
  planCallsMax: 1_000_000,
  /** Bytes of input text one plan may carry, over all its items (each is tokenized once). */
  planInputBytesMax: 1024 * 1024,
  /** Bytes of input text one estimate (the MCP tool `estimate_cost`) counts. */
  estimateInputBytesMax: 1024 * 1024,
  /** Largest plan request body (and plan file) read: more than other admin bodies take. */
  planBodyBytesMax: 2 * 1024 * 1024,
  /** Longest item or plan title. */
  planTitleBytesMax: 256,
  /** Calls a plan may plan to run at once. */
  planConcurrencyMax: 100_000,
  /** A plan estimated above this (10 USD) needs a confirmation, unless the caller sets its own threshold. */
  preflightConfirmOverMicrosDefault: 10_000_000,
  /** More calls than this in one plan is a warning… */
  preflightQueueCallsWarnDefault: 100,
  /** …and more than this a failure, unless the caller sets its own bounds. */
  preflightQueueCallsMaxDefault: 1_000,
  /** Ledger entries one forecast reads, newest first; past this it says from when it is complete. */
  forecastScanEntriesMax: 200_000,
  /** Budgets one forecast lists; the rest are counted in `budgets_omitted`. */
  forecastBudgetsMax: 10_000,
  /** Ledger entries one reservation-metrics report reads, newest first. */
  reservationScanEntriesMax: 200_000,
  /** Rows one reservation-metrics report keeps; the rest are summed in `other`. */
  reservationRowsMax: 10_000,
  /** Webhooks one Bursar keeps. */
  webhooksMax: 100,
  /** Longest webhook URL. */
  webhookUrlCharsMax: 2_048,
  /** A webhook secret a caller chooses: long enough to resist guessing, short enough to be a header key. */
  webhookSecretCharsMin: 16,
  webhookSecretCharsMax: 256,
  /** Random base62 characters of a generated secret (about 190 bits), after `whsec_`. */
  webhookSecretCharsGenerated: 32,
  /** Characters of the secret a listing shows, so a person can tell secrets apart. */
  webhookSecretPrefixChars: 10,
  /** Deliveries one listing returns, by default and at most. */
  webhookDeliveriesDefault: 50,
  webhookDeliveriesMax: 500,
  /** How long delivered and given-up deliveries stay listed before they are forgotten. */
  webhookDeliveryRetentionMs: 7 * 86_400_000,
} as const;
