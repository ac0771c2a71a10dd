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
  /**
   * A request's line and headers must arrive within this, or it is answered 408 and its
   * connection closed: a client trickling headers byte by byte holds a socket this long at most.
   */
  headersTimeoutMs: 10_000,
  /** The whole request, body included, must arrive within this (4 MiB at 70 KB/s); answers and streams are not bounded by it. */
  requestTimeoutMs: 60_000,
  /** How often connections past those timeouts are looked for (Node's default is 30 s). */
  connectionsCheckingIntervalMs: 1_000,
  /** An idle keep-alive connection is closed after this: above the 60 s load balancers keep theirs. */
  keepAliveTimeoutMs: 72_000,
  /** Largest request head (request line and headers), Node's default. */
  headerBytesMax: 16 * 1024,
  /**
   * Failed authentications (a 401 to a request presenting an admin key or spend token) one
   * source address (an IPv6 /64) may make in a window; past that, every request presenting a
   * credential from it is refused with 429 `too_many_auth_failures` until the window ends.
   */
  authFailuresMax: 20,
  authFailureWindowMs: 60_000,
  /** Source addresses whose failures are remembered at once; the oldest are forgotten first. */
  authFailureAddressesMax: 10_000,
} as const;
