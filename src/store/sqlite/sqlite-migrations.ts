/**
 * SQLite schema. Reservations have no table of their own: a reservation is its `reserve` ledger
 * entry, and the partial index `ledger_resolution` finds the entry that resolved it.
 *
 * One entry per version Never edit a
 * released step; add a new one.
 */
export const sqliteMigrations: readonly string[] = [
  `
  CREATE TABLE budgets (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES budgets(id),
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    limit_micros INTEGER,
    period TEXT NOT NULL,
    timezone TEXT NOT NULL,
    period_start_ms INTEGER NOT NULL,
    period_end_ms INTEGER,
    spent_micros INTEGER NOT NULL,
    reserved_micros INTEGER NOT NULL,
    granted_micros INTEGER NOT NULL,
    overrun_micros INTEGER NOT NULL,
    inflight INTEGER NOT NULL,
    policy TEXT NOT NULL,
    created_ms INTEGER NOT NULL
  );
  CREATE TABLE budget_periods (
    budget_id INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    spent_micros INTEGER NOT NULL,
    granted_micros INTEGER NOT NULL,
    overrun_micros INTEGER NOT NULL,
    PRIMARY KEY (budget_id, start_ms)
  ) WITHOUT ROWID;
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    budget_id INTEGER NOT NULL,
    parent_token_id TEXT,
    status TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_ms INTEGER,
    labels TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
  );
  CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    budget_id INTEGER NOT NULL,
    amount_micros INTEGER NOT NULL,
    reservation_seq INTEGER,
    model TEXT,
    tokens_in INTEGER,
    tokens_out INTEGER,
    tokens_cached INTEGER,
    tokens_cache_write INTEGER,
    request_id TEXT,
    session TEXT,
    task TEXT,
    actor TEXT,
    reason TEXT,
    data TEXT,
    hash TEXT NOT NULL
  );
  CREATE INDEX ledger_budget ON ledger (budget_id, seq);
  CREATE INDEX ledger_session ON ledger (session, seq) WHERE session IS NOT NULL;
  -- A reservation is its reserve entry; this finds what resolved it.
  CREATE INDEX ledger_resolution ON ledger (reservation_seq) WHERE kind IN ('settle', 'void', 'expire', 'late_charge');
  CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
  CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('open_low_seq', 0);
  `,
  // Charged expiries and their refunds resolve reservations too (`resolutionKindsSql`).
  `
  DROP INDEX ledger_resolution;
  CREATE INDEX ledger_resolution ON ledger (reservation_seq) WHERE kind IN ('settle', 'void', 'expire', 'expire_charged', 'expiry_refund', 'late_charge');
  `,
  // Guards: the alert thresholds raised this period, the burn-limit breaker, the burn windows.
  `
  ALTER TABLE budgets ADD COLUMN alert_spent_pct INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE budgets ADD COLUMN alert_committed_pct INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE budgets ADD COLUMN tripped_until_ms INTEGER;
  ALTER TABLE budgets ADD COLUMN breaker_trips INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE budgets ADD COLUMN probe_seq INTEGER;
  ALTER TABLE budgets ADD COLUMN burn TEXT;
  `,
  // Loop detection: what tripped the breaker, and the request fingerprints counted lately.
  `
  ALTER TABLE budgets ADD COLUMN breaker_code TEXT;
  ALTER TABLE budgets ADD COLUMN loops TEXT;
  `,
  // Refusals: beside the ledger, not in it (no money moved); bounded by count and age.
  `
  CREATE TABLE refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    code TEXT NOT NULL,
    status INTEGER NOT NULL,
    budget TEXT,
    agent TEXT,
    token_id_prefix TEXT,
    model TEXT,
    tool TEXT,
    amount_micros INTEGER,
    message TEXT NOT NULL,
    request_id TEXT,
    route TEXT
  );
  CREATE INDEX refusals_last ON refusals (last_ms);
  CREATE INDEX refusals_agent ON refusals (agent, id);
  `,
  // Webhooks and their outbox: one row per event and webhook, written with the entry that raised it.
  `
  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT,
    secret TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    delivered_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    last_attempt_ms INTEGER,
    last_status INTEGER,
    last_error TEXT,
    last_delivered_ms INTEGER
  );
  CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    facts TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    locked_until_ms INTEGER,
    claim TEXT,
    last_status INTEGER,
    last_error TEXT,
    done_ms INTEGER,
    UNIQUE (webhook_id, event_id)
  );
  CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_ms, id) WHERE state = 'pending';
  CREATE INDEX webhook_outbox_claim ON webhook_outbox (claim) WHERE claim IS NOT NULL;
  CREATE INDEX webhook_outbox_done ON webhook_outbox (done_ms) WHERE state <> 'pending';
  `,
  // The resolution index's condition as ORs (`resolutionKindsSqlOr`): an IN list made SQLite build
  // a temporary table on every ledger insert.
  `
  DROP INDEX ledger_resolution;
  CREATE INDEX ledger_resolution ON ledger (reservation_seq) WHERE (kind = 'settle' OR kind = 'void' OR kind = 'expire' OR kind = 'expire_charged' OR kind = 'expiry_refund' OR kind = 'late_charge');
  `,
  // Where the last audits verified the ledger up to, with the replay's state there: the next
  // audit replays only the entries after it.
  `
  CREATE TABLE audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms INTEGER NOT NULL
  );
  `,
];
