import type { ServerResponse } from 'node:http';
import { limits, type LedgerEntry, type RefusalWrite } from '../core/index.js';
import { encodeCursor, type Store } from '../store/index.js';
// The store's cursor is opaque to clients; resuming "after sequence N" needs its encoding.
import { BudgetIndex } from '../ops/index.js';
import { WireError, entryToJson, refusalToJson } from '../contract/index.js';
import { apiLimits } from './limits.js';

/**
 * Server-Sent Events of the ledger: every committed entry, as it commits, to every open
 * stream. One store subscription feeds all streams. Each event is
 *
 *     id: <seq>
 *     event: ledger
 *     data: <the entry as in GET /api/ledger>
 *
 * A client that reconnects with `Last-Event-ID: <seq>` (EventSource does so itself) first gets
 * the entries after that sequence from the ledger, then the live ones, without gaps or
 * repeats. If more than `apiLimits.sseReplayEntriesMax` were missed, an `event: gap` says
 * which sequences were skipped (read them from GET /api/ledger). A comment line every
 * `heartbeatMs` keeps proxies from closing an idle stream. A client that cannot keep up (more
 * than `sseClientBufferBytesMax` unsent) is disconnected; it resumes with Last-Event-ID.
 *
 * Refused spend arrives too, as it is recorded (at most once a second for the same refusal,
 * with its count so far), as `event: refusal` with the refusal as in GET /api/refusals and no
 * `id:`: refusals are not ledger entries, so they are not replayed on resume.
 */

interface Client {
  res: ServerResponse;
  /** Highest sequence sent; later events with a lower or equal one are skipped. */
  lastSeq: number;
  /** False while the backlog is replayed; live entries wait in `pending` meanwhile. */
  live: boolean;
  pending: LedgerEntry[];
  heartbeat: NodeJS.Timeout;
}

export interface EventHubOptions {
  heartbeatMs?: number;
  /** Entries replayed to a resuming client before a `gap` (default `apiLimits.sseReplayEntriesMax`). */
  replayEntriesMax?: number;
  /** Sent as the `retry:` field: how long EventSource waits before reconnecting. */
  retryMs?: number;
  /** Recorded refusals to send as `event: refusal` (a `RefusalRecorder`). */
  refusals?: { subscribe(listener: (row: RefusalWrite) => void): () => void };
}

/**
 * Fans committed ledger entries out to open event streams.
 *
 * @example
 * const hub = new EventHub(store);
 * reply.hijack(); writeSseHead(reply.raw); await hub.open(reply.raw, lastEventId);
 */
export class EventHub {
  private readonly clients = new Set<Client>();
  private queue: LedgerEntry[] = [];
  private draining = false;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeRefusals: () => void;
  private readonly heartbeatMs: number;
  private readonly retryMs: number;
  private readonly replayEntriesMax: number;
  /** Budget paths for live entries, reloaded only when an entry names a new or moved budget. */
  private index: BudgetIndex | undefined;

  constructor(
    private readonly store: Store,
    options: EventHubOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? apiLimits.sseHeartbeatMs;
    this.retryMs = options.retryMs ?? 3_000;
    this.replayEntriesMax = options.replayEntriesMax ?? apiLimits.sseReplayEntriesMax;
    this.unsubscribe = store.subscribe((entries) => this.onCommit(entries));
    this.unsubscribeRefusals = options.refusals?.subscribe((row) => this.onRefusal(row)) ?? (() => undefined);
  }

  /** Open streams. */
  get size(): number {
    return this.clients.size;
  }

  /** Refuses one more stream when `apiLimits.sseClientsMax` are open. */
  checkCapacity(): void {
    if (this.clients.size >= apiLimits.sseClientsMax) {
      throw new WireError('too_many_streams', `${this.clients.size} event streams are open, the most this server allows; try again later`);
    }
  }

  /**
   * Streams to `res` (whose head is written) until it closes: first the entries after
   * `afterSeq` (when given), then live ones.
   */
  async open(res: ServerResponse, afterSeq?: number): Promise<void> {
    const c: Client = { res, lastSeq: afterSeq ?? 0, live: false, pending: [], heartbeat: setInterval(() => this.write(c, ': heartbeat\n\n'), this.heartbeatMs) };
    c.heartbeat.unref();
    this.clients.add(c);
    res.on('close', () => this.remove(c));
    this.write(c, `retry: ${this.retryMs}\n\n`);
    try {
      if (afterSeq !== undefined) await this.replay(c, afterSeq);
      // Entries committed during the replay waited in `pending`; send them, then go live. The
      // last check and `live = true` run without an await between them, so nothing slips past.
      let batch = c.pending.splice(0);
      while (batch.length > 0 && this.clients.has(c)) {
        this.send(c, batch, await this.indexFor(batch));
        batch = c.pending.splice(0);
      }
      c.live = true;
    } catch (error) {
      this.write(c, `event: error\ndata: ${JSON.stringify({ code: 'store_unavailable', message: (error as Error).message })}\n\n`);
      this.end(c);
    }
  }

  /** Ends every stream and stops listening to the store. */
  close(): void {
    this.unsubscribe();
    this.unsubscribeRefusals();
    for (const c of [...this.clients]) this.end(c);
  }

  /** A refusal goes to every stream at once: it has no place in the ledger's order. */
  private onRefusal(row: RefusalWrite): void {
    if (this.clients.size === 0) return;
    const text = `event: refusal\ndata: ${JSON.stringify(refusalToJson(row))}\n\n`;
    for (const c of [...this.clients]) this.write(c, text);
  }

  private onCommit(entries: readonly LedgerEntry[]): void {
    if (this.clients.size === 0) return;
    this.queue.push(...entries);
    if (this.queue.length > apiLimits.sseQueueEntriesMax) {
      // Far behind: drop every stream rather than hold more; clients resume from the ledger.
      this.queue = [];
      for (const c of [...this.clients]) this.end(c);
      return;
    }
    void this.drain();
  }

  /** Sends queued entries in commit order, one batch at a time. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.queue.length);
        const index = await this.indexFor(batch);
        for (const c of [...this.clients]) this.deliver(c, batch, index);
      }
    } catch {
      // The store cannot be read: end the streams; clients resume when it is back.
      for (const c of [...this.clients]) this.end(c);
    } finally {
      this.draining = false;
    }
  }

  /** The budget index, reloaded when `entries` name a budget it lacks or move one. */
  private async indexFor(entries: readonly LedgerEntry[]): Promise<BudgetIndex> {
    const index = this.index;
    if (index && entries.every((e) => index.has(e.budgetId) && e.kind !== 'budget_moved')) return index;
    this.index = await BudgetIndex.load(this.store);
    return this.index;
  }

  private deliver(c: Client, entries: readonly LedgerEntry[], index: BudgetIndex): void {
    if (!c.live) {
      c.pending.push(...entries);
      if (c.pending.length > this.replayEntriesMax) this.end(c);
      return;
    }
    this.send(c, entries, index);
  }

  private send(c: Client, entries: readonly LedgerEntry[], index: BudgetIndex): void {
    for (const e of entries) {
      if (e.seq <= c.lastSeq) continue;
      this.write(c, `id: ${e.seq}\nevent: ledger\ndata: ${JSON.stringify(entryToJson(e, index.pathOf(e.budgetId)))}\n\n`);
      c.lastSeq = e.seq;
    }
  }

  /** Sends the entries after `afterSeq` from the ledger, at most `sseReplayEntriesMax`. */
  private async replay(c: Client, afterSeq: number): Promise<void> {
    let cursor = encodeCursor(afterSeq);
    let sent = 0;
    for (;;) {
      const page = await this.store.ledger({ cursor, order: 'asc', limit: Math.min(limits.ledgerPageMax, this.replayEntriesMax - sent) });
      this.send(c, page.entries, await this.indexFor(page.entries));
      sent += page.entries.length;
      if (page.nextCursor === null || this.clients.has(c) === false) return;
      if (sent >= this.replayEntriesMax) break;
      cursor = page.nextCursor;
    }
    const head = (await this.store.ledger({ order: 'desc', limit: 1 })).entries[0]?.seq ?? c.lastSeq;
    this.write(c, `event: gap\ndata: ${JSON.stringify({ from_seq: c.lastSeq + 1, to_seq: head, message: 'too many entries to replay; read these from GET /api/ledger' })}\n\n`);
    c.lastSeq = Math.max(c.lastSeq, head);
  }

  private write(c: Client, text: string): void {
    if (c.res.destroyed || c.res.writableEnded) return this.remove(c);
    if (c.res.writableLength > apiLimits.sseClientBufferBytesMax) {
      c.res.destroy();
      return this.remove(c);
    }
    c.res.write(text);
  }

  private end(c: Client): void {
    if (!c.res.writableEnded) c.res.end();
    this.remove(c);
  }

  private remove(c: Client): void {
    clearInterval(c.heartbeat);
    this.clients.delete(c);
  }
}

/**
 * Writes the head of an event stream.
 *
 * @example
 * reply.hijack(); writeSseHead(reply.raw);
 */
export function writeSseHead(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
}
