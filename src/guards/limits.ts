import { contractLimits } from '../contract/limits.js';

/**
 * Bounds and defaults of the guards that read plans and the ledger (pre-flight, forecast,
 * reservation metrics), in one place; units last. What the wire states (plan sizes, the
 * confirmation threshold, scan bounds) is the contract's (`contractLimits`) and repeated here.
 *
 * @example
 * if (share > guardLimits.budgetSharePctWarnDefault) warn();
 */
export const guardLimits = {
  /** Titles a failed or warned check names before it says "and N more". */
  checkExamplesMax: 5,
  confirmOverMicrosDefault: contractLimits.preflightConfirmOverMicrosDefault,
  queueCallsWarnDefault: contractLimits.preflightQueueCallsWarnDefault,
  queueCallsMaxDefault: contractLimits.preflightQueueCallsMaxDefault,
  /** A plan that takes more than this share of what a budget has left is a warning. */
  budgetSharePctWarnDefault: 50,
  /**
   * Output tokens the gateway asks for when neither a request nor any policy sets a cap, and the
   * largest cap for a model that declares none: the gateway's own `gatewayLimits` values (a
   * test keeps them equal), so a plan is priced as the gateway would reserve it.
   */
  outputTokensDefault: 4_096,
  outputTokensAbsoluteMax: 1_000_000,
  /** A budget without a period is forecast this far ahead at most. */
  forecastHorizonMs: 366 * 24 * 3_600_000,
} as const;
