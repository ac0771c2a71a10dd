import { readFileSync, statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { contractLimits, type PreflightReport, type PreflightRequest } from '../contract/index.js';
import { formatUsd } from '../core/index.js';
import { parsePlan } from '../guards/index.js';
import { loadPricing, type PriceCatalog } from '../pricing/index.js';
import { reportFailure, type CliContext } from './context.js';
import { CliError, usageError } from './errors.js';
import { preflightText } from './guards-view.js';
import { parseCountArg, parseUsdArg } from './parse.js';

/**
 * `bursar preflight --plan plan.json [--yes]`: a plan priced against the budgets it would spend
 * from before anything runs (the admin API's `POST /api/preflight`). Exits 1 when a check fails,
 * or when the estimate is above the confirmation threshold and `--yes` was not given.
 */

interface Flags {
  plan: string;
  yes?: boolean;
  confirmOver?: number;
  queueWarn?: number;
  queueMax?: number;
  pricing?: string;
}

const help = `
A plan is a JSON object (or just its list of items):
  { "title": "nightly backlog", "concurrency": 4,
    "items": [ { "title": "Summarise filings", "budget": "acme/research/bot", "model": "gpt-4o-mini",
                 "input_tokens": 12000, "max_output_tokens": 1000, "count": 60 },
               { "token": "tok_…", "model": "claude-sonnet-4-5", "input": "the prompt text", "count": 3 } ] }
Each item: budget (a path) or token (a token id); model; input_tokens or input (text, counted
with the model's tokenizer); max_output_tokens (default: policy, else 4,096); count (default 1);
title; tags (what x-bursar-tags would carry). Each call is priced at what the gateway would
reserve for it: its worst case, on its chain and on the model, tag and provider budgets it
reaches; an item whose calls a brownout tier or a fallback would send to another model now is
priced at that model and says so.

Checks: queue size, test-like titles, budget and token status, models and per-request caps,
budget availability (every level of every path), in-flight caps against the concurrency, burn
limits, and the confirmation threshold. Exit codes: 0 cleared, 1 a check failed or confirmation is needed,
2 the plan is invalid.

Examples:
  bursar preflight --plan plan.json
  bursar preflight --plan plan.json --yes --json`;

function readPlanFile(file: string): unknown {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > contractLimits.planBodyBytesMax) throw usageError('invalid_plan', `--plan: ${file} is ${size} bytes; a plan file is at most ${contractLimits.planBodyBytesMax}`, '--plan');
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw usageError('invalid_plan', `--plan: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, '--plan');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError('invalid_plan', `--plan: ${file} is not valid JSON (${(error as Error).message})`, '--plan');
  }
}

function catalogFrom(path: string | undefined): PriceCatalog | undefined {
  if (path === undefined) return undefined;
  const loaded = loadPricing({ overridePath: path });
  if (!loaded.ok) throw new CliError({ code: loaded.code, message: loaded.message, ...(loaded.field ? { field: loaded.field } : {}) }, 2);
  return loaded.catalog;
}

/** The request for the plan in `flags.plan`, with the thresholds the flags set. */
function requestOf(flags: Flags): PreflightRequest {
  const plan = parsePlan(readPlanFile(flags.plan));
  if ('field' in plan) throw usageError('invalid_plan', `${flags.plan}: ${plan.message}`, plan.field);
  return { ...plan, confirm_over_micros: flags.confirmOver, queue_calls_warn: flags.queueWarn, queue_calls_max: flags.queueMax, confirmed: flags.yes === true };
}

async function verdict(context: CliContext, report: PreflightReport): Promise<void> {
  if (report.proceed) return;
  context.setExitCode(1);
  if (context.options().json) return;
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  if (failed > 0) await reportFailure(context, { code: 'preflight_failed', message: `${failed} check(s) failed; the plan is not cleared` });
  else await reportFailure(context, { code: 'confirmation_required', message: `the estimate ${formatUsd(report.total_micros)} is above ${formatUsd(report.confirm_over_micros)}; run again with --yes to confirm` });
}

async function preflight(context: CliContext, flags: Flags, command: Command): Promise<void> {
  const remote = context.options().url !== undefined;
  if (remote && command.getOptionValueSource('pricing') === 'cli') {
    throw usageError('usage', '--pricing prices a plan on a local ledger; a server (--url) prices with its own catalog', '--pricing');
  }
  const request = requestOf(flags);
  const catalog = remote ? undefined : catalogFrom(flags.pricing);
  const backend = await context.backend('read');
  const report = await backend.preflight(request, catalog);
  if ('ok' in report) {
    const { ok: _ok, ...failure } = report;
    throw new CliError(failure, report.code === 'bad_request' ? 2 : 1);
  }
  await context.emit(
    () => report,
    () => preflightText(report),
  );
  await verdict(context, report);
}

/**
 * Adds `bursar preflight`.
 *
 * @example
 * registerPreflight(program, context);
 */
export function registerPreflight(program: Command, context: CliContext): void {
  program
    .command('preflight')
    .description('price a plan against its budgets before running it: ✓ / ⚠ / ✗ checks, exit 1 unless cleared')
    .requiredOption('--plan <file>', 'the plan, a JSON file')
    .option('--yes', 'confirm an estimate above the confirmation threshold')
    .addOption(new Option('--confirm-over <usd>', `an estimate above this needs --yes (default ${formatUsd(contractLimits.preflightConfirmOverMicrosDefault)})`).env('BURSAR_PREFLIGHT_CONFIRM_OVER').argParser(parseUsdArg('--confirm-over')))
    .option('--queue-warn <calls>', `warn above this many calls (default ${contractLimits.preflightQueueCallsWarnDefault})`, parseCountArg('--queue-warn', contractLimits.planCallsMax, 'invalid_limit'))
    .option('--queue-max <calls>', `fail above this many calls (default ${contractLimits.preflightQueueCallsMaxDefault})`, parseCountArg('--queue-max', contractLimits.planCallsMax, 'invalid_limit'))
    .addOption(new Option('--pricing <file>', 'price override file merged over the bundled catalog (local ledger only)').env('BURSAR_PRICING'))
    .addHelpText('after', help)
    .action((flags: Flags, command: Command) => preflight(context, flags, command));
}
