/**
 * Bounds of the operations layer, in one place; units last. Most of what the operations check is
 * the ledger's (`limits`) or the wire contract's (`contractLimits`); these bound the webhook
 * deliverer, the one operation that runs on its own.
 *
 * @example
 * const delayMs = retryDelayMs(attempts); // at most opsLimits.webhookRetryMsMax
 */
export const opsLimits = {
  /** One delivery attempt waits this long for the receiver's answer. */
  webhookTimeoutMs: 10_000,
  /** A claimed delivery stays with its claimant this long: well over an attempt, so a live one never loses it. */
  webhookLeaseMs: 60_000,
  /** Wait before the first retry; each further retry waits twice as long, up to the next bound. */
  webhookRetryMsFirst: 1_000,
  webhookRetryMsMax: 60 * 60_000,
  /** A delivery is given up after this many attempts (about 9 hours of retries)… */
  webhookAttemptsMax: 20,
  /** …or once it is this old, whichever comes first. */
  webhookAgeMsMax: 3 * 86_400_000,
  /** Deliveries claimed (and sent at once) per batch, and batches per pass. */
  webhookBatchMax: 32,
  webhookBatchesPerPassMax: 16,
  /** How often the deliverer looks for due deliveries (retries, events other processes queued). */
  webhookPollMsDefault: 1_000,
  /** How often finished deliveries past their retention are forgotten. */
  webhookPruneEveryMs: 10 * 60_000,
} as const;
