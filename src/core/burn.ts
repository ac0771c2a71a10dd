import { limits } from './limits.js';
import type { BurnLimit, Policy } from './policy.js';
import type { BurnWindow } from './types.js';

/**
 * Rolling-window spend of a budget, kept as a few integers per window so that every store
 * persists it with the budget and replay rebuilds it from the ledger. Pure: time comes in.
 */

const slices = limits.burnSlicesPerWindow;

/** Width of one slice of a window, in milliseconds. */
export function sliceMsOf(windowMs: number): number {
  return Math.ceil(windowMs / slices);
}

/** The first slice index still inside the window at `nowMs`. */
function oldestSlice(w: BurnWindow, nowMs: number): number {
  return Math.floor(nowMs / sliceMsOf(w.windowMs)) - slices + 1;
}

/** Drops the slices that have left the window at `nowMs` (times never go back). */
function prune(w: BurnWindow, nowMs: number): void {
  const oldest = oldestSlice(w, nowMs);
  let i = 0;
  while (i < w.slots.length && (w.slots[i] ?? 0) < oldest) i += 2;
  if (i > 0) w.slots.splice(0, i);
}

/**
 * The windows a policy's burn limits need, keeping what was counted for windows that stay;
 * null when the policy has no burn limits.
 *
 * @example
 * burnWindowsFor({ burnLimits: [{ amountMicros: 2_000_000, windowMs: 60_000 }] }, null) // [{ windowMs: 60000, slots: [] }]
 */
export function burnWindowsFor(policy: Policy, current: readonly BurnWindow[] | null): BurnWindow[] | null {
  const wanted = policy.burnLimits;
  if (!wanted || wanted.length === 0) return null;
  const windows = [...new Set(wanted.map((l) => l.windowMs))].sort((a, b) => a - b);
  return windows.map((windowMs) => current?.find((w) => w.windowMs === windowMs) ?? { windowMs, slots: [] });
}

/** The window of that length, or undefined (a loop: this runs on every reservation). */
export function windowOf(windows: readonly BurnWindow[] | null, windowMs: number): BurnWindow | undefined {
  if (windows === null) return undefined;
  for (const w of windows) if (w.windowMs === windowMs) return w;
  return undefined;
}

/** Counts `micros` committed at `nowMs` in every window. */
export function burnAdd(windows: BurnWindow[], nowMs: number, micros: number): void {
  for (const w of windows) {
    prune(w, nowMs);
    const slice = Math.floor(nowMs / sliceMsOf(w.windowMs));
    const n = w.slots.length;
    if (n > 0 && w.slots[n - 2] === slice) w.slots[n - 1] = (w.slots[n - 1] ?? 0) + micros;
    else w.slots.push(slice, micros);
  }
}

/**
 * Takes back `micros` counted at `atMs` (a hold released, or settled for less), where that
 * slice is still inside a window; never below zero.
 */
export function burnTakeBack(windows: BurnWindow[], nowMs: number, atMs: number, micros: number): void {
  for (const w of windows) {
    prune(w, nowMs);
    const slice = Math.floor(atMs / sliceMsOf(w.windowMs));
    for (let i = w.slots.length - 2; i >= 0; i -= 2) {
      if (w.slots[i] !== slice) continue;
      w.slots[i + 1] = Math.max(0, (w.slots[i + 1] ?? 0) - micros);
      break;
    }
  }
}

/**
 * Changes what a hold made at `atMs` counts by `deltaMicros`: more lands now, less is taken back
 * from the hold's own slice.
 */
export function burnAdjust(windows: BurnWindow[] | null, nowMs: number, atMs: number, deltaMicros: number): void {
  if (windows === null || deltaMicros === 0) return;
  if (deltaMicros > 0) burnAdd(windows, nowMs, deltaMicros);
  else burnTakeBack(windows, nowMs, atMs, -deltaMicros);
}

/** What a window holds at `nowMs`. */
export function burnInWindow(w: BurnWindow, nowMs: number): number {
  const oldest = oldestSlice(w, nowMs);
  let sum = 0;
  for (let i = 0; i < w.slots.length; i += 2) if ((w.slots[i] ?? 0) >= oldest) sum += w.slots[i + 1] ?? 0;
  return sum;
}

/**
 * How long until the window has room for `amountMicros` more under `limit`: the time at which
 * enough of its oldest slices have left it. The whole window when the amount alone is too much.
 */
export function burnFreeInMs(w: BurnWindow, limit: BurnLimit, nowMs: number, amountMicros: number): number {
  const over = burnInWindow(w, nowMs) + amountMicros - limit.amountMicros;
  if (over <= 0) return 0;
  const sliceMs = sliceMsOf(w.windowMs);
  const oldest = oldestSlice(w, nowMs);
  let freed = 0;
  for (let i = 0; i < w.slots.length; i += 2) {
    const slice = w.slots[i] ?? 0;
    if (slice < oldest) continue;
    freed += w.slots[i + 1] ?? 0;
    if (freed >= over) return (slice + slices) * sliceMs - nowMs;
  }
  return w.windowMs;
}

/**
 * A window length as people write it: `1m`, `90s`, `1h`, `1d`, or milliseconds.
 *
 * @example
 * formatWindow(60_000) // '1m'
 */
export function formatWindow(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
