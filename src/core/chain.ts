import { fail } from './assert.js';
import { limits } from './limits.js';
import { periodWindow } from './period.js';
import type { Tx } from './tx.js';
import type { BudgetRecord, EntryDraft, EntryKind, LedgerEntry } from './types.js';

/** The budget and its ancestors, leaf first. Loops over parents; the depth is bounded. */
export function chainOf(tx: Tx, leaf: BudgetRecord): BudgetRecord[] {
  const chain = [leaf];
  let parentId = leaf.parentId;
  while (parentId !== null) {
    const parent = tx.budgetById(parentId);
    if (!parent) fail(`budget ${leaf.path} has a missing ancestor ${parentId}`);
    if (chain.length >= limits.pathDepthMax) fail(`budget ${leaf.path} sits in a cycle`);
    chain.push(parent);
    parentId = parent.parentId;
  }
  return chain;
}

/**
 * An entry draft with every optional field empty. The object already carries `seq` and `hash`
 * (filled in by the store's `append`) so every entry has one shape.
 */
export function draft(tx: Tx, kind: EntryKind, budgetId: number, amountMicros: number, f: Partial<EntryDraft> = {}): EntryDraft {
  const entry: LedgerEntry = {
    seq: 0,
    tsMs: tx.nowMs,
    kind,
    budgetId,
    amountMicros,
    reservationSeq: f.reservationSeq ?? null,
    model: f.model ?? null,
    tokensIn: f.tokensIn ?? null,
    tokensOut: f.tokensOut ?? null,
    tokensCached: f.tokensCached ?? null,
    tokensCacheWrite: f.tokensCacheWrite ?? null,
    requestId: f.requestId ?? null,
    session: f.session ?? null,
    task: f.task ?? null,
    actor: f.actor ?? null,
    reason: f.reason ?? null,
    data: f.data ?? null,
    hash: '',
  };
  return entry;
}

export function json(value: Record<string, unknown>): string {
  return JSON.stringify(value);
}

/**
 * Starts a new period on every budget of the chain whose period has ended, writing a
 * `period_reset` entry that carries the closed period's totals. Open reservations carry over.
 */
export function rollPeriods(tx: Tx, chain: readonly BudgetRecord[], actor: string | null = null): void {
  for (const b of chain) {
    if (b.periodEndMs === null || tx.nowMs < b.periodEndMs) continue;
    const next = periodWindow(b.period, b.timezone, tx.nowMs);
    tx.closePeriod({
      budgetId: b.id,
      startMs: b.periodStartMs,
      endMs: b.periodEndMs,
      spentMicros: b.spentMicros,
      grantedMicros: b.grantedMicros,
      overrunMicros: b.overrunMicros,
    });
    tx.append(
      draft(tx, 'period_reset', b.id, b.spentMicros, {
        actor,
        data: json({
          closedStartMs: b.periodStartMs,
          closedEndMs: b.periodEndMs,
          spentMicros: b.spentMicros,
          grantedMicros: b.grantedMicros,
          overrunMicros: b.overrunMicros,
          startMs: next.startMs,
          endMs: next.endMs,
        }),
      }),
    );
    b.spentMicros = 0;
    b.grantedMicros = 0;
    b.overrunMicros = 0;
    b.alertSpentPct = 0;
    b.alertCommittedPct = 0;
    b.periodStartMs = next.startMs;
    b.periodEndMs = next.endMs;
    tx.budgetChanged(b);
  }
}

/** Checks `spent + reserved <= limit + granted + overrun` after an admitted change. */
export function assertWithinLimit(b: BudgetRecord): void {
  if (b.reservedMicros < 0 || b.inflight < 0 || b.spentMicros < 0) fail(`budget ${b.path} has a negative balance`);
}
