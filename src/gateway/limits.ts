/**
 * Bounds the gateway enforces, in one place (the ledger's own are in src/core/limits.ts).
 */
export const limits = {
  /** Largest request body accepted. */
  bodyBytesMax: 4 * 1024 * 1024,
  /** Largest single SSE event buffered while relaying a stream. */
  sseEventBytesMax: 1024 * 1024,
  /** Output text kept per stream to price it when the provider reports no usage. */
  streamTextBytesMax: 4 * 1024 * 1024,
  /** Largest upstream (non-streaming) response read. */
  upstreamBodyBytesMax: 32 * 1024 * 1024,
  upstreamTimeoutMsDefault: 120_000,
  /**
   * A reservation outlives the upstream timeout by as much again (within these bounds), so it
   * never expires mid-call, yet a crash's holds are charged soon after the calls could have ended.
   */
  reservationTtlMarginMsMin: 1_000,
  reservationTtlMarginMsMax: 60_000,
  /** Output tokens asked for when neither the request nor any policy sets a maximum. */
  maxOutputTokensDefault: 4_096,
  /** Largest max_tokens a request may ask for, whatever the model. */
  maxOutputTokensAbsolute: 1_000_000,
  headerBytesMax: 256,
  /** Connections per provider origin: enough for every stream the gateway holds at once. */
  upstreamConnectionsMax: 4_096,
  tokenCacheEntriesMax: 100_000,
  /** Settlements and voids kept for retry while the store is down. */
  deferredResolutionsMax: 100_000,
  /** First wait before retrying a deferred settlement; each retry doubles it. */
  deferredRetryMsFirst: 200,
  deferredRetryMsMax: 30_000,
  /** How long a deferred settlement is retried before it is dropped (its hold stays charged). */
  deferredResolutionMsMax: 24 * 3_600_000,
  /** How long a stopping server lets calls in flight finish before it cuts them and settles what was generated. */
  drainMsDefault: 20_000,
  /**
   * Retry-After on a `too_many_inflight` refusal: a slot frees when one of the budget's calls
   * ends, which for most calls is within seconds, and clients (LangChain among them) retry a 429
   * only when told when.
   */
  inflightRetryAfterS: 1,
  /** Retry-After on a `burn_limit` refusal that does not know its cool-down. */
  burnLimitRetryAfterSDefault: 60,
} as const;
