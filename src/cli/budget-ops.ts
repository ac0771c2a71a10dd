import { Option, type Command } from 'commander';
import { expiryRules, limits, pathPrefixes, widening, type BrownoutTier, type BudgetKind, type BudgetView, type BurnLimit, type ExpiryRule, type FallbackRule, type LoopLimit, type Period, type Policy } from '../core/index.js';
import { effectiveOf, findAgent as findAgentOp } from '../ops/index.js';
import type { CliBackend, PolicyPatch, UpdateBudgetInput } from './backend.js';
import type { CliContext } from './context.js';
import { CliError, unwrap, usageError } from './errors.js';
import { budgetJson, policyText, usd } from './output.js';
import { parseAlertThresholdsArg, parseBrownoutArg, parseBurnLimitArg, parseFallbackArg, parseLoopLimitArg, parseMaxInflightArg, parseModelsArg, parsePeriodArg, parseTagsArg, parseTimezoneArg, parseUsdArg } from './parse.js';

/**
 * What `agents` and `budgets` share: the flags for limits and policy, creating a budget with
 * its missing parents, finding an agent, and describing a budget in a line.
 */

/** Flags of the create and update commands, after parsing. */
export interface BudgetFlags {
  budgetLimit?: number;
  /** False with `--no-limit`. */
  limit?: boolean;
  period?: Period;
  timezone?: string;
  /** False with `--no-models`. */
  models?: string[] | false;
  maxInflight?: number;
  /** False with `--no-request-cap`. */
  requestCap?: number | false;
  onExpiry?: ExpiryRule;
  /** Every `--burn-limit` given (an empty list for `none`). */
  burnLimit?: BurnLimit[];
  /** `--loop-limit`: repeats per window, or off. */
  loopLimit?: LoopLimit | 'off';
  /** False with `--no-alert-thresholds`. */
  alertThresholds?: number[] | false;
  /** Every `--brownout` tier given (an empty list for `none`). */
  brownout?: BrownoutTier[];
  /** Every `--fallback` given (an empty list for `none`). */
  fallback?: FallbackRule[];
  /** False with `--no-require-tags`. */
  requireTags?: string[] | false;
  parents?: boolean;
  reason?: string;
}

/**
 * Adds `--budget-limit`, `--period` and `--timezone` (and `--no-limit` for updates).
 *
 * @example
 * addLimitOptions(program.command('create').argument('<path>'), 'create');
 */
export function addLimitOptions(cmd: Command, mode: 'create' | 'update'): Command {
  cmd.option('--budget-limit <usd>', 'spending limit per period in USD, e.g. 5.00', parseUsdArg('--budget-limit'));
  if (mode === 'update') cmd.addOption(new Option('--no-limit', 'remove the limit (the budget only records spend)').conflicts('budgetLimit'));
  const periodHelp =
    mode === 'create'
      ? 'period the limit resets on: none, hour, day, week, month (default: month with a limit, else none)'
      : 'new period: none, hour, day, week, month; closes the current period and starts a fresh one';
  cmd.option('--period <period>', periodHelp, parsePeriodArg);
  cmd.option('--timezone <zone>', 'IANA time zone the period follows (default UTC)', parseTimezoneArg);
  return cmd;
}

/**
 * Adds `--models`, `--max-inflight` and `--request-cap` (and their `--no-` forms for updates).
 *
 * @example
 * addPolicyOptions(update, 'update'); // adds --models/--no-models, --max-inflight, --request-cap/--no-request-cap
 */
export function addPolicyOptions(cmd: Command, mode: 'create' | 'update'): Command {
  cmd.option('--models <list>', 'allowed models, comma-separated; a trailing * matches a prefix (gpt-4o,claude-*)', parseModelsArg);
  // `--models` and `--no-models` share one attribute: the last one given wins.
  if (mode === 'update') cmd.option('--no-models', 'allow every model the parents allow');
  cmd.option('--max-inflight <n>', 'most reservations open at once (agents default to 4)', parseMaxInflightArg);
  cmd.option('--request-cap <usd>', 'largest cost of a single request in USD', parseUsdArg('--request-cap', { positive: true }));
  if (mode === 'update') cmd.option('--no-request-cap', 'remove the per-request cap');
  cmd.addOption(new Option('--on-expiry <rule>', 'what a tool reservation left open past its TTL costs: charge its hold (default) or release it').choices(expiryRules));
  const burnHelp = mode === 'create' ? 'a rolling cap in USD per window, like 2.00/1m or 10 per 1h; repeat for several, none for none (agents default to 2.00/1m)' : 'replace the burn limits: USD per window, like 2.00/1m; repeat for several, none to turn them off';
  cmd.option('--burn-limit <usd/window>', burnHelp, parseBurnLimitArg);
  const loopHelp = mode === 'create' ? 'loop detection: at most so many repeats of one request in a window, like 20/10m; off for none (agents default to 20/10m)' : 'replace the loop limit: repeats of one request per window, like 20/10m; off to turn it off';
  cmd.option('--loop-limit <repeats/window>', loopHelp, parseLoopLimitArg);
  cmd.option('--alert-thresholds <list>', 'percentages of the limit that raise an alert, like 50,80,100 (default: the parent\'s, else 50,75,90,100)', parseAlertThresholdsArg);
  if (mode === 'update') cmd.option('--no-alert-thresholds', 'use the parent\'s alert thresholds again');
  addRoutingOptions(cmd, mode);
  return cmd;
}

/** `--brownout`, `--fallback` and `--require-tags` (and `--no-require-tags` for updates). */
function addRoutingOptions(cmd: Command, mode: 'create' | 'update'): void {
  const replace = mode === 'update' ? 'replaces the budget\'s tiers; ' : '';
  cmd.option('--brownout <pct:model=model>', `from a share of this budget, send calls for one model to another, like 90:gpt-4o=gpt-4o-mini; repeat for several tiers (${replace}none for none)`, parseBrownoutArg);
  cmd.option('--fallback <model=models>', `when the budgets cannot take a call for a model, try these in order, like gpt-4o=gpt-4o-mini,gpt-4.1-nano; repeat for several models (${mode === 'update' ? 'replaces the budget\'s fallbacks; ' : ''}none for none)`, parseFallbackArg);
  cmd.option('--require-tags <list>', 'tags every call under this budget must carry (x-bursar-tags), keys or whole tags, like product,env:prod', parseTagsArg('--require-tags'));
  if (mode === 'update') cmd.option('--no-require-tags', 'require no tags of this budget');
}

/**
 * The policy a create command asks for.
 *
 * @example
 * policyFromFlags({ models: ['gpt-4o'], maxInflight: 8 }) // { models: ['gpt-4o'], inflightMax: 8 }
 */
export function policyFromFlags(flags: BudgetFlags): Policy {
  const policy: Policy = {};
  if (Array.isArray(flags.models)) policy.models = flags.models;
  if (flags.maxInflight !== undefined) policy.inflightMax = flags.maxInflight;
  if (typeof flags.requestCap === 'number') policy.requestCapMicros = flags.requestCap;
  if (flags.onExpiry !== undefined) policy.onExpiry = flags.onExpiry;
  if (flags.burnLimit !== undefined) policy.burnLimits = flags.burnLimit;
  if (flags.loopLimit !== undefined) policy.loopLimit = flags.loopLimit;
  if (Array.isArray(flags.alertThresholds)) policy.alertThresholdsPct = flags.alertThresholds;
  if (flags.brownout !== undefined && flags.brownout.length > 0) policy.brownout = flags.brownout;
  if (flags.fallback !== undefined && flags.fallback.length > 0) policy.fallbacks = flags.fallback;
  if (Array.isArray(flags.requireTags)) policy.requiredTags = flags.requireTags;
  return policy;
}

/**
 * The policy change an update command asks for, or undefined when it asks for none.
 *
 * @example
 * policyPatchFromFlags({ models: false, requestCap: 500_000 }) // { models: null, requestCapMicros: 500_000 }
 */
export function policyPatchFromFlags(flags: BudgetFlags): PolicyPatch | undefined {
  const patch: PolicyPatch = {};
  if (flags.models !== undefined) patch.models = flags.models === false ? null : flags.models;
  if (flags.maxInflight !== undefined) patch.inflightMax = flags.maxInflight;
  if (flags.requestCap !== undefined) patch.requestCapMicros = flags.requestCap === false ? null : flags.requestCap;
  if (flags.onExpiry !== undefined) patch.onExpiry = flags.onExpiry;
  if (flags.burnLimit !== undefined) patch.burnLimits = flags.burnLimit;
  if (flags.loopLimit !== undefined) patch.loopLimit = flags.loopLimit;
  if (flags.alertThresholds !== undefined) patch.alertThresholdsPct = flags.alertThresholds === false ? null : flags.alertThresholds;
  if (flags.brownout !== undefined) patch.brownout = flags.brownout.length === 0 ? null : flags.brownout;
  if (flags.fallback !== undefined) patch.fallbacks = flags.fallback.length === 0 ? null : flags.fallback;
  if (flags.requireTags !== undefined) patch.requiredTags = flags.requireTags === false ? null : flags.requireTags;
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * The update an update command asks for; a usage error when it asks for nothing.
 *
 * @example
 * updateFromFlags('acme/bot', { budgetLimit: 50_000_000 }) // { path: 'acme/bot', limitMicros: 50_000_000 }
 */
export function updateFromFlags(path: string, flags: BudgetFlags): UpdateBudgetInput {
  const input: UpdateBudgetInput = { path };
  if (flags.budgetLimit !== undefined) input.limitMicros = flags.budgetLimit;
  if (flags.limit === false) input.limitMicros = null;
  if (flags.period !== undefined) input.period = flags.period;
  if (flags.timezone !== undefined) input.timezone = flags.timezone;
  const patch = policyPatchFromFlags(flags);
  if (patch) input.policyPatch = patch;
  if (flags.reason !== undefined) input.reason = flags.reason;
  if (Object.keys(input).filter((k) => k !== 'path' && k !== 'reason').length === 0) {
    throw usageError('usage', 'nothing to update: give --budget-limit, --no-limit, --period, --timezone, --models, --max-inflight, --request-cap, --on-expiry, --burn-limit, --loop-limit, --alert-thresholds, --brownout, --fallback or --require-tags');
  }
  return input;
}

/**
 * Kind given to a parent created by `--parents`: the first level is the organisation, the
 * second a team, deeper levels plain budgets (the org → team → agent tree of the design).
 *
 * @example
 * parentKindAt(1) // 'org'
 */
export function parentKindAt(depth: number): BudgetKind {
  if (depth === 1) return 'org';
  if (depth === 2) return 'team';
  return 'budget';
}

export interface CreateSpec {
  path: string;
  kind: BudgetKind;
  limitMicros: number | null;
  period: Period;
  timezone?: string;
  policy: Policy;
  reason?: string;
  /** Create missing parents (without limits) instead of refusing. */
  parents: boolean;
}

export interface Created {
  budget: BudgetView;
  /** Parents `--parents` created, root first. */
  parents: BudgetView[];
}

/** Missing ancestors of `path` (root first) and the chain of the nearest existing one. */
async function ancestry(backend: CliBackend, path: string): Promise<{ missing: string[]; nearest: BudgetView[] }> {
  const ancestors = pathPrefixes(path).slice(0, -1);
  const missing: string[] = [];
  for (let i = ancestors.length - 1; i >= 0; i -= 1) {
    const at = ancestors[i] ?? '';
    const chain = await backend.chain(at);
    if (chain.length > 0) return { missing, nearest: chain };
    missing.unshift(at);
  }
  return { missing, nearest: [] };
}

function describeParents(missing: readonly string[]): string {
  return missing.map((p) => `${p} (${parentKindAt(p.split('/').length)})`).join(', ');
}

/** Refuses up front what would fail only after parents were made, so a refusal leaves nothing behind. */
function precheck(spec: CreateSpec, missing: readonly string[], nearest: readonly BudgetView[]): void {
  if (missing.length > 0 && !spec.parents) {
    const parent = missing[missing.length - 1] ?? '';
    throw new CliError({ code: 'parent_missing', message: `parent budget ${parent} does not exist; create it first, or pass --parents to create ${describeParents(missing)} without limits`, field: 'path' }, 1);
  }
  const top = nearest[0];
  if (missing.length === 0 || !top) return;
  if (top.status === 'closed') throw new CliError({ code: 'budget_closed', message: `budget ${top.path} is closed`, budget: top.path }, 1);
  const wide = widening(effectiveOf(nearest), spec.policy);
  if (wide) throw new CliError({ code: 'policy_widens', message: wide.message, budget: top.path, field: `policy.${wide.field}` }, 1);
}

/**
 * Creates a budget. Missing parents are refused with a hint, or with `parents` created first,
 * root down, as org / team / plain budgets without limits. Not one transaction: a parent made
 * by someone else meanwhile is used as it is.
 *
 * @example
 * await createBudgetAt(backend, { path: 'acme/research/bot', kind: 'agent', limitMicros: 5_000_000, period: 'month', policy: {}, parents: true });
 */
export async function createBudgetAt(backend: CliBackend, spec: CreateSpec): Promise<Created> {
  const { missing, nearest } = await ancestry(backend, spec.path);
  precheck(spec, missing, nearest);
  const parents: BudgetView[] = [];
  for (const at of missing) {
    const depth = at.split('/').length;
    const result = await backend.createBudget({ path: at, kind: parentKindAt(depth), limitMicros: null, period: 'none', timezone: spec.timezone, reason: `created as a parent of ${spec.path}` });
    if (result.ok) parents.push(result.budget);
    else if (result.code !== 'budget_exists') unwrap(result);
  }
  const { parents: _parents, ...input } = spec;
  const result = await backend.createBudget(input);
  if (!result.ok && parents.length > 0) {
    const left = parents.map((p) => p.path).join(', ');
    const { ok: _ok, ...failure } = result;
    throw new CliError({ ...failure, message: `${result.message} (the parents created first remain: ${left})` }, 1);
  }
  return { budget: unwrap(result).budget, parents };
}

/**
 * `create` for agents and budgets alike: creates the budget a command's flags describe (a
 * limit makes the period default to month) and prints it, with the parents `--parents` made.
 *
 * @example
 * await createFromFlags(context, 'acme/research/bot', 'agent', { budgetLimit: 5_000_000, parents: true });
 */
export async function createFromFlags(context: CliContext, path: string, kind: BudgetKind, flags: BudgetFlags): Promise<void> {
  const limitMicros = flags.budgetLimit ?? null;
  const created = await createBudgetAt(await context.backend('write'), {
    path,
    kind,
    limitMicros,
    period: flags.period ?? (limitMicros === null ? 'none' : 'month'),
    timezone: flags.timezone,
    policy: policyFromFlags(flags),
    reason: flags.reason,
    parents: flags.parents === true,
  });
  const parentLine = created.parents.length > 0 ? [`  also created ${created.parents.map((p) => `${p.path} (${p.kind})`).join(', ')} without limits`] : [];
  await emitBudget(context, 'Created', created.budget, { lines: parentLine, json: { created_parents: created.parents.map(budgetJson) } });
}

/**
 * Finds an agent by path, or by its bare name when exactly one agent has that name (`bursar
 * agents update market-researcher …`). Anything else is refused: unknown, ambiguous, or a
 * budget that is not an agent.
 *
 * @example
 * const agent = await findAgent(backend, 'market-researcher');
 */
export async function findAgent(backend: CliBackend, ref: string): Promise<BudgetView> {
  const found = await findAgentOp(backend, ref);
  if (found.ok) return found.agent;
  if (found.why === 'not_an_agent') {
    throw new CliError({ code: 'not_an_agent', message: `${ref} is a budget of kind ${found.budget.kind}, not an agent; use the bursar budgets commands for it`, budget: ref }, 1);
  }
  if (found.why === 'ambiguous') {
    throw new CliError({ code: 'ambiguous_name', message: `${found.agents.length} agents are named ${ref} (${found.agents.map((b) => b.path).join(', ')}); give the full path`, field: 'path' }, 1);
  }
  throw new CliError({ code: 'unknown_budget', message: `no agent at ${ref}`, field: 'path' }, 1);
}

/**
 * Resolves an `--agent` value: any budget by exact path, else an agent by its unique name.
 *
 * @example
 * const target = await resolveAgentRef(backend, 'market-researcher'); // acme/research/market-researcher
 */
export async function resolveAgentRef(backend: CliBackend, ref: string): Promise<BudgetView> {
  return (await backend.getBudget(ref)) ?? findAgent(backend, ref);
}

/**
 * Finds a budget by exact path or refuses with `unknown_budget`.
 *
 * @example
 * const budget = await findBudget(backend, 'acme/research');
 */
export async function findBudget(backend: CliBackend, path: string): Promise<BudgetView> {
  const budget = await backend.getBudget(path);
  if (budget) return budget;
  throw new CliError({ code: 'unknown_budget', message: `no budget at ${path}`, field: 'path' }, 1);
}

/**
 * "limit $5.00 per month" or "no limit".
 *
 * @example
 * limitText({ limitMicros: 5_000_000, period: 'month', grantedMicros: 0 }) // 'limit $5.00 per month'
 */
export function limitText(b: Pick<BudgetView, 'limitMicros' | 'period' | 'grantedMicros'>): string {
  if (b.limitMicros === null) return 'no limit';
  const granted = b.grantedMicros > 0 ? ` (+${usd(b.grantedMicros)} granted)` : '';
  return `limit ${usd(b.limitMicros)}${b.period === 'none' ? '' : ` per ${b.period}`}${granted}`;
}

/**
 * A budget in one line for confirmations.
 *
 * @example
 * budgetLine(view) // 'acme/research/bot (agent, active): limit $5.00 per month; spent $0.00; policy in-flight max 4'
 */
export function budgetLine(b: BudgetView): string {
  return `${b.path} (${b.kind}, ${b.status}): ${limitText(b)}; spent ${usd(b.spentMicros)}; policy ${policyText(b.policy)}`;
}

/**
 * Prints the outcome of a change to one budget: a sentence, or `{ ok, budget }` with `--json`.
 *
 * @example
 * await emitBudget(context, 'Paused', budget);
 */
export async function emitBudget(context: CliContext, verb: string, budget: BudgetView, extra: { lines?: string[]; json?: Record<string, unknown> } = {}): Promise<void> {
  await context.emit(
    () => ({ ok: true, budget: budgetJson(budget), ...extra.json }),
    () => [`${verb} ${budgetLine(budget)}`, ...(extra.lines ?? [])].join('\n'),
  );
}

/**
 * Ids to budgets, for walking parents without a call per level.
 *
 * @example
 * const index = byId(await backend.listBudgets());
 */
export function byId(budgets: readonly BudgetView[]): Map<number, BudgetView> {
  return new Map(budgets.map((b) => [b.id, b]));
}

/**
 * A budget and its ancestors from an in-memory list, leaf first (a loop bounded by the depth limit).
 *
 * @example
 * chainIn(byId(all), bot).map((b) => b.path) // ['acme/research/bot', 'acme/research', 'acme']
 */
export function chainIn(index: ReadonlyMap<number, BudgetView>, leaf: BudgetView): BudgetView[] {
  const chain = [leaf];
  let parentId = leaf.parentId;
  while (parentId !== null && chain.length <= limits.pathDepthMax) {
    const parent = index.get(parentId);
    if (!parent) break;
    chain.push(parent);
    parentId = parent.parentId;
  }
  return chain;
}

