/**
 * Bounds of the agent routes (`/v1/bursar/tokens`, `/v1/bursar/reservations`, `/v1/bursar/tools`)
 * besides what their schemas check (`contractLimits`); units last.
 *
 * @example
 * app.post('/v1/bursar/reservations', { bodyLimit: agentLimits.bodyBytesMax }, handler);
 */
export const agentLimits = {
  /** Largest request body: a token or a reservation is small; `params` is bounded by its schema. */
  bodyBytesMax: 64 * 1024,
} as const;
