import type pg from 'pg';
import type { LedgerEntry } from '../../core/index.js';
import { postgresLimits } from './postgres-limits.js';

/** What the event feed needs from its store. */
export interface PgEventsDeps {
  /** Hands entries to the store's subscribers. */
  deliver(entries: readonly LedgerEntry[]): void;
  /** Ledger entries with `afterSeq < seq <= uptoSeq`, in order, at most `max`. */
  fetch(afterSeq: number, uptoSeq: number, max: number): Promise<LedgerEntry[]>;
  /** A connected client for LISTEN (its errors are the feed's to handle). */
  connect(): Promise<pg.Client>;
  /** The committed head sequence. */
  headSeq(client: pg.Client): Promise<number>;
  channel: string;
}

/**
 * Delivers every committed ledger entry, from this process and from others, to subscribers
 * in global sequence order and without duplicates. Local commits that follow on from what was
 * delivered go out at once; anything else (other processes' entries, announced by NOTIFY with
 * the new head sequence, or a local commit whose answer was lost) is fetched from the ledger
 * first. LISTEN starts with the first subscriber and reconnects by itself after failures.
 */
export class PgEvents {
  private deliveredSeq: number;
  private targetSeq: number;
  /** What had been delivered when the first subscriber came (see `listen`). */
  private deliveredAtFirstSubscriber: number | undefined;
  private readonly stash = new Map<number, LedgerEntry>();
  private subscribers = 0;
  private pumping = false;
  private listener: pg.Client | undefined;
  /** `connecting` or `listening` while a LISTEN connection is (being) held. */
  private state: 'idle' | 'connecting' | 'listening' = 'idle';
  private everListened = false;
  private retryMs: number = postgresLimits.eventRetryMsMin;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly deps: PgEventsDeps,
    startSeq: number,
  ) {
    this.deliveredSeq = startSeq;
    this.targetSeq = startSeq;
  }

  /** Subscribers are owed entries after `seq` (the head when the store opened). */
  startAt(seq: number): void {
    this.advance(seq);
  }

  /** Entries this process just committed. */
  local(entries: readonly LedgerEntry[]): void {
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (!first || !last) return;
    if (this.subscribers === 0) return this.advance(last.seq);
    if (last.seq <= this.deliveredSeq) return;
    if (first.seq === this.deliveredSeq + 1) {
      this.deliveredSeq = last.seq;
      this.targetSeq = Math.max(this.targetSeq, last.seq);
      this.deps.deliver(entries);
      if (this.stash.size > 0) this.kick();
      return;
    }
    if (this.stash.size + entries.length > postgresLimits.eventStashEntriesMax) {
      // Fetching cannot keep up: give up on the gap rather than hold memory without bound.
      this.stash.clear();
      this.deliveredSeq = first.seq - 1;
    }
    for (const e of entries) this.stash.set(e.seq, e);
    this.targetSeq = Math.max(this.targetSeq, last.seq);
    this.kick();
  }

  /** True while the LISTEN connection is up: from then on no committed entry is missed. */
  get listening(): boolean {
    return this.state === 'listening';
  }

  subscriberAdded(): void {
    this.subscribers += 1;
    this.deliveredAtFirstSubscriber ??= this.deliveredSeq;
    if (this.state === 'idle' && !this.timer && !this.closed) this.listen().catch(() => this.lost(undefined));
  }

  subscriberRemoved(): void {
    this.subscribers = Math.max(0, this.subscribers - 1);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.stopHeartbeat();
    const client = this.listener;
    this.listener = undefined;
    this.state = 'idle';
    if (client) await client.end().catch(() => undefined);
  }

  /** Moves past entries nobody is subscribed to. */
  private advance(seq: number): void {
    this.deliveredSeq = Math.max(this.deliveredSeq, seq);
    this.targetSeq = Math.max(this.targetSeq, seq);
    this.stash.clear();
  }

  private notified(seq: number): void {
    if (!Number.isSafeInteger(seq)) return;
    if (this.subscribers === 0) return this.advance(seq);
    this.targetSeq = Math.max(this.targetSeq, seq);
    this.kick();
  }

  /** Starts a pump; it handles its own failures, and one that escapes is retried like them. */
  private kick(): void {
    this.pump().catch(() => this.retryLater(() => this.pump()));
  }

  private async listen(): Promise<void> {
    if (this.closed || this.state !== 'idle') return;
    this.state = 'connecting';
    let client: pg.Client | undefined;
    try {
      client = await this.deps.connect();
      this.listener = client;
      client.on('notification', (msg) => {
        if (msg.channel === this.deps.channel) this.notified(Number(msg.payload));
      });
      client.on('error', () => this.lost(client));
      client.on('end', () => this.lost(client));
      await client.query(`LISTEN ${client.escapeIdentifier(this.deps.channel)}`);
      const head = await this.deps.headSeq(client);
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.state = 'listening';
      this.retryMs = postgresLimits.eventRetryMsMin;
      // Entries committed elsewhere before the feed first listened are not owed to anyone, unless
      // delivery has already begun (then skipping would leave a hole).
      if (!this.everListened && !this.pumping && this.stash.size === 0 && this.deliveredSeq === this.deliveredAtFirstSubscriber) this.advance(head);
      this.everListened = true;
      this.startHeartbeat(client);
      this.notified(head);
    } catch {
      this.lost(client);
    }
  }

  /** The LISTEN connection failed: drop it and try again after a growing pause. */
  private lost(client: pg.Client | undefined): void {
    if (client && this.listener !== client) return;
    this.listener = undefined;
    this.state = 'idle';
    this.stopHeartbeat();
    if (client) client.end().catch(() => undefined);
    this.retryLater(() => this.listen());
  }

  /**
   * A LISTEN connection can die silently (a network partition sends no error). Asking for the
   * head now and then finds that out, and also catches any notification that went missing.
   */
  private startHeartbeat(client: pg.Client): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      this.deps.headSeq(client).then(
        (seq) => this.notified(seq),
        () => this.lost(client),
      );
    }, postgresLimits.eventHeartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private retryLater(run: () => Promise<void>): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      run().catch(() => this.lost(this.listener));
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, postgresLimits.eventRetryMsMax);
  }

  /** Delivers everything up to `targetSeq`, from the stash or fetched, one pump at a time. */
  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      while (this.deliveredSeq < this.targetSeq && !this.closed && this.subscribers > 0) {
        if (this.fromStash()) continue;
        const stashed = this.lowestStashed();
        const upto = Math.min(this.targetSeq, stashed - 1, this.deliveredSeq + postgresLimits.ledgerFetchRowsMax);
        const rows = await this.deps.fetch(this.deliveredSeq, upto, postgresLimits.ledgerFetchRowsMax);
        // A local commit may have moved delivery on while the fetch was out.
        if (this.deliveredSeq >= upto) continue;
        if (!this.deliverFetched(rows)) throw new Error(`ledger entries after ${this.deliveredSeq} are not readable yet`);
      }
      this.retryMs = postgresLimits.eventRetryMsMin;
    } catch {
      // The database is unreachable (or behind): try again later; nothing is skipped.
      this.retryLater(async () => {
        if (this.state === 'idle') await this.listen();
        else await this.pump();
      });
    } finally {
      this.pumping = false;
    }
  }

  /** Delivers the run of stashed entries that follows on; false when there is none. */
  private fromStash(): boolean {
    for (const seq of this.stash.keys()) if (seq <= this.deliveredSeq) this.stash.delete(seq);
    const run: LedgerEntry[] = [];
    for (let e = this.stash.get(this.deliveredSeq + 1); e; e = this.stash.get(this.deliveredSeq + 1)) {
      this.stash.delete(e.seq);
      run.push(e);
      this.deliveredSeq = e.seq;
    }
    if (run.length > 0) this.deps.deliver(run);
    return run.length > 0;
  }

  private lowestStashed(): number {
    let low = Infinity;
    for (const seq of this.stash.keys()) if (seq < low) low = seq;
    return low;
  }

  /** Delivers fetched rows that follow on from what was delivered; false if none did. */
  private deliverFetched(rows: readonly LedgerEntry[]): boolean {
    const run: LedgerEntry[] = [];
    for (const e of rows) {
      if (e.seq <= this.deliveredSeq) continue;
      if (e.seq !== this.deliveredSeq + 1) break;
      run.push(e);
      this.deliveredSeq = e.seq;
    }
    if (run.length > 0) this.deps.deliver(run);
    return run.length > 0 || rows.some((e) => e.seq <= this.deliveredSeq);
  }
}
