/**
 * Builds a large SQLite ledger for bench/scale.ts: 10,000 agents under one org (100 teams of 100),
 * a spend token per agent, and reserve → settle traffic through the agents' envelopes until the
 * ledger holds the entries asked for, at a steady rate per simulated day, ending now.
 *
 * The ledger machine itself (core's `applyCommand`) runs every command against an in-memory
 * transaction, and the rows go straight into the file in large transactions: the same rows the
 * store would write, without its per-call work. The result passes `audit verify`.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import {
  applyCommand,
  entryHash,
  genesisHash,
  newSpendToken,
  type BudgetRecord,
  type ClosedPeriod,
  type Command,
  type EntryDraft,
  type IdempotencyRecord,
  type LedgerEntry,
  type ReservationRecord,
  type TokenRecord,
  type Tx,
} from '../src/core/index.js';
import { budgetColumns, budgetValues, entryValues, ledgerColumns, tokenColumns, tokenValues } from '../src/store/rows.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

export interface LedgerShape {
  entries: number;
  teams: number;
  agentsPerTeam: number;
  entriesPerDay: number;
  /** Reservations held open at once while the traffic runs. */
  openMax: number;
}

/** Everything the machine reads and writes, in memory; entries are flushed to the file in chunks. */
class MemoryTx implements Tx {
  nowMs = 0;
  readonly budgets = new Map<number, BudgetRecord>();
  readonly byPath = new Map<string, BudgetRecord>();
  readonly children = new Map<number, BudgetRecord[]>();
  readonly reservations = new Map<number, ReservationRecord>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly closed: ClosedPeriod[] = [];
  entries: LedgerEntry[] = [];
  headSeq = 0;
  headHash = genesisHash;

  budgetById(id: number): BudgetRecord | undefined {
    return this.budgets.get(id);
  }
  budgetByPath(path: string): BudgetRecord | undefined {
    return this.byPath.get(path);
  }
  childrenOf(id: number): BudgetRecord[] {
    return this.children.get(id) ?? [];
  }
  reservation(seq: number): ReservationRecord | undefined {
    return this.reservations.get(seq);
  }
  dueReservations(): ReservationRecord[] {
    return [];
  }
  token(id: string): TokenRecord | undefined {
    return this.tokens.get(id);
  }
  childTokens(): TokenRecord[] {
    return [];
  }
  idempotency(): IdempotencyRecord | undefined {
    return undefined;
  }
  nextSeq(): number {
    return this.headSeq + 1;
  }
  nextBudgetId(): number {
    return this.budgets.size + 1;
  }
  insertBudget(b: BudgetRecord): void {
    this.budgets.set(b.id, b);
    this.byPath.set(b.path, b);
    const siblings = this.children.get(b.parentId ?? 0) ?? [];
    siblings.push(b);
    this.children.set(b.parentId ?? 0, siblings);
  }
  budgetChanged(): void {}
  insertReservation(r: ReservationRecord): void {
    this.reservations.set(r.seq, r);
  }
  reservationChanged(r: ReservationRecord): void {
    if (r.status !== 'open') this.reservations.delete(r.seq);
  }
  insertToken(t: TokenRecord): void {
    this.tokens.set(t.id, t);
  }
  tokenChanged(): void {}
  putIdempotency(): void {}
  closePeriod(p: ClosedPeriod): void {
    this.closed.push(p);
  }
  append(d: EntryDraft): number {
    const seq = this.headSeq + 1;
    const entry = d as LedgerEntry;
    entry.seq = seq;
    entry.hash = entryHash(this.headHash, seq, d);
    this.entries.push(entry);
    this.headSeq = seq;
    this.headHash = entry.hash;
    return seq;
  }
}

const insertSql = (table: string, columns: readonly string[]) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;

/** Builds the ledger at `path` (a new file); returns what it holds. */
export async function buildLedger(path: string, shape: LedgerShape, endMs: number): Promise<{ entries: number; budgets: number; tokens: number; open: number }> {
  const days = shape.entries / shape.entriesPerDay;
  const tx = new MemoryTx();
  tx.nowMs = Math.floor(endMs - days * 86_400_000);
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
      for (const e of tx.entries) insertEntry.run(entryValues(e));
    })();
    tx.entries = [];
  };
  const run = (cmd: Command) => {
    const result = applyCommand(tx, cmd, { timezone: 'UTC' });
    if (!result.ok) throw new Error(`${cmd.type}: ${result.code} ${result.message}`);
    tx.nowMs += msPerEntry;
    if (tx.entries.length >= 50_000) flush();
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
  while (tx.headSeq + open.length < shape.entries) {
    if (open.length >= shape.openMax || (open.length > 0 && i % 3 === 0)) {
      const r = open.splice(Math.floor((i * 7919) % open.length), 1)[0];
      if (r) run({ type: 'settle', reservationId: r.id, actualMicros: Math.floor(r.amount * 0.6), usage: { model: 'gpt-4o-mini', tokensIn: 800, tokensOut: 120, tokensCached: 0, tokensCacheWrite: 0 } });
    } else {
      const e = envelopes[(i * 104_729) % envelopes.length];
      if (!e) throw new Error('no envelope');
      const session = `run-${e.agent.slice(5)}-${Math.floor(tx.nowMs / 3_600_000)}`;
      const reserved = run({ type: 'reserve', path: e.path, amountMicros: 600 + (i % 400), ttlMs: 600_000, labels: { model: 'gpt-4o-mini', session, requestId: `req_${i.toString(36)}`, tokenId: e.tokenId }, onExpiry: 'charge' });
      if ('reservation' in reserved) open.push({ id: reserved.reservation.id, amount: reserved.reservation.amountMicros });
    }
    i += 1;
  }
  for (const r of open.splice(0)) run({ type: 'settle', reservationId: r.id, actualMicros: Math.floor(r.amount * 0.6) });
  flush();
  writeState(db, tx);
  db.close();
  return { entries: tx.headSeq, budgets: tx.budgets.size, tokens: tx.tokens.size, open: tx.reservations.size };
}

/** Budgets, tokens, closed periods and the hint of where open reservations start, as the store keeps them. */
function writeState(db: Database.Database, tx: MemoryTx): void {
  const insertBudget = db.prepare(insertSql('budgets', budgetColumns));
  const insertToken = db.prepare(insertSql('tokens', tokenColumns));
  const insertClosed = db.prepare('INSERT INTO budget_periods (budget_id, start_ms, end_ms, spent_micros, granted_micros, overrun_micros) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const b of tx.budgets.values()) insertBudget.run(budgetValues(b));
    for (const t of tx.tokens.values()) insertToken.run(tokenValues(t));
    for (const p of tx.closed) insertClosed.run(p.budgetId, p.startMs, p.endMs, p.spentMicros, p.grantedMicros, p.overrunMicros);
    const low = Math.min(tx.headSeq + 1, ...[...tx.reservations.keys()]);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'open_low_seq'").run(low);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
}
