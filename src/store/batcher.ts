import { limits, refuse, type Command, type CommandResult, type LedgerEntry } from '../core/index.js';
import { StoreUnavailableError } from './store.js';

/** What a sweep-only submission (a null command) resolves with. */
export interface SweepOk {
  ok: true;
  expired: number;
}

export type BatchResult = CommandResult | SweepOk;

export interface BatchOutcome {
  /** One result per command; a null command gets a `SweepOk`. */
  results: BatchResult[];
  entries: LedgerEntry[];
}

interface Pending {
  cmd: Command | null;
  resolve: (result: BatchResult) => void;
  reject: (error: unknown) => void;
}

/** Commands that resolve or stop what exists already: never refused for a full queue. */
const resolving: ReadonlySet<Command['type']> = new Set(['settle', 'void', 'revokeToken']);

/**
 * Group commit: every command submitted in one event-loop turn runs in one store transaction,
 * and each caller is answered only after that transaction commits. One batch is in flight at a
 * time; commands arriving meanwhile form the next batch. The queue is bounded
 * (`limits.commitQueueOpsMax`): past it, new work is refused at once with `store_unavailable`
 * instead of waiting behind a store that cannot keep up.
 */
export class GroupCommitter {
  /**
   * Batches that may be committing at once. One (the default) when a batch runs on the calling
   * thread; a store that commits elsewhere computes the next batch while earlier ones commit.
   */
  maxInFlight = 1;
  /**
   * Whether a batch of this many queued operations may start while others are still committing
   * (default: always, up to `maxInFlight`); otherwise it waits for them.
   */
  overlaps: (queued: number) => boolean = () => true;
  /**
   * Operations one batch takes at most (default `limits.batchOpsMax`). When batches may overlap,
   * what is left forms the next batch as soon as this one is computed.
   */
  batchOpsMax: number = limits.batchOpsMax;
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly runBatch: (cmds: readonly (Command | null)[]) => BatchOutcome | Promise<BatchOutcome>,
    private readonly onCommit: (entries: readonly LedgerEntry[]) => void,
  ) {}

  /** Queues a command (null: just run the expiry sweep) and resolves with its result. */
  submit(cmd: Command | null): Promise<BatchResult> {
    if (cmd !== null && !resolving.has(cmd.type) && this.queue.length >= limits.commitQueueOpsMax) {
      return Promise.resolve(refuse('store_unavailable', `the ledger is ${this.queue.length} operations behind, its most; nothing was recorded, try again shortly`));
    }
    return new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ cmd, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every submitted command has been answered. */
  drain(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private idle(): boolean {
    return this.inFlight === 0 && !this.scheduled && this.queue.length === 0;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // runAndAnswer answers every command, failures included; this only guards against a bug.
      this.flush().catch((error: unknown) => this.failQueued(error));
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    if (this.inFlight > 0 && !this.overlaps(this.queue.length)) return;
    this.inFlight += 1;
    const batch = this.queue.splice(0, Math.min(this.batchOpsMax, limits.batchOpsMax));
    if (this.queue.length > 0) this.schedule();
    try {
      await this.runAndAnswer(batch);
    } finally {
      this.inFlight -= 1;
      if (this.queue.length > 0) this.schedule();
      else if (this.idle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async runAndAnswer(batch: Pending[]): Promise<void> {
    try {
      const outcome = await this.runBatch(batch.map((p) => p.cmd));
      this.deliver(outcome.entries);
      batch.forEach((p, i) => p.resolve(outcome.results[i] ?? refuse('store_unavailable', 'no result')));
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        const refusal = refuse('store_unavailable', `the ledger store is unavailable: ${error.message}`);
        for (const p of batch) p.resolve(refusal);
        return;
      }
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // A bug in one command must not fail the others: run each alone.
      for (const p of batch) await this.runAndAnswer([p]);
    }
  }

  /** Rejects everything still queued, so that no caller waits forever. */
  private failQueued(error: unknown): void {
    for (const p of this.queue.splice(0)) p.reject(error);
  }

  private deliver(entries: readonly LedgerEntry[]): void {
    if (entries.length === 0) return;
    try {
      this.onCommit(entries);
    } catch {
      // A listener's failure must not turn a committed write into an error.
    }
  }
}
