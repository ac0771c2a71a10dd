import type { Clock } from '../../src/store/index.js';

/**
 * The system clock, moved forward on demand: time passes as usual, and a test skips past an
 * expiry or a TTL instead of sleeping through it. Give it to a store (`clock`), and a server
 * built on that store reads it too.
 *
 * @example
 * const clock = new OffsetClock();
 * const store = openSqliteStore({ path, clock });
 * clock.advance(ttlMs + 1); // the reservation is now past its TTL
 */
export class OffsetClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
