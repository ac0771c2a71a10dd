import type { Command } from 'commander';
import type { CliBackend } from './backend.js';
import type { CliContext } from './context.js';
import { historyOptions } from './parse.js';

/** What `<group> list` shows: every item the backend holds, as JSON under `key` or as a table. */
export interface ListCommand<T> {
  description: string;
  read(backend: CliBackend): Promise<readonly T[]>;
  /** Name of the JSON answer's array (`tokens`, `webhooks`). */
  key: string;
  toJson(item: T): unknown;
  table(items: readonly T[]): string;
  /** What to print when there is nothing yet: how to make the first one. */
  none: string;
}

/**
 * Adds `<group> list`: the whole collection as `{ <key>: [...] }` with `--json`, else a table, or
 * the hint in `none` when it is empty.
 *
 * @example
 * addListCommand(webhooks, context, { description: 'every webhook', read: (b) => b.listWebhooks(), key: 'webhooks', toJson: webhookToJson, table: webhookRows, none: 'No webhooks yet.' });
 */
export function addListCommand<T>(group: Command, context: CliContext, list: ListCommand<T>): void {
  group
    .command('list')
    .description(list.description)
    .action(async () => {
      const items = await list.read(await context.backend('read'));
      await context.emit(
        () => ({ [list.key]: items.map((item) => list.toJson(item)) }),
        () => (items.length === 0 ? list.none : list.table(items)),
      );
    });
}

/**
 * Adds `bursar <what> list` under a command group of its own: the latest rows of a history,
 * oldest first, or every one since `--since`. Returns the list command for its filters and action.
 *
 * @example
 * historyListCommand(program, context, 'alerts', 'threshold alerts').option('--budget <path>', '…').action(…);
 */
export function historyListCommand(program: Command, context: CliContext, what: string, about: string): Command {
  const group = program.command(what).description(about);
  return historyOptions(group.command('list'), context.nowMs, what).description(`${what} oldest first: the latest ones, or every one since --since`);
}
