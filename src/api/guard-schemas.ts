import { z } from 'zod';
import { budgetKinds, periods, type BudgetStatus } from '../core/index.js';
import { checkNames, type ForecastBudget, type PreflightReport, type ReservationRow, type ReservationStats } from '../guards/index.js';
import type { ForecastReport } from '../ops/forecast.js';
import type { ReservationReport } from '../ops/reservation-report.js';

/**
 * The JSON the pre-flight, forecast and reservation-metrics reports are sent in. Typed against
 * the reports themselves, so a field added to one and not here does not compile.
 */

const checkStatus = z.enum(['pass', 'warn', 'fail']);
const budgetStatuses = ['active', 'paused', 'closed'] as const satisfies readonly BudgetStatus[];

const PreflightCheckJson = z.object({
  name: z.enum(checkNames),
  status: checkStatus.describe('pass ✓, warn ⚠, fail ✗'),
  message: z.string(),
  budget: z.string().optional().describe('the budget the check is about, when one'),
  items: z.array(z.int()).optional().describe('indexes of the plan items it is about'),
});

const PreflightItemJson = z.object({
  index: z.int(),
  title: z.string().nullable(),
  budget: z.string().describe('the budget the calls reserve on (a token\'s envelope for a token)'),
  token: z.string().nullable(),
  model: z.string().describe('the catalog id the model resolved to'),
  count: z.int(),
  input_tokens: z.int(),
  max_output_tokens: z.int(),
  call_micros: z.int().describe('what the gateway would reserve for one call: its worst case'),
  total_micros: z.int(),
  tightest: z.object({ budget: z.string(), remaining_micros: z.int() }).nullable().describe('the level of the item\'s chain with the least left now'),
});

const PreflightBudgetJson = z.object({
  budget: z.string(),
  kind: z.enum(budgetKinds),
  status: z.enum(budgetStatuses),
  limit_micros: z.int().nullable(),
  remaining_micros: z.int().nullable().describe('what the budget can still spend this period (limit + granted − spent − reserved)'),
  planned_micros: z.int().describe('the plan\'s total through this budget'),
  share_pct: z.int().nullable().describe('planned / remaining, whole percent rounded up'),
  calls: z.int(),
  inflight: z.int(),
  inflight_max: z.int().nullable(),
  planned_concurrency: z.int().describe('calls the plan would have open here at once'),
  period_end: z.string().nullable(),
});

/** `POST /api/preflight`'s answer. */
export const PreflightReportJson: z.ZodType<PreflightReport> = z.object({
  title: z.string().nullable(),
  calls: z.int(),
  concurrency: z.int(),
  total_micros: z.int().describe('the plan\'s worst case: every call at its reservation'),
  items: z.array(PreflightItemJson),
  budgets: z.array(PreflightBudgetJson).describe('every budget on the items\' paths, by path'),
  checks: z.array(PreflightCheckJson),
  verdict: checkStatus.describe('the worst check'),
  confirm_over_micros: z.int(),
  confirmation_required: z.boolean().describe('the total is above confirm_over_micros'),
  confirmed: z.boolean(),
  proceed: z.boolean().describe('no check failed, and a total above the threshold was confirmed'),
});

const ForecastWindowJson = z.object({
  window: z.enum(['5m', '1h', '24h']),
  spent_micros: z.int().describe('net spend in the window on this budget and everything under it'),
  rate_micros_per_hour: z.int(),
  complete: z.boolean().describe('false: the ledger read stopped inside the window, and the rate is over the part read'),
  outlook: z.enum(['runs_out', 'not_this_period', 'not_within_horizon', 'no_burn', 'exhausted', 'no_limit']),
  runs_out_at: z.string().nullable().describe('when it runs out at this rate (outlook runs_out)'),
});

const ForecastBudgetJson: z.ZodType<ForecastBudget> = z.object({
  budget: z.string(),
  kind: z.enum(budgetKinds),
  status: z.enum(budgetStatuses),
  period: z.enum(periods),
  period_end: z.string().nullable(),
  limit_micros: z.int().nullable(),
  spent_micros: z.int(),
  reserved_micros: z.int(),
  remaining_micros: z.int().nullable(),
  windows: z.array(ForecastWindowJson),
});

/** `GET /api/forecast`'s answer. */
export const ForecastReportJson: z.ZodType<ForecastReport> = z.object({
  now: z.string(),
  windows: z.array(z.object({ window: z.string(), ms: z.int() })),
  budgets: z.array(ForecastBudgetJson).describe('soonest to run out first'),
  budgets_omitted: z.int(),
  scanned_entries: z.int(),
  scan_limit: z.int(),
  truncated: z.boolean(),
  complete_since: z.string().nullable(),
});

const reservationStatsShape = {
  reservations: z.int().describe('reservations made in the range'),
  reserved_micros: z.int(),
  settled: z.int().describe('reservations whose actual cost arrived (on time or after their TTL)'),
  voided: z.int(),
  expired: z.int().describe('released at their TTL'),
  charged: z.int().describe('charged at their TTL: no settlement came in time'),
  settled_reserved_micros: z.int(),
  settled_actual_micros: z.int(),
  reserve_to_settle: z.number().nullable().describe('reservations per settlement; well above 1 means retries or abandoned calls'),
  estimate_accuracy: z.number().nullable().describe('actual cost over what the settled reservations held'),
};

const ReservationStatsJson: z.ZodType<ReservationStats> = z.object(reservationStatsShape);
const ReservationRowJson: z.ZodType<ReservationRow> = z.object({ key: z.string().nullable(), model: z.string().nullable(), ...reservationStatsShape });

/** The `reservations` part of `GET /api/usage?metrics=reservations`. */
export const ReservationReportJson: z.ZodType<ReservationReport> = z.object({
  rows: z.array(ReservationRowJson).describe('per group and model, most reservations first'),
  other: ReservationStatsJson.nullable(),
  totals: ReservationStatsJson,
  scanned_entries: z.int(),
  scan_limit: z.int(),
  truncated: z.boolean(),
  complete_since: z.string().nullable(),
});
