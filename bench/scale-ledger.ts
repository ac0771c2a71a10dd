/**
 * Builds a large SQLite ledger for bench/scale.ts: 10,000 agents under one org (100 teams of 100),
 * a spend token per agent, and reserve → settle traffic through the agents' envelopes until the
 * ledger holds the entries asked for, at a steady rate per simulated day, ending now.
 *
 * The ledger machine itself (core's `applyCommand`) runs every command against the SQLite store's
 * own in-memory state and transaction, and the rows go straight into the file in large
 * transactions: the same rows the store would write, without its per-call work. The result
 * passes `audit verify`.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { applyCommand, newSpendToken, type ClosedPeriod, type Command, type LedgerEntry } from '../src/core/index.js';
import { budgetColumns, budgetValues, entryValues, ledgerColumns, tokenColumns, tokenValues } from '../src/store/rows.js';
import { SqliteCache } from '../src/store/sqlite/sqlite-cache.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { SqliteTx } from '../src/store/sqlite/sqlite-tx.js';

export interface LedgerShape {
  entries: number;
  teams: number;
  agentsPerTeam: number;
  entriesPerDay: number;
  /** Reservations held open at once while the traffic runs. */
  openMax: number;
}

const insertSql = (table: string, columns: readonly string[]) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;

/** Builds the ledger at `path` (a new file); returns what it holds. */
export async function buildLedger(path: string, shape: LedgerShape, endMs: number): Promise<{ entries: number; budgets: number; tokens: number; open: number }> {
  const days = shape.entries / shape.entriesPerDay;
  // The store's own in-memory state and transaction, with nothing to read from a file: every
  // reservation this builds stays in the cache until it is settled.
  const cache = new SqliteCache();
  const reads = { reservation: () => undefined, idempotency: () => undefined };
  const closed: ClosedPeriod[] = [];
  let entries: LedgerEntry[] = [];
  let nowMs = Math.floor(endMs - days * 86_400_000);
  const msPerEntry = 86_400_000 / shape.entriesPerDay;
  // The file with its schema, written by the store itself; rows are added below.
  await openSqliteStore({ path }).close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  // The ledger's indexes (by budget, by session) take rows all over their trees: keep them in memory while building.
  db.pragma('cache_size = -1000000');
  const insertEntry = db.prepare(insertSql('ledger', ledgerColumns));
  const flush = () => {
    db.transaction(() => {
      for (const e of entries) insertEntry.run(entryValues(e));
    })();
    entries = [];
  };
  const run = (cmd: Command) => {
    const tx = new SqliteTx(cache, reads, nowMs);
    const result = applyCommand(tx, cmd, { timezone: 'UTC' });
    if (!result.ok) throw new Error(`${cmd.type}: ${result.code} ${result.message}`);
    entries.push(...tx.entries);
    closed.push(...tx.closedPeriods);
    nowMs += msPerEntry;
    if (entries.length >= 50_000) flush();
    return result;
  };
  const envelopes: { path: string; tokenId: string; agent: string }[] = [];
  run({ type: 'createBudget', path: 'acme', kind: 'org', limitMicros: null, period: 'month' });
  for (let t = 0; t < shape.teams; t += 1) {
    const team = `acme/team-${String(t).padStart(3, '0')}`;
    run({ type: 'createBudget', path: team, kind: 'team', limitMicros: null, period: 'month' });
    for (let a = 0; a < shape.agentsPerTeam; a += 1) {
      const agent = `${team}/agent-${String(a).padStart(3, '0')}`;
      // The agents' defaults: a burn limit of $2 a minute, 4 in flight, alerts at 50–100 %.
      run({ type: 'createBudget', path: agent, kind: 'agent', limitMicros: 50_000_000, period: 'month' });
      const token = newSpendToken((n) => randomBytes(n));
      const minted = run({ type: 'mintToken', path: agent, tokenId: token.id, hash: token.hash, limitMicros: null });
      if (!('envelope' in minted)) throw new Error('minting made no envelope');
      envelopes.push({ path: minted.envelope.path, tokenId: token.id, agent });
    }
  }
  const open: { id: string; amount: number }[] = [];
  let i = 0;
  while (cache.headSeq + open.length < shape.entries) {
    if (open.length >= shape.openMax || (open.length > 0 && i % 3 === 0)) {
      const r = open.splice(Math.floor((i * 7919) % open.length), 1)[0];
      if (r) run({ type: 'settle', reservationId: r.id, actualMicros: Math.floor(r.amount * 0.6), usage: { model: 'gpt-4o-mini', tokensIn: 800, tokensOut: 120, tokensCached: 0, tokensCacheWrite: 0 } });
    } else {
      const e = envelopes[(i * 104_729) % envelopes.length];
      if (!e) throw new Error('no envelope');
      const session = `run-${e.agent.slice(5)}-${Math.floor(nowMs / 3_600_000)}`;
      const reserved = run({ type: 'reserve', path: e.path, amountMicros: 600 + (i % 400), ttlMs: 600_000, labels: { model: 'gpt-4o-mini', session, requestId: `req_${i.toString(36)}`, tokenId: e.tokenId }, onExpiry: 'charge' });
      if ('reservation' in reserved) open.push({ id: reserved.reservation.id, amount: reserved.reservation.amountMicros });
    }
    i += 1;
  }
  for (const r of open.splice(0)) run({ type: 'settle', reservationId: r.id, actualMicros: Math.floor(r.amount * 0.6) });
  flush();
  writeState(db, cache, closed);
  db.close();
  return { entries: cache.headSeq, budgets: cache.budgets.size, tokens: cache.tokens.size, open: cache.open.size };
}

/** Budgets, tokens, closed periods and the hint of where open reservations start, as the store keeps them. */
function writeState(db: Database.Database, cache: SqliteCache, closed: readonly ClosedPeriod[]): void {
  const insertBudget = db.prepare(insertSql('budgets', budgetColumns));
  const insertToken = db.prepare(insertSql('tokens', tokenColumns));
  const insertClosed = db.prepare('INSERT INTO budget_periods (budget_id, start_ms, end_ms, spent_micros, granted_micros, overrun_micros) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const b of cache.budgets.values()) insertBudget.run(budgetValues(b));
    for (const t of cache.tokens.values()) insertToken.run(tokenValues(t));
    for (const p of closed) insertClosed.run(p.budgetId, p.startMs, p.endMs, p.spentMicros, p.grantedMicros, p.overrunMicros);
    const low = cache.openLowSeq();
    db.prepare("UPDATE meta SET value = ? WHERE key = 'open_low_seq'").run(low);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
}
