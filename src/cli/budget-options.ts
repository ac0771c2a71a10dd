import type { Command } from 'commander';
import { addLimitOptions, addPolicyOptions } from './budget-ops.js';
import { pointToOption } from './suggest.js';

/**
 * Adds every option of `create` or `update` on a budget or an agent: limit, period, policy, and
 * a pointer from the misnamed `--limit` to `--budget-limit`.
 *
 * @example
 * addBudgetOptions(agents.command('update').argument('<path>'), 'update', '50.00');
 */
export function addBudgetOptions(cmd: Command, mode: 'create' | 'update', exampleUsd: string): Command {
  addLimitOptions(cmd, mode);
  addPolicyOptions(cmd, mode);
  pointToOption(cmd, '--limit', '--budget-limit <usd>', `--budget-limit ${exampleUsd}`);
  return cmd;
}
