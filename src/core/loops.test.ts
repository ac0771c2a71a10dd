import { describe, expect, it } from 'vitest';
import { limits } from './limits.js';
import { loopAdd, loopClear, loopRepeat, loopsFromText, loopsText, loopView } from './loops.js';
import type { LoopState } from './types.js';

const limit = { repeats: 3, windowMs: 60_000 };
const t0 = 1_769_900_000_000;

describe('loop state', () => {
  it('counts a fingerprint from its first reservation until its window passes, then starts again', () => {
    // Proves the window opens at the first repeat and the count restarts after it, keeping the first and last reservations.
    const state: LoopState = { entries: [] };
    loopAdd(state, limit.windowMs, 'fpA', t0, 10);
    loopAdd(state, limit.windowMs, 'fpA', t0 + 30_000, 11);
    expect(loopRepeat(state, limit, 'fpA', t0 + 30_000)).toBeUndefined();
    loopAdd(state, limit.windowMs, 'fpA', t0 + 59_999, 12);
    expect(loopRepeat(state, limit, 'fpA', t0 + 59_999)).toMatchObject({ count: 3, firstSeq: 10, lastSeq: 12 });
    expect(loopRepeat(state, limit, 'fpA', t0 + 60_000)).toBeUndefined();
    loopAdd(state, limit.windowMs, 'fpA', t0 + 60_000, 13);
    expect(state.entries).toMatchObject([{ fingerprint: 'fpA', count: 1, firstMs: t0 + 60_000, firstSeq: 13, lastSeq: 13 }]);
  });

  it('keeps at most the bound of fingerprints, dropping those whose window passed, then the least recently seen', () => {
    // Proves the state stays bounded however many distinct requests a budget makes, and a repeating one stays tracked.
    const max = limits.loopFingerprintsPerBudgetMax;
    const state: LoopState = { entries: [] };
    loopAdd(state, limit.windowMs, 'old', t0, 1);
    for (let i = 0; i < max + 10; i += 1) {
      loopAdd(state, limit.windowMs, `fp${i}`, t0 + 1_000 + i, 100 + i);
      loopAdd(state, limit.windowMs, 'busy', t0 + 1_000 + i, 1_000 + i);
      expect(state.entries.length).toBeLessThanOrEqual(max);
    }
    expect(state.entries.at(-1)).toMatchObject({ fingerprint: 'busy', count: max + 10 });
    expect(state.entries.some((e) => e.fingerprint === 'old' || e.fingerprint === 'fp0')).toBe(false);
    loopAdd(state, limit.windowMs, 'fp20', t0 + 62_000, 2_000);
    // Every window but fp20's (opened again at 62 s) has passed a minute and a half in: they make room first.
    loopAdd(state, limit.windowMs, 'new', t0 + 90_000, 5_000);
    expect(state.entries.map((e) => e.fingerprint)).toEqual(['fp20', 'new']);
  });

  it('stores its text from cached entry texts, rebuilds it only after a change, and reads it back the same', () => {
    // Proves the stored form round-trips and a write of an unchanged state reuses its text.
    const state: LoopState = { entries: [] };
    loopAdd(state, limit.windowMs, 'fpA', t0, 7);
    loopAdd(state, limit.windowMs, 'fpB', t0 + 1, 8);
    loopAdd(state, limit.windowMs, 'fpA', t0 + 2, 9);
    const text = loopsText(state);
    expect(text).toBe(`[["fpB",1,${t0 + 1},8,8],["fpA",2,${t0},7,9]]`);
    expect(loopsText(state)).toBe(text);
    const back = loopsFromText(text ?? '');
    expect(back.entries.map((e) => [e.fingerprint, e.count, e.firstMs, e.firstSeq, e.lastSeq])).toEqual(state.entries.map((e) => [e.fingerprint, e.count, e.firstMs, e.firstSeq, e.lastSeq]));
    loopAdd(back, limit.windowMs, 'fpB', t0 + 3, 10);
    expect(loopsText(back)).toBe(`[["fpA",2,${t0},7,9],["fpB",2,${t0 + 1},8,10]]`);
    loopClear(back);
    expect(loopsText(back)).toBe('[]');
    expect(loopsText(null)).toBeNull();
  });

  it('shows the budget\'s limit, the fingerprints in their window and the most repeated one', () => {
    // Proves what `budgets show` reads.
    const state: LoopState = { entries: [] };
    loopAdd(state, limit.windowMs, 'fpA', t0, 1);
    loopAdd(state, limit.windowMs, 'fpB', t0 + 50_000, 2);
    loopAdd(state, limit.windowMs, 'fpB', t0 + 50_000, 3);
    const view = loopView({ policy: { loopLimit: limit }, loops: state }, t0 + 60_000);
    expect(view).toEqual({ repeats: 3, windowMs: 60_000, tracked: 1, mostRepeated: { fingerprint: 'fpB', count: 2, firstSeq: 2, lastSeq: 3 } });
    expect(loopView({ policy: { loopLimit: 'off' }, loops: null }, t0)).toBeNull();
  });
});
