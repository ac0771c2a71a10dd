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
  /** A reservation outlives the upstream timeout by this much, so it never expires mid-call. */
  reservationTtlMarginMs: 60_000,
  /** Output tokens asked for when neither the request nor any policy sets a maximum. */
  maxOutputTokensDefault: 4_096,
  /** Largest max_tokens a request may ask for, whatever the model. */
  maxOutputTokensAbsolute: 1_000_000,
  headerBytesMax: 256,
  /** Connections per provider origin: enough for every stream the gateway holds at once. */
  upstreamConnectionsMax: 4_096,
  tokenCacheEntriesMax: 100_000,
  /**
   * Retry-After on a `too_many_inflight` refusal: a slot frees when one of the budget's calls
   * ends, which for most calls is within seconds, and clients (LangChain among them) retry a 429
   * only when told when.
   */
  inflightRetryAfterS: 1,
  /** Retry-After on a `burn_limit` refusal that does not know its cool-down. */
  burnLimitRetryAfterSDefault: 60,
} as const;
