import type Database from 'better-sqlite3';
import {
  claimedFromRow,
  deliveryFromRow,
  webhookFromRow,
  type AttemptRecord,
  type ClaimedDelivery,
  type ClaimRequest,
  type Delivery,
  type DeliveryState,
  type StoredWebhook,
  type WebhookRecord,
  type WebhookStore,
} from '../webhooks.js';
import type { Row } from '../rows.js';

/**
 * How long the deliverer's bookkeeping waits for another process's write lock. It runs on the
 * same connection as the ledger (a second one would make every ledger read reload its cache),
 * so it must never hold the event loop the way a reservation may: busy now means "next round".
 */
const deliveryBusyTimeoutMs = 50;

const withPending = `SELECT w.*, (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.state = 'pending') AS pending FROM webhooks w`;

function eventsOf(value: unknown): string[] | null {
  return typeof value === 'string' ? (JSON.parse(value) as string[]) : null;
}

/**
 * Queues one event (an `OutboxEvent`, as named parameters) for every webhook that wants it. The
 * store runs it among the writes of the ledger transaction that wrote the event's entry, on
 * whichever connection commits that transaction (its own, or the writer thread's).
 */
export const outboxInsertSql = `INSERT OR IGNORE INTO webhook_outbox (webhook_id, event_id, kind, facts, created_ms, next_attempt_ms)
  SELECT w.id, @eventId, @kind, @facts, @createdMs, @createdMs FROM webhooks w
  WHERE w.events IS NULL OR EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = @kind)`;

/**
 * The webhooks and outbox of a SQLite store, on the store's own connection, each in a
 * transaction of its own (the outbox rows of ledger events are written by the store with their
 * entries, `outboxInsertSql`).
 */
export class SqliteWebhooks implements WebhookStore {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    /** Runs `fn` if the store is open, mapping driver errors as the store's reads do. */
    private readonly run: <T>(fn: () => T) => Promise<T>,
  ) {
    this.stmt = {
      count: db.prepare('SELECT count(*) FROM webhooks').pluck(),
      insert: db.prepare('INSERT INTO webhooks (id, url, events, secret, created_ms) VALUES (?, ?, ?, ?, ?)'),
      list: db.prepare(`${withPending} ORDER BY w.created_ms, w.id`),
      get: db.prepare(`${withPending} WHERE w.id = ?`),
      dropPending: db.prepare("DELETE FROM webhook_outbox WHERE webhook_id = ? AND state = 'pending'"),
      dropAll: db.prepare('DELETE FROM webhook_outbox WHERE webhook_id = ?'),
      delete: db.prepare('DELETE FROM webhooks WHERE id = ?'),
      anyDue: db.prepare("SELECT 1 FROM webhook_outbox WHERE state = 'pending' AND next_attempt_ms <= @nowMs AND (locked_until_ms IS NULL OR locked_until_ms <= @nowMs) LIMIT 1").pluck(),
      lease: db.prepare(
        `UPDATE webhook_outbox SET locked_until_ms = @untilMs, claim = @claim, attempts = attempts + 1
         WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_attempt_ms <= @nowMs
                      AND (locked_until_ms IS NULL OR locked_until_ms <= @nowMs) ORDER BY next_attempt_ms, id LIMIT @max)`,
      ),
      claimed: db.prepare('SELECT o.*, w.url, w.secret FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id WHERE o.claim = ? ORDER BY o.next_attempt_ms, o.id'),
      attempt: db.prepare(
        `UPDATE webhook_outbox SET state = @state, next_attempt_ms = @nextAttemptMs, locked_until_ms = NULL, claim = NULL, last_status = @status, last_error = @error,
         done_ms = CASE WHEN @state = 'pending' THEN NULL ELSE @atMs END WHERE id = @id AND claim = @claim`,
      ),
      stats: db.prepare(
        `UPDATE webhooks SET last_attempt_ms = @atMs, last_status = @status, last_error = @error,
         last_delivered_ms = CASE WHEN @state = 'delivered' THEN @atMs ELSE last_delivered_ms END,
         delivered_count = delivered_count + (@state = 'delivered'), failed_count = failed_count + (@state = 'failed') WHERE id = @webhookId`,
      ),
      deliveries: db.prepare('SELECT * FROM webhook_outbox WHERE webhook_id = @webhookId AND (@state IS NULL OR state = @state) ORDER BY id DESC LIMIT @limit'),
      pending: db.prepare("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'").pluck(),
      prune: db.prepare("DELETE FROM webhook_outbox WHERE state <> 'pending' AND done_ms < ?"),
    };
  }

  add(record: WebhookRecord, max: number): Promise<boolean> {
    return this.run(() =>
      this.db.transaction(() => {
        if (Number(this.stmt.count.get()) >= max) return false;
        this.stmt.insert.run(record.id, record.url, record.events === null ? null : JSON.stringify(record.events), record.secret, record.createdMs);
        return true;
      }).immediate(),
    );
  }

  list(): Promise<StoredWebhook[]> {
    return this.run(() => (this.stmt.list.all() as Row[]).map((r) => webhookFromRow(r, eventsOf(r.events))));
  }

  get(id: string): Promise<StoredWebhook | undefined> {
    return this.run(() => {
      const r = this.stmt.get.get(id) as Row | undefined;
      return r && webhookFromRow(r, eventsOf(r.events));
    });
  }

  remove(id: string): Promise<{ dropped: number } | undefined> {
    return this.run(() =>
      this.db.transaction(() => {
        const dropped = this.stmt.dropPending.run(id).changes;
        this.stmt.dropAll.run(id);
        return this.stmt.delete.run(id).changes === 0 ? undefined : { dropped };
      }).immediate(),
    );
  }

  claim(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    return this.run(() => {
      // A read first: an idle deliverer never takes the write lock.
      if (this.stmt.anyDue.get({ nowMs: request.nowMs }) === undefined) return [];
      return this.briefly(() => {
        this.stmt.lease.run({ nowMs: request.nowMs, untilMs: request.nowMs + request.leaseMs, claim: request.claim, max: request.max });
        return (this.stmt.claimed.all(request.claim) as Row[]).map(claimedFromRow);
      });
    });
  }

  record(a: AttemptRecord): Promise<boolean> {
    return this.run(() =>
      this.briefly(() =>
        this.db.transaction(() => {
          const values = { id: a.id, claim: a.claim, state: a.state, nextAttemptMs: a.nextAttemptMs, status: a.status, error: a.error, atMs: a.atMs, webhookId: a.webhookId };
          if (this.stmt.attempt.run(values).changes === 0) return false;
          this.stmt.stats.run(values);
          return true;
        }).immediate(),
      ),
    );
  }

  deliveries(query: { webhookId: string; state?: DeliveryState; limit: number }): Promise<Delivery[]> {
    return this.run(() => (this.stmt.deliveries.all({ webhookId: query.webhookId, state: query.state ?? null, limit: query.limit }) as Row[]).map(deliveryFromRow));
  }

  pendingCount(): Promise<number> {
    return this.run(() => Number(this.stmt.pending.get()));
  }

  prune(beforeMs: number): Promise<number> {
    return this.run(() => this.briefly(() => this.stmt.prune.run(beforeMs).changes));
  }

  /** Runs a write of the deliverer's with a short lock wait, then restores the connection's own. */
  private briefly<T>(fn: () => T): T {
    const usual = Number(this.db.pragma('busy_timeout', { simple: true }));
    this.db.pragma(`busy_timeout = ${deliveryBusyTimeoutMs}`);
    try {
      return fn();
    } finally {
      this.db.pragma(`busy_timeout = ${usual}`);
    }
  }
}
