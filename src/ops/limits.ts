/**
 * Bounds of the operations layer. Units come last in each name.
 *
 * @example
 * new RefusalRecorder({ store, now, limits: { ...opsLimits, refusalRowsMax: 100 } });
 */
export const opsLimits = {
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
} as const;

export type OpsLimits = { readonly [K in keyof typeof opsLimits]: number };
