import type pg from 'pg';
import { genesisHash } from '../../core/index.js';

/**
 * PostgreSQL schema, one entry per version. Never edit a released step; add a new one.
 *
 * - `ledger_head` is a single row: the last entry's sequence, hash and time, a version that
 *   every committed write batch bumps, and the highest budget id. Every writer locks it first
 *   (`SELECT … FOR UPDATE`), which serialises writers, hands out sequence numbers and hashes
 *   for the chain, and rules out deadlocks (there is only one lock to wait for).
 * - `budgets.updated_version` lets each process refresh only the budgets that changed since
 *   the version it last saw.
 * - A reservation is its `reserve` ledger entry (plus the entry that resolved it), as in
 *   SQLite; `open_reservations` indexes the open ones by expiry for the TTL sweep and is
 *   checked against the ledger by the audit. A row is inserted on reserve and deleted on
 *   resolution, so the table stays as small as what is in flight.
 */
export const postgresMigrations: readonly string[] = [
  `
  CREATE TABLE ledger_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash text NOT NULL,
    ts_ms bigint NOT NULL,
    version bigint NOT NULL,
    budget_id_max bigint NOT NULL
  );
  INSERT INTO ledger_head (id, seq, hash, ts_ms, version, budget_id_max) VALUES (1, 0, '${genesisHash}', 0, 0, 0);
  CREATE TABLE budgets (
    id bigint PRIMARY KEY,
    parent_id bigint,
    name text NOT NULL,
    path text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    limit_micros bigint,
    period text NOT NULL,
    timezone text NOT NULL,
    period_start_ms bigint NOT NULL,
    period_end_ms bigint,
    spent_micros bigint NOT NULL,
    reserved_micros bigint NOT NULL,
    granted_micros bigint NOT NULL,
    overrun_micros bigint NOT NULL,
    inflight integer NOT NULL,
    policy text NOT NULL,
    created_ms bigint NOT NULL,
    updated_version bigint NOT NULL,
    -- Deferred: a move and a create in one batch may pass through a transient clash.
    CONSTRAINT budgets_path_unique UNIQUE (path) DEFERRABLE INITIALLY DEFERRED
  );
  CREATE INDEX budgets_updated ON budgets (updated_version);
  CREATE TABLE budget_periods (
    budget_id bigint NOT NULL,
    start_ms bigint NOT NULL,
    end_ms bigint NOT NULL,
    spent_micros bigint NOT NULL,
    granted_micros bigint NOT NULL,
    overrun_micros bigint NOT NULL,
    PRIMARY KEY (budget_id, start_ms)
  );
  CREATE TABLE tokens (
    id text PRIMARY KEY,
    hash text NOT NULL UNIQUE,
    budget_id bigint NOT NULL,
    parent_token_id text,
    status text NOT NULL,
    scopes text NOT NULL,
    expires_ms bigint,
    labels text NOT NULL,
    created_ms bigint NOT NULL,
    revoked_ms bigint
  );
  CREATE INDEX tokens_parent ON tokens (parent_token_id) WHERE parent_token_id IS NOT NULL;
  CREATE TABLE idempotency (
    key text PRIMARY KEY,
    fingerprint text NOT NULL,
    result text NOT NULL
  );
  CREATE TABLE ledger (
    seq bigint PRIMARY KEY,
    ts_ms bigint NOT NULL,
    kind text NOT NULL,
    budget_id bigint NOT NULL,
    amount_micros bigint NOT NULL,
    reservation_seq bigint,
    model text,
    tokens_in bigint,
    tokens_out bigint,
    tokens_cached bigint,
    tokens_cache_write bigint,
    request_id text,
    session text,
    task text,
    actor text,
    reason text,
    data text,
    hash text NOT NULL
  );
  CREATE INDEX ledger_budget ON ledger (budget_id, seq);
  CREATE INDEX ledger_session ON ledger (session, seq) WHERE session IS NOT NULL;
  -- A reservation is its reserve entry; this finds what resolved it.
  CREATE INDEX ledger_resolution ON ledger (reservation_seq, seq) WHERE kind IN ('settle', 'void', 'expire', 'late_charge');
  -- Entry times never decrease along the sequence: a block-range index is enough for time filters.
  CREATE INDEX ledger_ts ON ledger USING brin (ts_ms);
  CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
  END;
  $$;
  CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
  CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
  CREATE TABLE open_reservations (
    seq bigint PRIMARY KEY,
    budget_id bigint NOT NULL,
    amount_micros bigint NOT NULL,
    expires_ms bigint NOT NULL
  );
  CREATE INDEX open_reservations_due ON open_reservations (expires_ms, seq);
  `,
  // Charged expiries and their refunds resolve reservations too (`resolutionKindsSql`).
  `
  DROP INDEX ledger_resolution;
  CREATE INDEX ledger_resolution ON ledger (reservation_seq, seq) WHERE kind IN ('settle', 'void', 'expire', 'expire_charged', 'expiry_refund', 'late_charge');
  `,
  // Guards: the alert thresholds raised this period, the burn-limit breaker, the burn windows.
  `
  ALTER TABLE budgets
    ADD COLUMN alert_spent_pct integer NOT NULL DEFAULT 0,
    ADD COLUMN alert_committed_pct integer NOT NULL DEFAULT 0,
    ADD COLUMN tripped_until_ms bigint,
    ADD COLUMN breaker_trips integer NOT NULL DEFAULT 0,
    ADD COLUMN probe_seq bigint,
    ADD COLUMN burn text;
  `,
  // Loop detection: what tripped the breaker, and the request fingerprints counted lately.
  `
  ALTER TABLE budgets
    ADD COLUMN breaker_code text,
    ADD COLUMN loops text;
  `,
  // Refusals: beside the ledger, not in it (no money moved); bounded by count and age.
  `
  CREATE TABLE refusals (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    first_ms bigint NOT NULL,
    last_ms bigint NOT NULL,
    count bigint NOT NULL,
    code text NOT NULL,
    status integer NOT NULL,
    budget text,
    agent text,
    token_id_prefix text,
    model text,
    tool text,
    amount_micros bigint,
    message text NOT NULL,
    request_id text,
    route text
  );
  CREATE INDEX refusals_last ON refusals (last_ms);
  CREATE INDEX refusals_agent ON refusals (agent, id);
  `,
  // Webhooks and their outbox: one row per event and webhook, written with the entry that raised it.
  `
  CREATE TABLE webhooks (
    id text PRIMARY KEY,
    url text NOT NULL,
    events text[],
    secret text NOT NULL,
    created_ms bigint NOT NULL,
    delivered_count bigint NOT NULL DEFAULT 0,
    failed_count bigint NOT NULL DEFAULT 0,
    last_attempt_ms bigint,
    last_status integer,
    last_error text,
    last_delivered_ms bigint
  );
  CREATE TABLE webhook_outbox (
    id bigserial PRIMARY KEY,
    webhook_id text NOT NULL,
    event_id text NOT NULL,
    kind text NOT NULL,
    facts text NOT NULL,
    created_ms bigint NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_ms bigint NOT NULL,
    locked_until_ms bigint,
    claim text,
    last_status integer,
    last_error text,
    done_ms bigint,
    UNIQUE (webhook_id, event_id)
  );
  CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_ms, id) WHERE state = 'pending';
  CREATE INDEX webhook_outbox_claim ON webhook_outbox (claim) WHERE claim IS NOT NULL;
  CREATE INDEX webhook_outbox_done ON webhook_outbox (done_ms) WHERE state <> 'pending';
  `,
  // Where the last audits verified the ledger up to, with the replay's state there: the next
  // audit replays only the entries after it.
  `
  CREATE TABLE audit_checkpoints (
    seq bigint PRIMARY KEY,
    hash text NOT NULL,
    state text NOT NULL,
    created_ms bigint NOT NULL
  );
  `,
];

/** Advisory lock namespace for migrations ("burs"); the second key is the schema's hash. */
const migrationLockSpace = 0x62757273;

/**
 * Brings `schema` up to the newest version inside one transaction that holds an advisory
 * lock, so processes starting together migrate once and never see a half-made schema.
 * The client's search_path must already point at `schema`.
 *
 * @example
 * await migrate(client, 'bursar'); // 1 on a fresh schema, 0 afterwards
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [migrationLockSpace, schema]);
    // CREATE SCHEMA needs CREATE on the database even when the schema exists: skip it then, so a
    // user that only owns an existing schema can run Bursar in it.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${client.escapeIdentifier(schema)}`);
    await client.query('CREATE TABLE IF NOT EXISTS bursar_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM bursar_migrations');
    const current = done.rows[0]?.version ?? 0;
    for (let v = current; v < postgresMigrations.length; v += 1) {
      await client.query(postgresMigrations[v] ?? '');
      await client.query('INSERT INTO bursar_migrations (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
    return postgresMigrations.length - current;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
