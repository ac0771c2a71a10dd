import { afterEach, beforeEach, expect } from 'vitest';
import type { BudgetView, CommandResult, LedgerEntry, Refusal } from '../../core/index.js';
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

export async function budget(store: Store, path: string): Promise<BudgetView> {
  const b = await store.getBudget(path);
  if (!b) throw new Error(`no budget ${path}`);
  return b;
}

export async function allEntries(store: Store): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.ledger({ cursor, limit: 1000 });
    out.push(...page.entries);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
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
