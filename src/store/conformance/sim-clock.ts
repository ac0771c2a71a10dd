import type { Clock } from '../store.js';

/** A clock that moves only when told to: every test that involves time uses one. */
export class SimClock implements Clock {
  constructor(private ms: number) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(ms: number): void {
    this.ms = Math.max(this.ms, ms);
  }
}
