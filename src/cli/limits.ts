/**
 * Bounds the CLI keeps, in one place; units last.
 *
 * @example
 * parseCountArg('--limit', cliLimits.historyLimitMax, 'invalid_limit');
 */
export const cliLimits = {
  historyLimitDefault: 50,
  historyLimitMax: 10_000,
  /** Widest task or session label in a table cell; longer ones are clipped with an ellipsis. */
  labelCellCharsMax: 24,
  /** Widest ledger reason in a table cell. */
  reasonCellCharsMax: 48,
  /** Widest refusal message in a table cell. */
  messageCellCharsMax: 96,
  /** Longest relative time (`--since 3650d`). */
  relativeMsMax: 10 * 366 * 24 * 3_600_000,
  /** Longest wait for one answer from a server (`--url`); an audit of a big ledger takes a while. */
  remoteRequestMsMax: 300_000,
  /** Largest answer read from a server. */
  remoteBodyBytesMax: 64 * 1024 * 1024,
} as const;
