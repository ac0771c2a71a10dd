import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { newSpendToken, resolutionKindsSqlOr } from '../../core/index.js';
import { sqliteMigrations } from './sqlite-migrations.js';
import { runStoreConformance, SimClock } from '../conformance/index.js';
import { openSqliteStore } from './sqlite-store.js';
import { checkpointedAndReplays, sqliteTarget } from '../conformance/sqlite-target.js';

const dir = mkdtempSync(join(tmpdir(), 'bursar-sqlite-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

runStoreConformance(sqliteTarget('sqlite', dir, {}));

describe('sqlite store specifics', () => {
  it('finds what resolved a reservation through the partial resolution index', async () => {
    // Proves the index is declared with exactly the condition the reads use (else SQLite scans the ledger).
    const path = join(dir, 'resolution-index.db');
    const store = openSqliteStore({ path });
    await store.createBudget({ path: 'a' });
    const db = new Database(path);
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT * FROM ledger WHERE reservation_seq = ? AND ${resolutionKindsSqlOr} ORDER BY seq DESC LIMIT 1`).all(1) as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('ledger_resolution');
    expect(sqliteMigrations.findLast((m) => m.includes('ledger_resolution'))).toContain(`WHERE ${resolutionKindsSqlOr};`);
    db.close();
    await store.close();
  });

  it('appends a ledger row without building a temporary table for the resolution index', async () => {
    // Proves the index condition is plain comparisons: with `kind IN (…)` of more than two values
    // SQLite built an ephemeral table of the kinds on every insert.
    const path = join(dir, 'insert-plan.db');
    const store = openSqliteStore({ path });
    await store.createBudget({ path: 'a' });
    await store.close();
    const db = new Database(path);
    const columns = (db.prepare('PRAGMA table_info(ledger)').all() as { name: string }[]).map((c) => c.name);
    const program = db.prepare(`EXPLAIN INSERT INTO ledger (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).all(...columns.map(() => null)) as { opcode: string }[];
    expect(program.map((op) => op.opcode)).toContain('IdxInsert');
    expect(program.map((op) => op.opcode)).not.toContain('OpenEphemeral');
    db.close();
  });

  it('refuses to edit or delete ledger rows through SQL', () => {
    // Proves the ledger table itself is append-only, not just the code that writes it.
    const path = join(dir, 'append-only.db');
    const store = openSqliteStore({ path });
    return store.createBudget({ path: 'a' }).then(async () => {
      const db = new Database(path);
      expect(() => db.prepare('UPDATE ledger SET amount_micros = 5').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM ledger').run()).toThrow(/append-only/);
      db.close();
      await store.close();
    });
  });

  it('answers store_unavailable instead of writing when the database file is locked by another writer', async () => {
    // Proves fail-closed: a write that cannot be recorded is refused, not forwarded or lost.
    const path = join(dir, 'locked.db');
    const store = openSqliteStore({ path, busyTimeoutMs: 50 });
    await store.createBudget({ path: 'a', limitMicros: 1_000 });
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    const result = await store.reserve({ path: 'a', amountMicros: 10 });
    expect(result.ok ? 'ok' : result.code).toBe('store_unavailable');
    blocker.exec('ROLLBACK');
    blocker.close();
    expect((await store.reserve({ path: 'a', amountMicros: 10 })).ok).toBe(true);
    expect((await store.audit()).ok).toBe(true);
    await store.close();
  });

  it('checkpoints the write-ahead log from a background thread when asked to', async () => {
    // Proves the server's mode: commits never checkpoint inline, yet pages reach the database file.
    const path = join(dir, 'background.db');
    const store = openSqliteStore({ path, checkpoints: 'background' });
    await store.createBudget({ path: 'a', limitMicros: 1_000_000_000 });
    const sizeBefore = statSync(path).size;
    for (let i = 0; i < 300; i += 1) {
      const r = await store.reserve({ path: 'a', amountMicros: 10 });
      if (r.ok) await store.settle({ reservationId: r.reservation.id, actualMicros: 5 });
    }
    // Only a checkpoint writes to the main file; nothing here runs one but the background thread.
    expect(await checkpointedAndReplays(store, path, sizeBefore)).toBe(true);
  });

  it('still expires a reservation left open behind thousands of entries after another connection writes', async () => {
    // Proves the stored hint of where open reservations start, written only now and then, never
    // hides one from a reload: the reservation still counts, settles and expires.
    const path = join(dir, 'low-water.db');
    const clock = new SimClock(Date.UTC(2026, 0, 1));
    const store = openSqliteStore({ path, clock });
    await store.createBudget({ path: 'a', limitMicros: 1_000_000_000 });
    const pairs = async (n: number) => {
      for (let i = 0; i < n; i += 1) {
        const r = await store.reserve({ path: 'a', amountMicros: 10 });
        if (r.ok) await store.settle({ reservationId: r.reservation.id, actualMicros: 5 });
      }
    };
    const early = await store.reserve({ path: 'a', amountMicros: 1_000, ttlMs: 60_000 });
    await pairs(1_500);
    if (!early.ok) throw new Error(early.message);
    await store.settle({ reservationId: early.reservation.id, actualMicros: 1_000 });
    const held = await store.reserve({ path: 'a', amountMicros: 700, ttlMs: 60_000 });
    const settledLater = await store.reserve({ path: 'a', amountMicros: 300, ttlMs: 60_000 });
    await pairs(1_500);
    // Another connection commits: the first store drops its cache and reloads from the file.
    const other = openSqliteStore({ path, clock });
    await other.createBudget({ path: 'b' });
    await other.close();
    expect((await store.getBudget('a'))?.reservedMicros).toBe(1_000);
    if (!settledLater.ok || !held.ok) throw new Error('reservation refused');
    expect((await store.settle({ reservationId: settledLater.reservation.id, actualMicros: 300 })).ok).toBe(true);
    clock.advance(61_000);
    expect(await store.sweep()).toBe(1);
    expect((await store.getBudget('a'))?.reservedMicros).toBe(0);
    expect((await store.audit()).ok).toBe(true);
    await store.close();
  });

  it('shows a read what another connection committed, from the next event-loop turn on', async () => {
    // Proves the once-per-turn check of data_version: a token revoked by another process (the CLI
    // beside a running server) is seen by the server's next request.
    const path = join(dir, 'other-writer.db');
    const server = openSqliteStore({ path });
    const cli = openSqliteStore({ path });
    await server.createBudget({ path: 'a', limitMicros: 1_000 });
    const token = newSpendToken((n) => randomBytes(n));
    expect((await server.mintToken({ path: 'a', tokenId: token.id, hash: token.hash, limitMicros: 100 })).ok).toBe(true);
    expect((await server.findTokenByHash(token.hash))?.token.status).toBe('active');
    expect((await cli.revokeToken({ tokenId: token.id })).ok).toBe(true);
    await cli.updateBudget({ path: 'a', limitMicros: 2_000 });
    await new Promise((resolve) => setImmediate(resolve));
    expect((await server.findTokenByHash(token.hash))?.token.status).toBe('revoked');
    expect((await server.getBudget('a'))?.limitMicros).toBe(2_000);
    await Promise.all([server.close(), cli.close()]);
  });

  it('migrates a new file once when two handles open it together', async () => {
    // Proves migrations take the write lock, so processes starting together do not race.
    const path = join(dir, 'together.db');
    const [a, b] = [openSqliteStore({ path }), openSqliteStore({ path })];
    expect((await a.createBudget({ path: 'x' })).ok).toBe(true);
    expect(await b.getBudget('x')).toBeDefined();
    await Promise.all([a.close(), b.close()]);
  });

  it('migrates a database at schema 6 (webhooks) on to the resolution index and audit checkpoints', async () => {
    // Proves the migrations after the released ones apply on a database those made: 7 and 8 run once, and audits resume.
    const path = join(dir, 'from-6.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    for (const sql of sqliteMigrations.slice(0, 6)) old.exec(sql);
    old.pragma('user_version = 6');
    old.close();
    const store = openSqliteStore({ path });
    expect((await store.createBudget({ path: 'a', limitMicros: 1_000 })).ok).toBe(true);
    const first = await store.audit();
    expect((await store.reserve({ path: 'a', amountMicros: 10 })).ok).toBe(true);
    const next = await store.audit();
    expect([first.ok, next.ok, next.verifiedFromSeq]).toEqual([true, true, first.entries]);
    await store.close();
    const db = new Database(path);
    expect([db.pragma('user_version', { simple: true }), sqliteMigrations.length]).toEqual([8, 8]);
    db.close();
  });

  it('replays from the first entry instead of resuming from a checkpoint of an earlier layout', async () => {
    // Proves a checkpoint that lacks what the replay now tracks (its layout mark, the extra
    // budgets of expiries) is passed over, not trusted or crashed on, and a current one replaces it.
    const path = join(dir, 'old-checkpoint.db');
    const clock = new SimClock(Date.UTC(2026, 0, 1));
    const store = openSqliteStore({ path, clock });
    expect((await store.createBudget({ path: 'a', limitMicros: 1_000 })).ok).toBe(true);
    expect((await store.reserve({ path: 'a', amountMicros: 10, ttlMs: 1_000, onExpiry: 'release' })).ok).toBe(true);
    clock.advance(2_000);
    await store.sweep();
    const first = await store.audit();
    expect(first.ok).toBe(true);
    const db = new Database(path);
    const saved = db.prepare('SELECT seq, state FROM audit_checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number; state: string };
    const state = JSON.parse(saved.state) as { format?: number; expired: [number, number[]][] };
    expect(state.expired).toHaveLength(1);
    const earlier = { ...state, format: undefined, expired: state.expired.map(([seq]) => seq) };
    db.prepare('UPDATE audit_checkpoints SET state = ? WHERE seq = ?').run(JSON.stringify(earlier), saved.seq);
    db.close();
    const replayed = await store.audit();
    expect([replayed.ok, replayed.verifiedFromSeq, replayed.problems]).toEqual([true, 0, []]);
    expect((await store.audit()).verifiedFromSeq).toBe(first.entries);
    await store.close();
  });
});
