import { assert } from './assert.js';
import { limits } from './limits.js';
import type { LoopLimit, Policy } from './policy.js';
import type { BudgetRecord, LoopEntry, LoopState } from './types.js';

/**
 * Loop detection's state: per budget with a loop limit of its own, the request fingerprints its
 * reservations (and those of everything under it) carried lately, each with a count since its
 * window opened. A window opens at a fingerprint's first reservation and lasts the limit's
 * `windowMs`; the count starts again at the first reservation after it has passed. So a loop
 * faster than `repeats` per window is always caught within its first window, and at most twice
 * `repeats` fit in any window of that length. Pure: time comes in.
 *
 * What it costs a reservation: nothing on a budget without a loop limit of its own or for a
 * reservation without a fingerprint. Otherwise a scan of at most `loopFingerprintsPerBudgetMax`
 * short strings, one entry serialised again (a few dozen bytes of JSON), and the state's text
 * rebuilt by concatenating the entries' cached texts when the budget row is written. That row
 * is the one the reservation writes anyway (its balances): no other row or index is touched,
 * and a settlement writes the cached text as it is.
 */

/**
 * The loop state a policy needs, keeping what was counted while the budget keeps a loop limit;
 * null without one.
 *
 * @example
 * loopStateFor({ loopLimit: { repeats: 20, windowMs: 600_000 } }, null) // { entries: [] }
 */
export function loopStateFor(policy: Policy, current: LoopState | null): LoopState | null {
  const limit = policy.loopLimit;
  if (limit === undefined || limit === 'off') return null;
  return current ?? { entries: [] };
}

/** The budget's own loop limit, or undefined when it detects no loops of its own. */
export function loopLimitOf(b: Pick<BudgetRecord, 'policy' | 'loops'>): LoopLimit | undefined {
  const limit = b.policy.loopLimit;
  return b.loops === null || limit === undefined || limit === 'off' ? undefined : limit;
}

function windowOpen(e: LoopEntry, windowMs: number, nowMs: number): boolean {
  return nowMs < e.firstMs + windowMs;
}

/** Where a fingerprint sits, looking from the most recently seen; -1 when it is not kept. */
function indexOf(state: LoopState, fingerprint: string): number {
  for (let i = state.entries.length - 1; i >= 0; i -= 1) if (state.entries[i]?.fingerprint === fingerprint) return i;
  return -1;
}

/**
 * The fingerprint's entry when its window already holds `repeats` reservations at `nowMs`, so
 * that one more would be a loop; undefined otherwise.
 *
 * @example
 * loopRepeat(state, { repeats: 20, windowMs: 600_000 }, 'q1w2e3r4t5y6u7i8', nowMs)?.firstSeq // 12
 */
export function loopRepeat(state: LoopState, limit: LoopLimit, fingerprint: string, nowMs: number): LoopEntry | undefined {
  const e = state.entries[indexOf(state, fingerprint)];
  if (!e || !windowOpen(e, limit.windowMs, nowMs) || e.count < limit.repeats) return undefined;
  return e;
}

function entryText(e: LoopEntry): string {
  return JSON.stringify([e.fingerprint, e.count, e.firstMs, e.firstSeq, e.lastSeq]);
}

/** Makes room for one more entry: those whose window has passed go first, then the least recently seen. */
function evict(state: LoopState, windowMs: number, nowMs: number): void {
  const max = limits.loopFingerprintsPerBudgetMax;
  if (state.entries.length < max) return;
  state.entries = state.entries.filter((e) => windowOpen(e, windowMs, nowMs));
  if (state.entries.length >= max) state.entries.splice(0, state.entries.length - max + 1);
}

/** Counts reservation `seq`, made at `nowMs` with `fingerprint`, and makes it the most recently seen. */
export function loopAdd(state: LoopState, windowMs: number, fingerprint: string, nowMs: number, seq: number): void {
  const i = indexOf(state, fingerprint);
  let e = state.entries[i];
  if (e) {
    state.entries.splice(i, 1);
    if (windowOpen(e, windowMs, nowMs)) {
      e.count += 1;
      e.lastSeq = seq;
    } else {
      Object.assign(e, { count: 1, firstMs: nowMs, firstSeq: seq, lastSeq: seq });
    }
  } else {
    evict(state, windowMs, nowMs);
    e = { fingerprint, count: 1, firstMs: nowMs, firstSeq: seq, lastSeq: seq, text: '' };
  }
  e.text = entryText(e);
  state.entries.push(e);
  state.text = undefined;
}

/** Forgets every fingerprint (a breaker reset by hand). */
export function loopClear(state: LoopState | null): void {
  if (state === null) return;
  state.entries = [];
  state.text = undefined;
}

/**
 * The stored form of a loop state (null for none), built from the entries' cached texts.
 *
 * @example
 * loopsText({ entries: [] }) // '[]'
 */
export function loopsText(state: LoopState | null): string | null {
  if (state === null) return null;
  if (state.text === undefined) {
    let text = '[';
    for (let i = 0; i < state.entries.length; i += 1) text += (i > 0 ? ',' : '') + (state.entries[i]?.text ?? '');
    state.text = `${text}]`;
  }
  return state.text;
}

/**
 * A loop state from its stored form.
 *
 * @example
 * loopsFromText('[["q1w2e3r4t5y6u7i8",3,1769900000000,12,40]]').entries[0]?.count // 3
 */
export function loopsFromText(text: string): LoopState {
  const rows = JSON.parse(text) as unknown;
  assert(Array.isArray(rows), 'a stored loop state is not a list');
  const entries = rows.map((row): LoopEntry => {
    assert(Array.isArray(row) && row.length === 5 && typeof row[0] === 'string', 'a stored loop entry is not [fingerprint, count, firstMs, firstSeq, lastSeq]');
    const [fingerprint, count, firstMs, firstSeq, lastSeq] = row as [string, number, number, number, number];
    return { fingerprint, count, firstMs, firstSeq, lastSeq, text: JSON.stringify(row) };
  });
  return { entries, text };
}

/** Loop detection on a budget as readers see it at a moment. */
export interface LoopView {
  repeats: number;
  windowMs: number;
  /** Fingerprints whose window is open. */
  tracked: number;
  /** The fingerprint with the most reservations in its window, if any. */
  mostRepeated: { fingerprint: string; count: number; firstSeq: number; lastSeq: number } | null;
}

/** The budget's loop detection at `nowMs`, or null when it has no loop limit of its own. */
export function loopView(b: Pick<BudgetRecord, 'policy' | 'loops'>, nowMs: number): LoopView | null {
  const limit = loopLimitOf(b);
  if (!limit || !b.loops) return null;
  let tracked = 0;
  let top: LoopEntry | undefined;
  for (const e of b.loops.entries) {
    if (!windowOpen(e, limit.windowMs, nowMs)) continue;
    tracked += 1;
    if (!top || e.count > top.count) top = e;
  }
  const mostRepeated = top ? { fingerprint: top.fingerprint, count: top.count, firstSeq: top.firstSeq, lastSeq: top.lastSeq } : null;
  return { repeats: limit.repeats, windowMs: limit.windowMs, tracked, mostRepeated };
}
