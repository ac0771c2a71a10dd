/**
 * Bounds the SDK keeps, in one place; units last.
 *
 * @example
 * fetch(url, { signal: AbortSignal.timeout(sdkLimits.requestMsMax) });
 */
export const sdkLimits = {
  /** Longest wait for one answer from the server (remote mode). */
  requestMsMax: 30_000,
  /** Largest answer read from the server. */
  responseBytesMax: 1024 * 1024,
  /**
   * Tries of one request when the server cannot be reached (remote mode). Writes carry an
   * idempotency key, so a retry never reserves or settles twice.
   */
  attemptsMax: 3,
  /** Wait before the first retry; doubled for each further one. */
  retryDelayMs: 100,
  /** Random characters in an idempotency key the SDK makes. */
  idempotencyKeyChars: 22,
} as const;
