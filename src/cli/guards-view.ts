import { formatUsd, groupThousands } from '../core/index.js';
import type { CheckName, CheckStatus, ForecastBudget, ForecastWindow, PreflightReport, ReservationRow } from '../contract/index.js';
import { table, usd } from './output.js';

/**
 * How `bursar preflight`, `bursar forecast` and `bursar usage --reservations` print their
 * reports for people (`--json` prints the reports themselves).
 */

/** Items listed one by one in a pre-flight's table; the rest are summed in one line. */
export const preflightItemsShownMax = 20;

const symbols: Record<CheckStatus, string> = { pass: '✓', warn: '⚠', fail: '✗' };

const checkLabels: Record<CheckName, string> = {
  queue_size: 'queue size',
  test_titles: 'test-like titles',
  budget_status: 'budgets and tokens',
  model_policy: 'models and caps',
  budget_availability: 'budget availability',
  inflight: 'in flight',
  burn_limits: 'burn limits',
  confirmation: 'confirmation',
};

function itemsTable(r: PreflightReport): string {
  const shown = r.items.slice(0, preflightItemsShownMax);
  const rows = shown.map((i) => [String(i.index), i.title ?? '-', i.token ?? i.budget, i.model, groupThousands(i.count), groupThousands(i.input_tokens), groupThousands(i.max_output_tokens), formatUsd(i.call_micros), formatUsd(i.total_micros)]);
  const rest = r.items.slice(preflightItemsShownMax);
  if (rest.length > 0) {
    const calls = rest.reduce((n, i) => n + i.count, 0);
    rows.push(['…', `${rest.length} more items (--json lists them)`, '', '', groupThousands(calls), '', '', '', formatUsd(rest.reduce((n, i) => n + i.total_micros, 0))]);
  }
  return table(
    [{ header: '#', align: 'right' }, { header: 'TITLE' }, { header: 'BUDGET OR TOKEN' }, { header: 'MODEL' }, { header: 'CALLS', align: 'right' }, { header: 'IN', align: 'right' }, { header: 'OUT CAP', align: 'right' }, { header: 'PER CALL', align: 'right' }, { header: 'TOTAL', align: 'right' }],
    rows,
  );
}

/** A line for each item whose calls would be sent to another model now (brownout or fallback). */
function routeLines(r: PreflightReport): string[] {
  const why = { brownout: 'a brownout tier of its chain is reached', fallback: 'its model\'s budgets cannot take a call; the fallback can' };
  const routed = r.items.filter((i) => i.route !== null).slice(0, preflightItemsShownMax);
  return routed.map((i) => `Item ${i.index} asks for ${i.requested_model ?? '?'}: its calls would go to ${i.model} now (${i.route === null ? '' : why[i.route]}).`);
}

function budgetsTable(r: PreflightReport): string {
  return table(
    [{ header: 'BUDGET' }, { header: 'LIMIT', align: 'right' }, { header: 'LEFT', align: 'right' }, { header: 'PLAN', align: 'right' }, { header: 'SHARE', align: 'right' }, { header: 'AT ONCE', align: 'right' }, { header: 'STATUS' }],
    r.budgets.map((b) => [
      b.budget,
      usd(b.limit_micros),
      usd(b.remaining_micros),
      formatUsd(b.planned_micros),
      b.limit_micros === null ? '-' : b.share_pct === null ? 'all' : `${b.share_pct}%`,
      b.inflight_max === null ? String(b.planned_concurrency) : `${b.planned_concurrency} of ${Math.max(0, b.inflight_max - b.inflight)}`,
      b.status,
    ]),
  );
}

/** The closing line: what to do next. */
function verdictLine(r: PreflightReport): string {
  const failed = r.checks.filter((c) => c.status === 'fail').length;
  if (failed > 0) return `✗ Not cleared: ${failed} check${failed === 1 ? '' : 's'} failed. Fix the plan or the budgets before running it.`;
  if (r.confirmation_required && !r.confirmed) return `⚠ Not cleared: the estimate (${formatUsd(r.total_micros)}) is above ${formatUsd(r.confirm_over_micros)}. Run again with --yes to confirm it.`;
  if (r.verdict === 'warn') return '⚠ Cleared, with warnings.';
  return '✓ Cleared.';
}

/**
 * A pre-flight report for people: items, the budgets on their paths, the checks, the verdict.
 *
 * @example
 * await context.print(preflightText(report));
 */
export function preflightText(r: PreflightReport): string {
  return [
    `Pre-flight${r.title === null ? '' : `: ${r.title}`}`,
    '',
    itemsTable(r),
    ...routeLines(r),
    '',
    `Estimated ${formatUsd(r.total_micros)} at most for ${groupThousands(r.calls)} call${r.calls === 1 ? '' : 's'}, ${groupThousands(r.concurrency)} at once (each call at its worst case: input plus its whole output cap).`,
    '',
    "Budgets on the plan's paths (LEFT: what each can still spend this period; AT ONCE: planned of the in-flight slots free):",
    budgetsTable(r),
    '',
    'Checks:',
    ...r.checks.map((c) => `  ${symbols[c.status]} ${checkLabels[c.name]}: ${c.message}`),
    '',
    verdictLine(r),
  ].join('\n');
}

/**
 * A span of time as people read it, to the minute: `45s`, `12m`, `5h 10m`, `3d 4h`.
 *
 * @example
 * spanText(3 * 3_600_000 + 5 * 60_000) // '3h 5m'
 */
export function spanText(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  if (ms < 60_000) return `${Math.max(1, Math.ceil(ms / 1_000))}s`;
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours}h` : `${hours}h ${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d ${hours % 24}h`;
}

function outlookText(w: ForecastWindow | undefined, nowMs: number): string {
  if (!w) return '-';
  switch (w.outlook) {
    case 'runs_out':
      return `in ${spanText(Math.max(0, Date.parse(w.runs_out_at ?? '') - nowMs))}`;
    case 'not_this_period':
      return 'not this period';
    case 'not_within_horizon':
      return 'not within a year';
    case 'no_burn':
      return 'no spend';
    case 'exhausted':
      return 'out now';
    case 'no_limit':
      return 'no limit';
  }
}

/** A rate to the cent from a cent an hour up (it is an average, not an amount), exact below. */
function rateText(w: ForecastWindow | undefined): string {
  if (!w) return '-';
  const micros = w.rate_micros_per_hour;
  const shown = micros >= 10_000 ? Math.round(micros / 10_000) * 10_000 : micros;
  return `${formatUsd(shown)}/h${w.complete ? '' : '*'}`;
}

/**
 * A forecast for people: per budget, what is left, the burn rate over the last 5 minutes, hour
 * and day, and when it runs out at each.
 *
 * @example
 * await context.print(forecastText(report.budgets, report.truncated, store.now()));
 */
export function forecastText(rows: readonly ForecastBudget[], o: { nowMs: number; truncated: boolean; completeSince: string | null }): string {
  if (rows.length === 0) return 'No budgets to forecast.';
  const at = (f: ForecastBudget, name: string) => f.windows.find((w) => w.window === name);
  const body = table(
    [{ header: 'BUDGET' }, { header: 'LEFT', align: 'right' }, { header: '5 MIN', align: 'right' }, { header: '1 H', align: 'right' }, { header: '24 H', align: 'right' }, { header: 'RUNS OUT AT 5 MIN RATE' }, { header: 'AT 1 H RATE' }, { header: 'AT 24 H RATE' }],
    rows.map((f) => [f.budget, usd(f.remaining_micros), rateText(at(f, '5m')), rateText(at(f, '1h')), rateText(at(f, '24h')), outlookText(at(f, '5m'), o.nowMs), outlookText(at(f, '1h'), o.nowMs), outlookText(at(f, '24h'), o.nowMs)]),
  );
  const note = 'Rates are net spend per hour (settlements, late charges and charged expiries, less refunds) on each budget and everything under it; LEFT counts reservations as spent.';
  const partial = o.truncated ? `\n* The ledger read stopped at its bound; figures are complete since ${o.completeSince ?? '?'} and rates marked * are over that part only.` : '';
  return `${body}\n${note}${partial}`;
}

function ratioText(value: number | null): string {
  return value === null ? '-' : value.toFixed(2);
}

/**
 * Reservation metrics for people: per group and model, what became of the reservations, the
 * reserve-to-settle ratio and the estimate accuracy.
 *
 * @example
 * await context.print(reservationsText(report.reservations.rows, 'budget'));
 */
export function reservationsText(rows: readonly ReservationRow[], groupBy: string): string {
  if (rows.length === 0) return 'No reservations in this range.';
  const body = table(
    [{ header: groupBy.toUpperCase() }, { header: 'MODEL' }, { header: 'RESERVED', align: 'right' }, { header: 'SETTLED', align: 'right' }, { header: 'VOIDED', align: 'right' }, { header: 'EXPIRED', align: 'right' }, { header: 'CHARGED', align: 'right' }, { header: 'RESERVE:SETTLE', align: 'right' }, { header: 'ACCURACY', align: 'right' }],
    rows.map((r) => [r.key ?? '-', r.model ?? '-', groupThousands(r.reservations), groupThousands(r.settled), groupThousands(r.voided), groupThousands(r.expired), groupThousands(r.charged), ratioText(r.reserve_to_settle), ratioText(r.estimate_accuracy)]),
  );
  return `${body}\nRESERVE:SETTLE is reservations per settlement (well above 1: retries or abandoned calls); ACCURACY is actual cost over what the settled calls reserved.`;
}
