import type pg from 'pg';
import { StoreUnavailableError } from '../store.js';
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
import { asStoreError } from './postgres-errors.js';

const withPending = `SELECT w.*, (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.state = 'pending') AS pending FROM webhooks w`;

/**
 * Leases due deliveries: `FOR UPDATE SKIP LOCKED` keeps two processes claiming at once off each
 * other's rows, and `locked_until_ms` keeps a claimed row from every other claimant until its
 * lease runs out (when its claimant died mid-attempt, someone else then tries again).
 */
const claimSql = `
WITH due AS (
  SELECT id FROM webhook_outbox
  WHERE state = 'pending' AND next_attempt_ms <= $1 AND (locked_until_ms IS NULL OR locked_until_ms <= $1)
  ORDER BY next_attempt_ms, id LIMIT $3 FOR UPDATE SKIP LOCKED)
UPDATE webhook_outbox o SET locked_until_ms = $2, claim = $4, attempts = o.attempts + 1
FROM due, webhooks w WHERE o.id = due.id AND w.id = o.webhook_id
RETURNING o.*, w.url, w.secret`;

/** Records an attempt (only for the lease's holder) and the webhook's stats, in one statement. */
const recordSql = `
WITH a AS (
  UPDATE webhook_outbox SET state = $3::text, next_attempt_ms = $4, locked_until_ms = NULL, claim = NULL, last_status = $5::int, last_error = $6::text,
    done_ms = CASE WHEN $3::text = 'pending' THEN NULL ELSE $7::bigint END
  WHERE id = $1 AND claim = $2 RETURNING webhook_id)
UPDATE webhooks w SET last_attempt_ms = $7::bigint, last_status = $5::int, last_error = $6::text,
  last_delivered_ms = CASE WHEN $3::text = 'delivered' THEN $7::bigint ELSE w.last_delivered_ms END,
  delivered_count = w.delivered_count + CASE WHEN $3::text = 'delivered' THEN 1 ELSE 0 END,
  failed_count = w.failed_count + CASE WHEN $3::text = 'failed' THEN 1 ELSE 0 END
FROM a WHERE w.id = a.webhook_id`;

const removeSql = `
WITH d AS (DELETE FROM webhook_outbox WHERE webhook_id = $1 RETURNING state),
     w AS (DELETE FROM webhooks WHERE id = $1 RETURNING id)
SELECT (SELECT count(*) FROM w) AS removed, (SELECT count(*) FROM d WHERE state = 'pending') AS dropped`;

function eventsOf(value: unknown): string[] | null {
  return Array.isArray(value) ? value.map(String) : null;
}

/**
 * The webhooks and outbox of a PostgreSQL store. Outbox rows are written by the ledger's write
 * statement (`writeSql`); this works on a pool of its own, so delivery bookkeeping never takes
 * a connection the gateway's reads are waiting for.
 */
export class PgWebhooks implements WebhookStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly isClosed: () => boolean,
  ) {}

  private async query(text: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> {
    if (this.isClosed()) throw new StoreUnavailableError('the store is closed');
    try {
      return await this.pool.query<Row>(text, values);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async add(r: WebhookRecord, max: number): Promise<boolean> {
    const added = await this.query('INSERT INTO webhooks (id, url, events, secret, created_ms) SELECT $1, $2, $3::text[], $4, $5 WHERE (SELECT count(*) FROM webhooks) < $6', [r.id, r.url, r.events, r.secret, r.createdMs, max]);
    return added.rowCount === 1;
  }

  async list(): Promise<StoredWebhook[]> {
    const found = await this.query(`${withPending} ORDER BY w.created_ms, w.id COLLATE "C"`);
    return found.rows.map((r) => webhookFromRow(r, eventsOf(r.events)));
  }

  async get(id: string): Promise<StoredWebhook | undefined> {
    const [r] = (await this.query(`${withPending} WHERE w.id = $1`, [id])).rows;
    return r && webhookFromRow(r, eventsOf(r.events));
  }

  async remove(id: string): Promise<{ dropped: number } | undefined> {
    const [r] = (await this.query(removeSql, [id])).rows;
    return Number(r?.removed ?? 0) === 0 ? undefined : { dropped: Number(r?.dropped ?? 0) };
  }

  async claim(q: ClaimRequest): Promise<ClaimedDelivery[]> {
    const claimed = (await this.query(claimSql, [q.nowMs, q.nowMs + q.leaseMs, q.max, q.claim])).rows.map(claimedFromRow);
    return claimed.sort((a, b) => a.nextAttemptMs - b.nextAttemptMs || a.id - b.id);
  }

  async record(a: AttemptRecord): Promise<boolean> {
    const done = await this.query(recordSql, [a.id, a.claim, a.state, a.nextAttemptMs, a.status, a.error, a.atMs]);
    return done.rowCount === 1;
  }

  async deliveries(q: { webhookId: string; state?: DeliveryState; limit: number }): Promise<Delivery[]> {
    const found = await this.query('SELECT * FROM webhook_outbox WHERE webhook_id = $1 AND ($2::text IS NULL OR state = $2::text) ORDER BY id DESC LIMIT $3', [q.webhookId, q.state ?? null, q.limit]);
    return found.rows.map(deliveryFromRow);
  }

  async pendingCount(): Promise<number> {
    return Number((await this.query("SELECT count(*) AS n FROM webhook_outbox WHERE state = 'pending'")).rows[0]?.n ?? 0);
  }

  async prune(beforeMs: number): Promise<number> {
    return (await this.query("DELETE FROM webhook_outbox WHERE state <> 'pending' AND done_ms < $1", [beforeMs])).rowCount ?? 0;
  }
}
