/**
 * The calls a server has in flight, so that a stopping server can let them finish for a while
 * and then cut the rest (each cut call settles what was generated before it ends).
 *
 * @example
 * const untrack = calls.track(abort);
 * try { await relay(); } finally { untrack(); }
 * await calls.drain(20_000); // on SIGTERM
 */
export class CallTracker {
  private readonly calls = new Set<{ abort(): void }>();
  private waiters: (() => void)[] = [];
  private stopping = false;

  /** True once `drain` has begun: new calls are refused. */
  get draining(): boolean {
    return this.stopping;
  }

  /** Registers a call until the returned function is called. */
  track(abort: { abort(): void }): () => void {
    this.calls.add(abort);
    return () => {
      this.calls.delete(abort);
      if (this.calls.size === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  get size(): number {
    return this.calls.size;
  }

  /**
   * Stops new calls, waits up to `drainMs` for those in flight, then aborts the rest and waits
   * (up to `cutWaitMs`) for them to settle. Returns how many finished and how many were cut.
   */
  async drain(drainMs: number, cutWaitMs = 10_000): Promise<{ finished: number; cut: number }> {
    this.stopping = true;
    const before = this.calls.size;
    await this.idle(drainMs);
    const cut = this.calls.size;
    for (const abort of this.calls) abort.abort();
    await this.idle(cutWaitMs);
    return { finished: before - cut, cut };
  }

  private idle(ms: number): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}
