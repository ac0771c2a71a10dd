import type { Command } from 'commander';
import type { BudgetView, Period } from '../core/index.js';
import { scopedBudgets } from '../ops/index.js';
import type { ScopedLimit } from './backend.js';
import { emitBudget } from './budget-ops.js';
import type { CliContext } from './context.js';
import { unwrap, usageError } from './errors.js';
import { budgetJson, table, usageBar, usd } from './output.js';
import { parseLimitArg, parsePathArg, parsePeriodArg, parseTagArg, parseTimezoneArg } from './parse.js';

/**
 * Budgets that cut across the tree: `bursar budgets limit-model`, `bursar tags limit|list` and
 * `bursar providers limit|list`. Each limit is an ordinary budget (shown by `budgets show` and
 * `budgets tree`, paused, granted and closed like any) that a call reserves on besides its chain.
 */

interface LimitFlags {
  period?: Period;
  timezone?: string;
  reason?: string;
}

const modelGlobPattern = /^(?:[A-Za-z0-9][A-Za-z0-9._:@-]{0,56}\*?|\*)$/;
const providerNamePattern = /^[a-z0-9][a-z0-9._-]{0,31}$/;

function parseModelGlobArg(text: string): string {
  if (modelGlobPattern.test(text)) return text;
  throw usageError('invalid_name', `${JSON.stringify(text)} is not a model id or a prefix ending in *, like gpt-4o or gpt-4o* (quote the * in a shell)`, 'model');
}

function parseProviderArg(text: string): string {
  if (providerNamePattern.test(text)) return text;
  throw usageError('invalid_name', `${JSON.stringify(text)} is not a provider name; use one the price catalog has, like openai or anthropic`, 'provider');
}

/** `--period`, `--timezone` and `--reason` on a limit command, and its action. */
function limitCommand(cmd: Command, run: (flags: LimitFlags, ...args: unknown[]) => Promise<void>): void {
  cmd
    .option('--period <period>', 'period the limit resets on: none, hour, day, week, month (new: month with a limit; a change keeps it unless given)', parsePeriodArg)
    .option('--timezone <zone>', 'IANA time zone the period follows (default UTC)', parseTimezoneArg)
    .option('--reason <text>', 'why, recorded in the ledger')
    .action((...args: unknown[]) => run(args[args.length - 2] as LimitFlags, ...args));
}

async function setLimit(context: CliContext, limit: ScopedLimit, reaches: string): Promise<void> {
  const backend = await context.backend('write');
  const { budget, created } = unwrap(await backend.setScopedLimit(limit));
  await emitBudget(context, created ? 'Created' : 'Updated', budget, { lines: [`  ${reaches} also reserves here`], json: { created } });
}

/**
 * Adds `bursar budgets limit-model <path> <model-glob> <usd>`.
 *
 * @example
 * registerModelLimit(budgets, context);
 */
export function registerModelLimit(budgets: Command, context: CliContext): void {
  const cmd = budgets
    .command('limit-model')
    .description('limit what calls under a budget spend on one model, or on models sharing a prefix (a model budget <path>/model:<glob>)')
    .argument('<path>', 'the budget whose calls it limits, e.g. acme/research', parsePathArg('path'))
    .argument('<model-glob>', 'a model id, or a prefix ending in *, like gpt-4o*', parseModelGlobArg)
    .argument('<usd>', 'limit per period in USD, or none to only count', parseLimitArg)
    .addHelpText('after', '\nExample:\n  bursar budgets limit-model acme/research \'gpt-4o*\' 20.00 --period day');
  limitCommand(cmd, (flags, path, model, usdLimit) =>
    setLimit(context, { kind: 'model', under: path as string, model: model as string, limitMicros: usdLimit as number | null, ...flags }, `every call under ${String(path)} for ${String(model)}`),
  );
}

function listTable(label: string, budgets: readonly BudgetView[]): string {
  return table(
    [{ header: label }, { header: 'SPENT', align: 'right' }, { header: 'RESERVED', align: 'right' }, { header: 'LIMIT', align: 'right' }, { header: 'USED' }, { header: 'STATUS' }],
    budgets.map((b) => [b.name, usd(b.spentMicros), usd(b.reservedMicros), b.limitMicros === null ? '-' : `${usd(b.limitMicros)}${b.period === 'none' ? '' : `/${b.period}`}`, usageBar(b) || '(no limit)', b.status]),
  );
}

async function listScoped(context: CliContext, kind: 'tag' | 'provider'): Promise<void> {
  const budgets = await scopedBudgets(await context.backend('read'), kind);
  const example = kind === 'tag' ? 'bursar tags limit product:chat-bot 10.00 --period day' : 'bursar providers limit openai 100 --period day';
  await context.emit(
    () => ({ ok: true, budgets: budgets.map(budgetJson) }),
    () => (budgets.length === 0 ? `No ${kind} budgets yet. Set one: ${example}` : listTable(kind.toUpperCase(), budgets)),
  );
}

/** How `bursar tags` and `bursar providers` differ: names, help, and the limit each sets. */
interface ScopedGroup {
  kind: 'tag' | 'provider';
  group: string;
  description: string;
  argument: string;
  argumentHelp: string;
  parse: (text: string) => string;
  limitOf(name: string, limitMicros: number | null, flags: LimitFlags): ScopedLimit;
  reaches(name: string): string;
}

const tagGroup: ScopedGroup = {
  kind: 'tag',
  group: 'tags',
  description: 'tag budgets: limit what calls carrying a tag (x-bursar-tags) spend, from any budget',
  argument: '<tag>',
  argumentHelp: 'the tag, like product:chat-bot or customer:42',
  parse: parseTagArg,
  limitOf: (tag, limitMicros, flags) => ({ kind: 'tag', tag, limitMicros, ...flags }),
  reaches: (tag) => `every call tagged ${tag}`,
};

const providerGroup: ScopedGroup = {
  kind: 'provider',
  group: 'providers',
  description: 'provider budgets: limit what every call a provider serves spends, across the installation',
  argument: '<provider>',
  argumentHelp: 'the provider, as the price catalog names it: openai, anthropic',
  parse: parseProviderArg,
  limitOf: (provider, limitMicros, flags) => ({ kind: 'provider', provider, limitMicros, ...flags }),
  reaches: (provider) => `every call ${provider} serves`,
};

function registerGroup(program: Command, context: CliContext, g: ScopedGroup): void {
  const group = program.command(g.group).description(g.description);
  const limit = group
    .command('limit')
    .description(`set the limit of a ${g.kind}'s budget (${g.group}/${g.argument}), creating it the first time`)
    .argument(g.argument, g.argumentHelp, g.parse)
    .argument('<usd>', 'limit per period in USD, or none to only count', parseLimitArg);
  limitCommand(limit, (flags, name, usdLimit) => setLimit(context, g.limitOf(name as string, usdLimit as number | null, flags), g.reaches(name as string)));
  group.command('list').description(`${g.kind} budgets with spend, limit and use`).action(() => listScoped(context, g.kind));
}

/**
 * Adds `bursar tags limit|list`.
 *
 * @example
 * registerTags(program, context);
 */
export function registerTags(program: Command, context: CliContext): void {
  registerGroup(program, context, tagGroup);
}

/**
 * Adds `bursar providers limit|list`.
 *
 * @example
 * registerProviders(program, context);
 */
export function registerProviders(program: Command, context: CliContext): void {
  registerGroup(program, context, providerGroup);
}
