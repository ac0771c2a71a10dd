/**
 * Every bound Bursar enforces, in one place. Units come last in each name.
 *
 * @example
 * if (body.length > limits.bodyBytesMax) refuse('payload_too_large');
 */
export const limits = {
  /** Largest amount any single operation may carry: one billion USD. */
  amountMicrosMax: 1_000_000_000_000_000,
  /** Budget names: letters, digits, `.`, `_`, `-`; at most this many bytes. */
  nameBytesMax: 64,
  /** Deepest budget path (org/team/agent/envelope/... levels). */
  pathDepthMax: 16,
  reservationTtlMsDefault: 10 * 60_000,
  reservationTtlMsMin: 1_000,
  reservationTtlMsMax: 24 * 60 * 60_000,
  idempotencyKeyBytesMax: 255,
  labelBytesMax: 256,
  reasonBytesMax: 1_024,
  modelsPerPolicyMax: 256,
  alertThresholdsMax: 16,
  /** Highest alert threshold, in percent of a budget's limit. */
  alertThresholdPctMax: 1_000,
  /** Burn limits one budget's policy may set. */
  burnLimitsPerPolicyMax: 8,
  burnWindowMsMin: 1_000,
  burnWindowMsMax: 7 * 24 * 60 * 60_000,
  /** A burn window is counted in this many slices: the rolling sum moves a slice at a time. */
  burnSlicesPerWindow: 60,
  /** Default burn limit of a new agent budget: 2 USD in any minute. */
  burnLimitAgentDefault: { amountMicros: 2_000_000, windowMs: 60_000 },
  /** How long a tripped breaker stays open the first time; each re-trip doubles it. */
  breakerCooldownMsDefault: 60_000,
  breakerCooldownMsMax: 30 * 60_000,
  /** What a refusal says to wait while a half-open breaker's one probe is out. */
  breakerProbeRetryAfterMs: 1_000,
  /** Tags one call may carry (`x-bursar-tags`), and tags one policy may require. */
  tagsPerCallMax: 16,
  requiredTagsMax: 16,
  /** Brownout tiers and fallback rules one budget's policy may set, and models one fallback rule may list. */
  brownoutTiersMax: 16,
  fallbackRulesMax: 16,
  fallbackModelsMax: 4,
  /** Models one call may be routed through (brownout hops, then fallbacks) before it is refused. */
  routeHopsMax: 8,
  /** Most repeats of one request a loop limit may allow in its window. */
  loopRepeatsMax: 100_000,
  loopWindowMsMin: 1_000,
  loopWindowMsMax: 7 * 24 * 60 * 60_000,
  /** Default loop limit of a new agent budget: one request more than 20 times in 10 minutes is a loop. */
  loopLimitAgentDefault: { repeats: 20, windowMs: 10 * 60_000 },
  /**
   * Request fingerprints a budget with a loop limit keeps, the least recently seen evicted first:
   * a loop that cycles through more distinct requests than this between two repeats goes unseen.
   */
  loopFingerprintsPerBudgetMax: 32,
  /** Longest request fingerprint a reservation may carry (the gateway's are 16 characters). */
  fingerprintCharsMax: 64,
  /** Default number of reservations an agent budget may hold open at once. */
  inflightMaxAgentDefault: 4,
  inflightMax: 100_000,
  /** Operations applied in one store transaction (group commit). */
  batchOpsMax: 2_048,
  /**
   * Operations waiting for the group commit. Past this, new work (a reservation, a budget or
   * token change) is refused with `store_unavailable`; settlements, voids and revocations, which
   * resolve or stop what already exists, are always queued.
   */
  commitQueueOpsMax: 16_384,
  /** Overdue reservations expired per batch. */
  expirePerBatchMax: 256,
  ledgerPageMax: 1_000,
  ledgerPageDefault: 100,
  tokensPerRequestMax: 100_000_000,
} as const;
