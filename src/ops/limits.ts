/**
 * Bounds of the operations layer. Units come last in each name.
 *
 * @example
 * new RefusalRecorder({ store, now, limits: { ...opsLimits, refusalRowsMax: 100 } });
 */
export const opsLimits = {
  /** Values of a request a fingerprint reads at most (texts, numbers, list and object headers). */
  fingerprintNodesMax: 4_096,
  /** Items of one list a fingerprint reads: the first and last halves of this, and the length. */
  fingerprintItemsMax: 64,
  /** Characters of one text a fingerprint normalises; a longer one gives its first and last halves, and its length. */
  fingerprintTextCharsMax: 8 * 1024,
  /** Characters of text a fingerprint hashes in all; texts after that count by their length. */
  fingerprintCharsHashedMax: 64 * 1024,
  /** Characters of a fingerprint: 96 bits of SHA-256, in base64url. */
  fingerprintChars: 16,
  /** Refusals with the same code, budget and agent within this long of the first are one row. */
  refusalRunMs: 60_000,
  /** Refusals are written, logged and sent to event streams at most this often. */
  refusalFlushMs: 1_000,
  /** Rows the refusals table keeps; the oldest go first. */
  refusalRowsMax: 10_000,
  /** Rows whose last refusal is older than this are deleted. */
  refusalAgeMsMax: 30 * 24 * 60 * 60_000,
  /** Runs of refusals held in memory; past this the oldest are written as they are and forgotten, or dropped when the store is down. */
  refusalRunsMax: 1_000,
  /** Rows written in one flush; the rest wait for the next. */
  refusalRowsPerFlushMax: 200,
  /** Log lines per flush, one per run; one more line sums up the runs past it. */
  refusalLogLinesPerFlushMax: 20,
  /** Characters of a refusal's message that are kept. */
  refusalMessageCharsMax: 1_000,
  /** Characters of a token id kept with a refusal (`tok_` and 8). */
  refusalTokenIdChars: 12,
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

export type OpsLimits = { readonly [K in keyof typeof opsLimits]: number };
