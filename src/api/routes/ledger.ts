import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { limits, type BudgetView } from '../../core/index.js';
import type { LedgerQuery, Store } from '../../store/index.js';
import { BudgetIndex, findAgent, ledgerPage, unknownBudget } from '../../ops/index.js';
import { ledgerCsvLine, csvLine, ledgerFields, WireError, wireErrorOf, entryToJson, adminRoutes, LedgerPageJson } from '../../contract/index.js';
import { route, type Route } from '../deps.js';
import { sent, type Sent } from '../registry.js';



/**
 * True when the client asked for CSV: `format=csv`, or no `format` and an Accept naming text/csv.
 *
 * @example
 * wantsCsv(undefined, request) // true for "Accept: text/csv"
 */
export function wantsCsv(format: 'json' | 'csv' | undefined, request: FastifyRequest): boolean {
  if (format !== undefined) return format === 'csv';
  const accept = request.headers.accept ?? '';
  return /\btext\/csv\b/i.test(accept);
}

/** Every matching entry as CSV, page by page, up to the entry that was newest when it began. */
async function* csvStream(store: Store, query: LedgerQuery): AsyncGenerator<string> {
  const headSeq = (await store.ledger({ order: 'desc', limit: 1 })).entries[0]?.seq ?? 0;
  let index = await BudgetIndex.load(store);
  yield csvLine(ledgerFields);
  let cursor = query.cursor;
  for (;;) {
    const page = await store.ledger({ ...query, cursor, limit: limits.ledgerPageMax });
    const entries = page.entries.filter((e) => e.seq <= headSeq);
    if (entries.some((e) => !index.has(e.budgetId))) index = await BudgetIndex.load(store);
    if (entries.length > 0) yield entries.map((e) => ledgerCsvLine({ ...e, budget: index.pathOf(e.budgetId) })).join('');
    if (page.nextCursor === null) return;
    // Ascending: past the snapshot, nothing more to read.
    if (query.order !== 'desc' && entries.length < page.entries.length) return;
    cursor = page.nextCursor;
  }
}

/**
 * Answers a ledger read: one JSON page, or (for CSV) every matching entry streamed, with
 * backpressure, as `filename`.
 *
 * @example
 * return ledgerAnswer(deps.store, { budget: 'acme' }, { csv: true, reply, filename: 'acme.csv' });
 */
export async function ledgerAnswer(store: Store, query: LedgerQuery, o: { csv: boolean; reply: FastifyReply; filename: string }): Promise<z.input<typeof LedgerPageJson> | Sent> {
  if (o.csv) {
    void o.reply
      .code(200)
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${o.filename}"`)
      .send(Readable.from(csvStream(store, query)));
    return sent;
  }
  const page = await ledgerPage(store, { ...query, limit: query.limit ?? limits.ledgerPageDefault });
  return { entries: page.entries.map((e) => entryToJson(e, e.budget)), next_cursor: page.nextCursor };
}

/**
 * The agent an `agent` filter names: an agent's path, or its bare name when only one agent has
 * it. Anything else is a 404 or a 400 naming the field.
 *
 * @example
 * await resolveAgent(store, 'market-researcher') // the agent at acme/research/market-researcher
 */
export async function resolveAgent(store: Store, ref: string): Promise<BudgetView> {
  const found = await findAgent(store, ref);
  if (found.ok) return found.agent;
  if (found.why === 'not_an_agent') throw new WireError('bad_request', `${ref} is a budget of kind ${found.budget.kind}, not an agent; filter with budget instead`, { field: 'agent' });
  if (found.why === 'ambiguous') throw new WireError('bad_request', `${found.agents.length} agents are named ${ref}; give the full path`, { field: 'agent' });
  throw new WireError('unknown_budget', `no agent at ${ref}`, { field: 'agent' });
}

const listLedger = route(adminRoutes.listLedger, async ({ query, deps, request, reply }) => {
  if (query.budget !== undefined && query.agent !== undefined) throw new WireError('bad_request', 'filter by budget or by agent, not both', { field: 'agent' });
  if (query.budget !== undefined && !(await deps.store.getBudget(query.budget))) throw wireErrorOf(unknownBudget(query.budget, 'budget'));
  const budget = query.agent !== undefined ? (await resolveAgent(deps.store, query.agent)).path : query.budget;
  const filters: LedgerQuery = { budget, session: query.session, task: query.task, model: query.model, kinds: query.kind, sinceMs: query.since, untilMs: query.until, cursor: query.cursor, limit: query.limit, order: query.order };
  return ledgerAnswer(deps.store, filters, { csv: wantsCsv(query.format, request), reply, filename: 'bursar-ledger.csv' });
});

export const ledgerRoutes: Route[] = [listLedger];
