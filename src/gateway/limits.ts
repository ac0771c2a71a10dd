import { limits as coreLimits } from '../core/index.js';

/**
 * Bounds the gateway enforces, in one place; units last. The ledger's own are core's `limits`,
 * the wire's (labels, bodies of the API routes) `contractLimits`.
 *
 * @example
 * if (size > gatewayLimits.upstreamBodyBytesMax) throw new Error('upstream response too large');
 */
export const gatewayLimits = {
  /**
   * Longest path parameter in a URL: the deepest budget path (16 names of 64 bytes, slashes
   * encoded as %2F), with room to spare. Longer ones are refused with 400.
   */
  pathParamCharsMax: 3 * coreLimits.pathDepthMax * (coreLimits.nameBytesMax + 1),
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
  /** How long an idle connection to a provider is kept open. */
  upstreamKeepAliveMs: 30_000,
  /** Longest model id a request may name. */
  modelIdCharsMax: 256,
  /** Most choices (`n`) one chat request may ask for. */
  choicesMax: 128,
  /** Most inputs one embeddings request may carry. */
  embeddingInputsMax: 4_096,
} as const;
