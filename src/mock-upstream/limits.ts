/**
 * Bounds the mock upstream enforces, in one place. Units come last in each name.
 *
 * @example
 * if (bytes > limits.bodyBytesMax) answer(413);
 */
export const limits = {
  /** Largest request body read; larger ones get 413 in the provider's shape. */
  bodyBytesMax: 8 * 1024 * 1024,
  /** Longest latency or chunk delay a request may ask for. */
  delayMsMax: 10 * 60_000,
  /** Most content chunks a stream may be split into. */
  chunksMax: 10_000,
  /** Most output tokens one call may generate (per choice). */
  outputTokensMax: 1_000_000,
  /** Largest cached or cache-write count a control may set. */
  tokensMax: 100_000_000,
  /** Most completions (OpenAI `n`) one chat call may ask for. */
  choicesMax: 128,
  /** Most inputs one embeddings call may send (OpenAI's own limit). */
  embeddingInputsMax: 2_048,
  /** Largest embedding vector returned. */
  embeddingDimensionsMax: 4_096,
  /** Embedding size when the request does not set `dimensions` (kept small on purpose). */
  embeddingDimensionsDefault: 8,
  /** Request log entries kept; the oldest are dropped past this. */
  requestLogMaxDefault: 1_000,
  requestLogMax: 1_000_000,
  /** Output tokens generated when neither the server nor the request sets a number. */
  outputTokensDefault: 16,
  /** Content chunks per stream by default. */
  chunksDefault: 4,
  /** Delay between chunks under the `slow-stream` fault, unless a larger one is configured. */
  slowStreamDelayMsDefault: 200,
  /** Seconds a 429 fault asks the client to wait (the `retry-after` header). */
  retryAfterS: 1,
  /** Output tokens the `huge-usage` fault reports. */
  hugeUsageOutputTokens: 200_000_000,
  /** Output tokens the `over-usage` fault reports beyond twice the request's cap. */
  overUsageExtraTokens: 100,
  /** Size of the one content chunk the `huge-chunk` fault sends. */
  hugeChunkBytes: 20 * 1024 * 1024,
} as const;
