import { limits } from '../core/index.js';
import { cliLimits } from './limits.js';
import type { HistoryFlags } from './parse.js';

/** One page as a listing command reads it: its items (already filtered) and the cursor of the next. */
export interface ItemPage<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Up to `max` items of a paged read, shown oldest first: from the start of the range when the
 * command was given one (`fromStart`), else the newest ones. Says whether more remained.
 *
 * @example
 * const { items, more } = await readCapped((q) => readPage(q), flags.since !== undefined, 50);
 */
export async function readCapped<T>(read: (q: { cursor: string | undefined; limit: number; order: 'asc' | 'desc' }) => Promise<ItemPage<T>>, fromStart: boolean, max: number): Promise<{ items: T[]; more: boolean }> {
  const order = fromStart ? 'asc' : 'desc';
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await read({ cursor, limit: limits.ledgerPageMax, order });
    items.push(...page.items);
    if (items.length > max || page.nextCursor === null) {
      const kept = items.slice(0, max);
      return { items: order === 'desc' ? kept.reverse() : kept, more: items.length > max };
    }
    cursor = page.nextCursor;
  }
}

/**
 * A history listing (`--since`, `--limit`) read with `readCapped`, and the footer that says
 * when more remained and how to see it.
 *
 * @example
 * const { items, more, footer } = await readHistory((q) => readPage(q), flags);
 */
export async function readHistory<T>(read: (q: { cursor: string | undefined; limit: number; order: 'asc' | 'desc' }) => Promise<ItemPage<T>>, flags: HistoryFlags): Promise<{ items: T[]; more: boolean; footer: string }> {
  const max = flags.limit ?? cliLimits.historyLimitDefault;
  const { items, more } = await readCapped(read, flags.since !== undefined, max);
  const footer = more ? `\n(the ${max} ${flags.since === undefined ? 'latest' : 'first'}; --limit shows more, --since narrows)` : '';
  return { items, more, footer };
}
