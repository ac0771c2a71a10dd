/**
 * Bounds of Bursar's MCP doors, in one place; units last.
 *
 * @example
 * scope.addContentTypeParser('application/json', { bodyLimit: mcpLimits.bodyBytesMax }, parse);
 */
export const mcpLimits = {
  /** Largest JSON-RPC request body `/mcp` reads. */
  bodyBytesMax: 2 * 1024 * 1024,
  /** How long the proxy waits for the upstream server's answer to one tool call. */
  proxyCallTimeoutMsDefault: 60_000,
  proxyCallTimeoutMsMax: 3_600_000,
  /** A proxied call's reservation lasts its timeout plus this much more, so it outlives the wait it covers. */
  proxyReservationMarginMs: 30_000,
  /** Longest upstream command line. */
  upstreamCommandCharsMax: 8_192,
} as const;
