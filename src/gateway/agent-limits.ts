import { limits as coreLimits } from '../core/index.js';

/**
 * Bounds of the agent routes (`/v1/bursar/tokens`, `/v1/bursar/reservations`, `/v1/bursar/tools`),
 * in one place; units last. The proxy's own bounds are in limits.ts, the ledger's in
 * src/core/limits.ts.
 *
 * @example
 * app.post('/v1/bursar/reservations', { bodyLimit: agentLimits.bodyBytesMax }, handler);
 */
export const agentLimits = {
  /** Largest request body: a token or a reservation is small; `params` is bounded below. */
  bodyBytesMax: 64 * 1024,
  /** Largest `params` object of a tool reservation, serialised. */
  paramsBytesMax: 16 * 1024,
  /** Longest Idempotency-Key; the store's key is this prefixed with the caller's token id. */
  idempotencyKeyBytesMax: 200,
  /** Longest lifetime a child token may ask for (it is also capped by its parent's expiry). */
  tokenLifetimeSMax: 10 * 366 * 86_400,
  /** Reservation TTL bounds, in seconds: the ledger's own bounds. */
  reservationTtlSMin: Math.ceil(coreLimits.reservationTtlMsMin / 1_000),
  reservationTtlSMax: Math.floor(coreLimits.reservationTtlMsMax / 1_000),
  reservationTtlSDefault: Math.floor(coreLimits.reservationTtlMsDefault / 1_000),
} as const;
