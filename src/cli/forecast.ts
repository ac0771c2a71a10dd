import type { Command } from 'commander';
import { findBudget } from './budget-ops.js';
import type { CliContext } from './context.js';
import { forecastText } from './guards-view.js';
import { parsePathArg } from './parse.js';

const help = `
For every budget (or those under --budget): what it has left this period (reservations count
as spent), its net spend per hour over the last 5 minutes, hour and day, and when it runs out at
each of those rates, or "not this period" when its period resets first. Spend tokens' envelopes
are listed when they spent in the last 24 hours. Soonest to run out first.

Examples:
  bursar forecast
  bursar forecast --budget acme/research --json`;

/**
 * Adds `bursar forecast`: burn rates and run-out times (the admin API's `GET /api/forecast`).
 *
 * @example
 * registerForecast(program, context);
 */
export function registerForecast(program: Command, context: CliContext): void {
  program
    .command('forecast')
    .description('burn rate per budget over 5 min / 1 h / 24 h, and when each runs out at that rate')
    .option('--budget <path>', 'only this budget and everything under it', parsePathArg('--budget'))
    .addHelpText('after', help)
    .action(async (flags: { budget?: string }) => {
      const backend = await context.backend('read');
      if (flags.budget !== undefined) await findBudget(backend, flags.budget);
      const report = await backend.forecast({ budget: flags.budget });
      await context.emit(
        () => report,
        () => forecastText(report.budgets, { nowMs: Date.parse(report.now), truncated: report.truncated, completeSince: report.complete_since }),
      );
    });
}
