import { afterEach, beforeEach, expect } from 'vitest';
import type { BudgetView, CommandResult, CreateBudget, LedgerEntry, Policy, Refusal } from '../../core/index.js';
import type { Store } from '../store.js';
import { SimClock } from './sim-clock.js';
import type { ConformanceTarget } from './target.js';

/** Shared steps of the conformance suites. */

export const usd = (n: number) => Math.round(n * 1_000_000);
/** 2026-01-31 23:00 UTC: an hour before a day and a month boundary. */
export const conformanceStartMs = Date.UTC(2026, 0, 31, 23, 0, 0);

export function ok<T extends CommandResult>(result: T | Refusal): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result;
}

export function refused(result: CommandResult, code: string): Refusal {
  if (result.ok) throw new Error(`expected ${code}, got ok`);
  expect(result.code).toBe(code);
  expect(result.message.length).toBeGreaterThan(10);
  return result;
}

type BudgetFields = Omit<CreateBudget, 'type' | 'path' | 'kind'>;

/**
 * The tree most suites start from: acme (an org of 100 USD a month) > acme/research (a team) >
 * acme/research/bot (an agent), the team and the agent with the fields a suite gives them.
 *
 * @example
 * await acmeTree(store, { limitMicros: usd(10) }, { limitMicros: usd(5), policy: { burnLimits: [] } });
 */
export async function acmeTree(store: Store, research: BudgetFields, bot: BudgetFields): Promise<void> {
  ok(await store.createBudget({ path: 'acme', kind: 'org', limitMicros: usd(100), period: 'month' }));
  ok(await store.createBudget({ path: 'acme/research', kind: 'team', ...research }));
  ok(await store.createBudget({ path: 'acme/research/bot', kind: 'agent', ...bot }));
}

export async function budget(store: Store, path: string): Promise<BudgetView> {
  const b = await store.getBudget(path);
  if (!b) throw new Error(`no budget ${path}`);
  return b;
}

/**
 * Every item of a paged read, following each page's cursor to the last page.
 *
 * @example
 * const ids = await allPages(async (cursor) => { const p = await store.refusals({ cursor, limit: 2 }); return { items: p.refusals.map((r) => r.id), nextCursor: p.nextCursor }; });
 */
export async function allPages<T>(read: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await read(cursor);
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
}

export function allEntries(store: Store): Promise<LedgerEntry[]> {
  return allPages(async (cursor) => {
    const page = await store.ledger({ cursor, limit: 1000 });
    return { items: page.entries, nextCursor: page.nextCursor };
  });
}

/**
 * Creates budget `x`, then tries each invalid value of one policy field on a new budget and as a
 * patch of `x`: each must be refused with `invalid_policy` naming the field, with nothing written.
 *
 * @example
 * await expectPolicyRefused(store, 'loopLimit', [[{ repeats: 0, windowMs: 60_000 }, 'policy.loopLimit.repeats']]);
 */
export async function expectPolicyRefused(store: Store, key: keyof Policy, cases: readonly (readonly [unknown, string])[]): Promise<void> {
  ok(await store.createBudget({ path: 'x' }));
  const count = (await allEntries(store)).length;
  for (const [value, field] of cases) {
    const created = refused(await store.execute({ type: 'createBudget', path: 'y', policy: { [key]: value } } as never), 'invalid_policy');
    expect(created.field, JSON.stringify(value)).toBe(field);
    const patched = refused(await store.execute({ type: 'updateBudget', path: 'x', policyPatch: { [key]: value } } as never), 'invalid_policy');
    expect(patched.field, JSON.stringify(value)).toBe(field);
  }
  expect((await allEntries(store)).length).toBe(count);
}

export async function expectAuditOk(store: Store): Promise<void> {
  const report = await store.audit();
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
}


/**
 * Opens a fresh store on a simulated clock before each test of the suite it is called in, and
 * closes whichever store `current()` names after it (a test may reopen it).
 *
 * @example
 * let clock: SimClock; let store: Store;
 * storePerTest(target, (opened) => ({ clock, store } = opened), () => store);
 */
export function storePerTest(target: ConformanceTarget, opened: (fresh: { clock: SimClock; store: Store }) => void, current: () => Store): void {
  beforeEach(async () => {
    const clock = new SimClock(conformanceStartMs);
    opened({ clock, store: await target.open(clock) });
  });
  afterEach(async () => {
    await current().close();
  });
}
