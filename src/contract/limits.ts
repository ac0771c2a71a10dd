/**
 * Bounds the wire schemas enforce, in one place; units last. The ledger's own bounds (amounts,
 * names, TTLs, page size) are core's `limits`, which the schemas use directly.
 *
 * @example
 * z.record(z.string(), z.unknown()).refine((p) => Buffer.byteLength(JSON.stringify(p)) <= contractLimits.toolParamsBytesMax);
 */
export const contractLimits = {
  /** Largest `params` object of a tool reservation, serialised. */
  toolParamsBytesMax: 16 * 1024,
  /** Longest Idempotency-Key an agent sends; the store's key is this prefixed with the caller's token id. */
  agentIdempotencyKeyBytesMax: 200,
  /** Longest lifetime a minted or delegated token may ask for (a child is also capped by its parent's expiry). */
  tokenLifetimeMsMax: 10 * 366 * 86_400_000,
  /** Shortest lifetime a minted token may ask for. */
  tokenLifetimeMsMin: 1_000,
  sessionsListDefault: 30,
  sessionsListMax: 500,
} as const;
