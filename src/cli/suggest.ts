import { Option, type Command } from 'commander';
import type { BudgetView } from '../core/index.js';
import { didYouMean, nearest, suggestionText } from '../suggest.js';
import type { CliBackend } from './backend.js';
import { findAgent, resolveAgentRef } from './budget-ops.js';
import { CliError, usageError } from './errors.js';

/**
 * Suggestions for what people mistype on the command line: an agent's name or path, and
 * options named as other tools name them.
 */

/**
 * "; did you mean …?" for an agent reference nothing matched: agent paths when the reference
 * is a path, else agent names (a name several agents share is offered as their paths).
 *
 * @example
 * agentSuggestion(budgets, 'market-reseacher') // '; did you mean market-researcher?'
 */
export function agentSuggestion(budgets: readonly BudgetView[], ref: string): string {
  const agents = budgets.filter((b) => b.kind === 'agent');
  if (ref.includes('/')) return didYouMean(ref, agents.map((b) => b.path));
  const names = nearest(ref, new Set(agents.map((b) => b.name)));
  // A name several agents share would only be refused as ambiguous: offer their paths instead.
  return suggestionText(
    names.flatMap((name) => {
      const named = agents.filter((b) => b.name === name);
      return named.length === 1 ? [name] : named.map((b) => b.path);
    }),
  );
}

async function withSuggestion<T>(backend: CliBackend, ref: string, find: () => Promise<T>): Promise<T> {
  try {
    return await find();
  } catch (error) {
    if (!(error instanceof CliError) || error.failure.code !== 'unknown_budget') throw error;
    const suggestion = agentSuggestion(await backend.listBudgets(), ref);
    if (suggestion === '') throw error;
    throw new CliError({ ...error.failure, message: `${error.failure.message}${suggestion}` }, error.exitCode);
  }
}

/**
 * `findAgent`, with the nearest agents suggested when none matches.
 *
 * @example
 * const agent = await findAgentSuggesting(backend, 'market-reseacher'); // throws "no agent at market-reseacher; did you mean market-researcher?"
 */
export function findAgentSuggesting(backend: CliBackend, ref: string): Promise<BudgetView> {
  return withSuggestion(backend, ref, () => findAgent(backend, ref));
}

/**
 * `resolveAgentRef` (an `--agent` value), with the nearest agents suggested when none matches.
 *
 * @example
 * const target = await resolveAgentRefSuggesting(backend, 'market-researcher');
 */
export function resolveAgentRefSuggesting(backend: CliBackend, ref: string): Promise<BudgetView> {
  return withSuggestion(backend, ref, () => resolveAgentRef(backend, ref));
}

/**
 * Adds a hidden option under a name people reach for (`--limit`) that refuses with a usage
 * error pointing to the real one (`--budget-limit`), instead of commander's bare "unknown option".
 *
 * @example
 * pointToOption(create, '--limit', '--budget-limit <usd>', '--budget-limit 5.00');
 */
export function pointToOption(cmd: Command, misnamed: string, real: string, example: string): void {
  const option = new Option(`${misnamed} [value]`).hideHelp();
  cmd.addOption(option).on(`option:${option.attributeName()}`, () => {
    throw usageError('usage', `${misnamed} is not an option of ${cmd.parent?.name() ?? 'bursar'} ${cmd.name()}; did you mean ${real}? e.g. ${example}`, misnamed);
  });
}
