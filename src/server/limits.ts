/**
 * Bounds and defaults of the composed server, in one place; units last. The gateway's are
 * `gatewayLimits`, the API's `apiLimits`.
 *
 * @example
 * await app.listen({ port: options.port ?? serverLimits.portDefault });
 */
export const serverLimits = {
  portDefault: 8787,
  /** How often overdue reservations are expired. */
  sweepIntervalMs: 1_000,
  /** How long a stopping server lets calls in flight finish before it cuts them and settles what was generated. */
  drainMsDefault: 20_000,
} as const;
