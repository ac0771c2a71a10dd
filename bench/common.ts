/** Small helpers the benchmarks share: reading their numeric flags, and percentiles. */

/**
 * A flag's value as a positive number; a person's typo ends the run with exit code 2.
 *
 * @example
 * const seconds = positive('seconds', values.seconds);
 */
export function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number (got ${text})`);
    process.exit(2);
  }
  return n;
}

/**
 * The p-th percentile of numbers sorted in ascending order.
 *
 * @example
 * percentile([1, 2, 3, 4], 50) // 3
 */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
