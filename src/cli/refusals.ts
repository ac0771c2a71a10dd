import type { Command } from 'commander';
import type { RefusalRecord } from '../core/index.js';
import { refusalToJson } from '../contract/index.js';
import type { CliBackend } from './backend.js';
import type { CliContext } from './context.js';
import { cliLimits } from './limits.js';
import { clip, isoSeconds, table, usd } from './output.js';
import { readHistory } from './paging.js';
import { historyListCommand } from './list-command.js';
import { parsePathArg, type HistoryFlags } from './parse.js';
import { resolveAgentRefSuggesting } from './suggest.js';

interface RefusalFlags extends HistoryFlags {
  agent?: string;
  budget?: string;
  code?: string;
}

/**
 * Adds `bursar refusals list`: the spend the gateway, the agent routes and tool reservations
 * refused (402, 403, 429, and 503 when the store was down), so "why did my agent stop?" has an
 * answer. Refusals are not ledger entries; a flood of the same one is one row with a count.
 *
 * @example
 * registerRefusals(program, context);
 */
export function registerRefusals(program: Command, context: CliContext): void {
  historyListCommand(program, context, 'refusals', 'refused spend: who was refused what, where and how often (not ledger entries: no money moved)')
    .option('--agent <path>', 'only this agent\'s refusals: its path, or its bare name when unique')
    .option('--budget <path>', 'only refusals by this budget or one under it', parsePathArg('--budget'))
    .option('--code <code>', 'only this code (budget_exceeded, burn_limit, too_many_inflight, …)')
    .action((flags: RefusalFlags) => listRefusals(context, flags));
}

/** The rows `--limit` and `--since` ask for. */
function readRefusals(backend: CliBackend, flags: RefusalFlags & { agentPath?: string }): Promise<{ items: RefusalRecord[]; more: boolean; footer: string }> {
  return readHistory(async ({ cursor, limit, order }) => {
    const page = await backend.refusals({ agent: flags.agentPath, budget: flags.budget, code: flags.code, sinceMs: flags.since, cursor, limit, order });
    return { items: page.refusals, nextCursor: page.nextCursor };
  }, flags);
}

function refusalRows(refusals: readonly RefusalRecord[]): string {
  return table(
    [{ header: 'LAST' }, { header: 'COUNT', align: 'right' }, { header: 'CODE' }, { header: 'AGENT' }, { header: 'REFUSED BY' }, { header: 'MODEL/TOOL' }, { header: 'ASKED', align: 'right' }, { header: 'TOKEN' }, { header: 'MESSAGE' }],
    refusals.map((r) => [
      isoSeconds(r.lastMs),
      String(r.count),
      r.code,
      r.agent ?? '-',
      r.budget ?? '-',
      r.model ?? r.tool ?? '-',
      usd(r.amountMicros),
      r.tokenIdPrefix === null ? '-' : `${r.tokenIdPrefix}…`,
      clip(r.message, cliLimits.messageCellCharsMax),
    ]),
  );
}

async function listRefusals(context: CliContext, flags: RefusalFlags): Promise<void> {
  const backend = await context.backend('read');
  const agentPath = flags.agent === undefined ? undefined : (await resolveAgentRefSuggesting(backend, flags.agent)).path;
  const { items: refusals, more, footer } = await readRefusals(backend, { ...flags, agentPath });
  const whose = agentPath === undefined ? '' : ` for ${agentPath}`;
  await context.emit(
    () => ({ ok: true, refusals: refusals.map(refusalToJson), more }),
    () => (refusals.length === 0 ? `No refusals${whose}${flags.since === undefined ? '' : ' in that time'}: no call or tool spend was refused (402, 403, 429, or 503 while the store was down).` : `${refusalRows(refusals)}${footer}`),
  );
}
