/**
 * Bounds and defaults of the guards that read plans and the ledger (pre-flight, forecast,
 * reservation metrics), in one place. Units come last in each name.
 *
 * @example
 * if (plan.items.length > guardLimits.planItemsMax) refuse();
 */
export const guardLimits = {
  /** Items one plan may list. */
  planItemsMax: 1_000,
  /** Calls one plan may add up to (items times their counts). Keeps every total a safe integer. */
  planCallsMax: 1_000_000,
  /** Bytes of input text one plan may carry, over all its items (each is tokenized once). */
  planInputBytesMax: 1024 * 1024,
  /** Largest plan request body the admin API reads. */
  planBodyBytesMax: 2 * 1024 * 1024,
  /** Longest item or plan title. */
  planTitleBytesMax: 256,
  /** Calls a plan may plan to run at once. */
  planConcurrencyMax: 100_000,
  /** Titles a failed or warned check names before it says "and N more". */
  checkExamplesMax: 5,

  /** A plan's estimated total above this needs a confirmation (`--yes`): 10 USD. */
  confirmOverMicrosDefault: 10_000_000,
  /** More calls than this in one plan is a warning… */
  queueCallsWarnDefault: 100,
  /** …and more than this a failure. */
  queueCallsMaxDefault: 1_000,
  /** A plan that takes more than this share of what a budget has left is a warning. */
  budgetSharePctWarnDefault: 50,

  /** Ledger entries one forecast reads, newest first; past this it says from when it is complete. */
  forecastScanEntriesMax: 200_000,
  /** Budgets one forecast lists. */
  forecastBudgetsMax: 10_000,
  /** Ledger entries one reservation-metrics report reads, newest first. */
  reservationScanEntriesMax: 200_000,
  /** Rows one reservation-metrics report keeps; the rest are summed in `other`. */
  reservationRowsMax: 10_000,
} as const;

/** The windows a forecast measures the burn rate over, shortest first. */
export const burnWindows = [
  { name: '5m', ms: 5 * 60_000 },
  { name: '1h', ms: 3_600_000 },
  { name: '24h', ms: 24 * 3_600_000 },
] as const;

export type BurnWindowName = (typeof burnWindows)[number]['name'];
