/**
 * Bounds of the operations, in one place; units last. The ledger's own bounds (page size,
 * amounts) are core's `limits`.
 *
 * @example
 * if (scanned >= opsLimits.usageScanEntriesMax) truncated = true;
 */
export const opsLimits = {
  /**
   * Settlement entries one usage report reads (newest first). Past this the report says
   * `truncated` and from when it is complete, so a caller narrows `since`/`until`.
   */
  usageScanEntriesMax: 200_000,
  /** Ledger entries read (newest first) to find the most recent sessions. */
  sessionScanEntriesMax: 200_000,
  /** Entries of one session read to total it in the session list. */
  sessionEntriesMax: 50_000,
  /** Groups one usage report returns (sessions or budgets can be many); the rest are summed as `other`. */
  usageGroupsMax: 10_000,
} as const;
