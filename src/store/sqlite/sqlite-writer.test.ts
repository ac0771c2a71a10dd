import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runStoreConformance } from '../conformance/index.js';
import { openSqliteStore } from './sqlite-store.js';
import { checkpointedAndReplays, sqliteTarget } from '../conformance/sqlite-target.js';

const dir = mkdtempSync(join(tmpdir(), 'bursar-sqlite-writer-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every batch through the thread, however small.
runStoreConformance(sqliteTarget('sqlite with a writer thread', dir, { writer: 'thread', inlineBatchOpsMax: 0 }, { propertyRuns: 15 }));

describe('the sqlite writer thread', () => {
  it('admits exactly what fits when another process took part of the budget since the last batch', async () => {
    // Proves the writer thread's own commits are told apart from another connection's: the
    // second handle's reservation is read before the next batch, none over the limit is admitted.
    const path = join(dir, 'two-writers.db');
    const server = openSqliteStore({ path, writer: 'thread', inlineBatchOpsMax: 0 });
    const cli = openSqliteStore({ path });
    await server.createBudget({ path: 'a', limitMicros: 1_000 });
    expect((await server.reserve({ path: 'a', amountMicros: 100 })).ok).toBe(true);
    // The server's state now says 900 remain; the other handle takes 850 of them.
    expect((await cli.reserve({ path: 'a', amountMicros: 850 })).ok).toBe(true);
    const racing = await Promise.all(Array.from({ length: 6 }, () => server.reserve({ path: 'a', amountMicros: 20 })));
    expect(racing.filter((r) => r.ok)).toHaveLength(2);
    expect(racing.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.code))).toEqual(Array(4).fill('budget_exceeded'));
    const a = await cli.getBudget('a');
    expect([a?.reservedMicros, a?.remainingMicros]).toEqual([990, 10]);
    expect((await server.audit()).ok).toBe(true);
    await Promise.all([server.close(), cli.close()]);
  });

  it('computes a batch again when another process commits after it was computed and before it is written', async () => {
    // Proves the writer checks the ledger head it was given: a batch admitted against state that
    // another connection changed in between is not committed on top of that change.
    const path = join(dir, 'late-foreign-write.db');
    const server = openSqliteStore({ path, writer: 'thread', inlineBatchOpsMax: 0 });
    await server.createBudget({ path: 'a', limitMicros: 1_000 });
    expect((await server.reserve({ path: 'a', amountMicros: 100 })).ok).toBe(true);
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const racing = Array.from({ length: 12 }, () => server.reserve({ path: 'a', amountMicros: 20 }));
    // The batch is computed (900 left: all twelve fit; reads show it) and handed to the writer, which waits for the lock.
    for (let turn = 0; turn < 100 && (await server.getBudget('a'))?.reservedMicros !== 340; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect((await server.getBudget('a'))?.reservedMicros).toBe(340);
    const head = other.prepare('SELECT seq, ts_ms FROM ledger ORDER BY seq DESC LIMIT 1').get() as { seq: number; ts_ms: number };
    const budget = other.prepare("SELECT id FROM budgets WHERE path = 'a'").get() as { id: number };
    other.prepare('UPDATE budgets SET reserved_micros = reserved_micros + 850, inflight = inflight + 1 WHERE id = ?').run(budget.id);
    // Written past the sequence numbers the batch will use, so only the head check can catch it.
    const foreignSeq = head.seq + 100;
    other
      .prepare("INSERT INTO ledger (seq, ts_ms, kind, budget_id, amount_micros, reservation_seq, data, hash) VALUES (?, ?, 'reserve', ?, 850, ?, ?, ?)")
      .run(foreignSeq, head.ts_ms, budget.id, foreignSeq, JSON.stringify({ expiresMs: head.ts_ms + 600_000 }), 'f'.repeat(64));
    other.exec('COMMIT');
    other.close();
    const results = await Promise.all(racing);
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    expect((await server.getBudget('a'))?.reservedMicros).toBe(990);
    const first = results.find((r) => r.ok);
    expect(first?.ok && first.reservation.id).toBe(`rsv_${foreignSeq + 1}`);
    await server.close();
  });

  it('computes later batches while earlier ones wait to be written, seeing their idempotency keys and settlements', async () => {
    // Proves batches in flight count for the ones computed after them: a retried key answers
    // like the first call, a second settlement is refused, and reads show the computed state.
    const path = join(dir, 'in-flight.db');
    const store = openSqliteStore({ path, writer: 'thread', inlineBatchOpsMax: 0 });
    await store.createBudget({ path: 'a', limitMicros: 1_000 });
    const held = await store.reserve({ path: 'a', amountMicros: 100 });
    if (!held.ok) throw new Error(held.message);
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const first = store.reserve({ path: 'a', amountMicros: 30, idempotencyKey: 'k1' });
    const settled = store.settle({ reservationId: held.reservation.id, actualMicros: 80 });
    const others = Array.from({ length: 10 }, () => store.reserve({ path: 'a', amountMicros: 1 }));
    for (let i = 0; i < 100 && (await store.getBudget('a'))?.spentMicros !== 80; i += 1) await turn();
    // The first batch is computed (reads show it) and waits for the lock; these come after it.
    expect((await store.getBudget('a'))?.reservedMicros).toBe(40);
    const again = store.reserve({ path: 'a', amountMicros: 30, idempotencyKey: 'k1' });
    const twice = store.settle({ reservationId: held.reservation.id, actualMicros: 80 });
    for (let i = 0; i < 5; i += 1) await turn();
    other.exec('COMMIT');
    other.close();
    const [a, b, c, d] = await Promise.all([first, again, settled, twice]);
    expect((await Promise.all(others)).every((r) => r.ok)).toBe(true);
    expect(a.ok && b.ok && a.reservation.id === b.reservation.id).toBe(true);
    expect([c.ok, d.ok ? 'ok' : d.code]).toEqual([true, 'already_settled']);
    const budget = await store.getBudget('a');
    expect([budget?.reservedMicros, budget?.spentMicros, budget?.inflight]).toEqual([40, 80, 11]);
    await store.close();
    const reopened = openSqliteStore({ path });
    expect((await reopened.ledger({ kinds: ['reserve'], limit: 20 })).entries).toHaveLength(12);
    expect((await reopened.audit()).ok).toBe(true);
    await reopened.close();
  });

  it('answers store_unavailable when the writer cannot take the lock, and writes again once it can', async () => {
    // Proves fail-closed through the thread: a write that cannot be recorded is refused, the
    // state computed for it is dropped, and the next write commits from the file's truth.
    const path = join(dir, 'locked.db');
    const store = openSqliteStore({ path, busyTimeoutMs: 50, writer: 'thread', inlineBatchOpsMax: 0 });
    await store.createBudget({ path: 'a', limitMicros: 1_000 });
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    const refused = await Promise.all(Array.from({ length: 12 }, () => store.reserve({ path: 'a', amountMicros: 10 })));
    expect(new Set(refused.map((r) => (r.ok ? 'ok' : r.code)))).toEqual(new Set(['store_unavailable']));
    blocker.exec('ROLLBACK');
    blocker.close();
    expect((await store.getBudget('a'))?.reservedMicros).toBe(0);
    expect((await Promise.all(Array.from({ length: 12 }, () => store.reserve({ path: 'a', amountMicros: 10 })))).every((r) => r.ok)).toBe(true);
    expect((await store.getBudget('a'))?.reservedMicros).toBe(120);
    expect((await store.audit()).ok).toBe(true);
    await store.close();
  });

  it('writes the outbox rows of a batch\'s events with its entries through the thread: none for a batch that failed, one per event for one that committed', async () => {
    // Proves webhook events stay transactional with the writer thread: the rows are among the
    // batch's writes there, so a refused batch leaves none and a committed one leaves each once.
    const path = join(dir, 'outbox.db');
    const store = openSqliteStore({ path, busyTimeoutMs: 50, writer: 'thread', inlineBatchOpsMax: 0 });
    expect(await store.webhooks.add({ id: 'wh_all', url: 'http://127.0.0.1:9/wh', events: null, secret: 'whsec_outbox_0123456789abcdef', createdMs: 0 }, 10)).toBe(true);
    await store.createBudget({ path: 'a', limitMicros: 1_000 });
    const outbox = (): { kind: string; facts: string }[] => {
      const db = new Database(path, { readonly: true });
      const rows = db.prepare('SELECT kind, facts FROM webhook_outbox ORDER BY id').all() as { kind: string; facts: string }[];
      db.close();
      return rows;
    };
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    const refused = await Promise.all(Array.from({ length: 12 }, () => store.reserve({ path: 'a', amountMicros: 80 })));
    expect(new Set(refused.map((r) => (r.ok ? 'ok' : r.code)))).toEqual(new Set(['store_unavailable']));
    blocker.exec('ROLLBACK');
    blocker.close();
    expect(outbox()).toEqual([]);
    const admitted = await Promise.all(Array.from({ length: 12 }, () => store.reserve({ path: 'a', amountMicros: 80 })));
    expect(admitted.every((r) => r.ok)).toBe(true);
    const alerts = (await store.ledger({ kinds: ['alert'], limit: 100 })).entries;
    expect(alerts.length).toBeGreaterThan(0);
    const rows = outbox();
    expect(rows.map((r) => [r.kind, (JSON.parse(r.facts) as { entry: { seq: number } }).entry.seq])).toEqual(alerts.map((e) => ['alert', e.seq]));
    await store.close();
  });

  it('writes a batch larger than one part in order, each entry with its text intact, so the file replays', async () => {
    // Proves the hand-over in parts: 150 reservations at once (a batch of 128 in two parts, then
    // the rest) with labels that need escaping arrive in sequence, field for field, and a fresh
    // handle audits them clean.
    const path = join(dir, 'parts.db');
    const store = openSqliteStore({ path, writer: 'thread', inlineBatchOpsMax: 0 });
    await store.createBudget({ path: 'a', limitMicros: 1_000_000 });
    const session = (i: number): string => `s"${i}\\\u00e9\u{1f600}`;
    const reserved = await Promise.all(Array.from({ length: 150 }, (_, i) => store.reserve({ path: 'a', amountMicros: 100 + i, labels: { session: session(i), model: 'gpt-4o-mini' } })));
    expect(reserved.every((r) => r.ok)).toBe(true);
    await store.close();
    const reopened = openSqliteStore({ path });
    const page = await reopened.ledger({ kinds: ['reserve'], limit: 200 });
    expect(page.entries.map((e) => [e.amountMicros, e.session, e.model])).toEqual(Array.from({ length: 150 }, (_, i) => [100 + i, session(i), 'gpt-4o-mini']));
    expect((await reopened.audit()).ok).toBe(true);
    await reopened.close();
  });

  it('writes entries with and without usage or attribution fields, many to a statement and one by one, row for row as a store without the thread', async () => {
    // Proves the multi-row inserts: a batch of 100 reservations (one in three with a session, the
    // rest without any such field) and their settlements (half with usage, one in five with a
    // reason) fills the thread's multi-row statements of both shapes and leaves rows over for
    // the one-row ones, and the file holds the same rows, hashes included, as an inline writer's.
    const clock = { now: () => 1_800_000_000_000 };
    const threadPath = join(dir, 'multi-row.db');
    const inlinePath = join(dir, 'multi-row-reference.db');
    const threaded = openSqliteStore({ path: threadPath, clock, writer: 'thread', inlineBatchOpsMax: 0 });
    const inline = openSqliteStore({ path: inlinePath, clock });
    for (const store of [threaded, inline]) {
      await store.createBudget({ path: 'a', limitMicros: 1_000_000_000 });
      const held = await Promise.all(Array.from({ length: 100 }, (_, i) => store.reserve({ path: 'a', amountMicros: 100 + i, ...(i % 3 === 0 ? { labels: { session: `s${i}` } } : {}) })));
      const settled = await Promise.all(
        held.map((r, i) => {
          if (!r.ok) throw new Error(r.message);
          const usage = i % 2 === 0 ? { usage: { tokensIn: i, tokensOut: 2 * i } } : {};
          return store.settle({ reservationId: r.reservation.id, actualMicros: 50 + i, ...usage, ...(i % 5 === 0 ? { reason: `r${i}` } : {}) });
        }),
      );
      expect(settled.every((r) => r.ok)).toBe(true);
    }
    await Promise.all([threaded.close(), inline.close()]);
    const rows = (path: string): Record<string, unknown>[] => {
      const db = new Database(path, { readonly: true });
      const all = db.prepare('SELECT * FROM ledger ORDER BY seq').all() as Record<string, unknown>[];
      db.close();
      return all;
    };
    const written = rows(threadPath);
    // Both shapes, each more than one statement's worth.
    expect(written.filter((r) => r.session === null && r.tokens_in === null && r.reason === null).length).toBeGreaterThan(32);
    expect(written.filter((r) => r.session !== null || r.tokens_in !== null || r.reason !== null).length).toBeGreaterThan(32);
    expect(written).toEqual(rows(inlinePath));
    const reopened = openSqliteStore({ path: threadPath });
    expect((await reopened.audit()).ok).toBe(true);
    await reopened.close();
  });

  it.each([
    ['inside a multi-row insert', 5],
    ['among the rows written one by one', 37],
  ])('loses nothing of a batch whose insert fails %s, and leaves no row of it for the next batch', async (_where, failing) => {
    // Proves a failed insert takes its gathered rows with it: a trigger refuses one amount, the
    // batch of 40 is rolled back and each of its calls computed again alone (the refused one
    // fails, the others commit), and once the trigger is gone the next calls commit on a ledger
    // that holds each admitted reservation once and replays.
    const path = join(dir, `multi-row-failure-${failing}.db`);
    const store = openSqliteStore({ path, writer: 'thread', inlineBatchOpsMax: 0 });
    await store.createBudget({ path: 'a', limitMicros: 1_000_000 });
    const other = new Database(path);
    other.exec("CREATE TRIGGER refuse_777 BEFORE INSERT ON ledger WHEN NEW.amount_micros = 777 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    const amount = (i: number): number => (i === failing ? 777 : 1_000 + i);
    const first = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => store.reserve({ path: 'a', amountMicros: amount(i) })));
    expect(first.map((r) => r.status === 'fulfilled' && r.value.ok)).toEqual(Array.from({ length: 40 }, (_, i) => i !== failing));
    other.exec('DROP TRIGGER refuse_777');
    other.close();
    const second = await Promise.all(Array.from({ length: 40 }, (_, i) => store.reserve({ path: 'a', amountMicros: 2_000 + i })));
    expect(second.every((r) => r.ok)).toBe(true);
    await store.close();
    const reopened = openSqliteStore({ path });
    const reserves = (await reopened.ledger({ kinds: ['reserve'], limit: 200 })).entries.map((e) => e.amountMicros);
    const admitted = [...Array.from({ length: 40 }, (_, i) => amount(i)).filter((a) => a !== 777), ...Array.from({ length: 40 }, (_, i) => 2_000 + i)];
    expect([...reserves].sort((x, y) => x - y)).toEqual([...admitted].sort((x, y) => x - y));
    expect((await reopened.getBudget('a'))?.reservedMicros).toBe(admitted.reduce((sum, a) => sum + a, 0));
    expect((await reopened.audit()).ok).toBe(true);
    await reopened.close();
  });

  it('cuts a burst larger than one writer batch into batches committed one after the other, every call admitted once', async () => {
    // Proves the burst is not one transaction: 300 reservations submitted together reach the
    // ledger in batches of at most 128, each committed and delivered on its own, in sequence.
    const path = join(dir, 'burst.db');
    const store = openSqliteStore({ path, writer: 'thread', inlineBatchOpsMax: 0 });
    await store.createBudget({ path: 'a', limitMicros: 1_000_000 });
    const delivered: number[][] = [];
    store.subscribe((entries) => delivered.push(entries.map((e) => e.seq)));
    const reserved = await Promise.all(Array.from({ length: 300 }, () => store.reserve({ path: 'a', amountMicros: 10 })));
    expect(reserved.every((r) => r.ok)).toBe(true);
    expect(delivered.map((seqs) => seqs.length)).toEqual([128, 128, 44]);
    expect(delivered.flat()).toEqual(Array.from({ length: 300 }, (_, i) => (delivered[0]?.[0] ?? 0) + i));
    expect((await store.getBudget('a'))?.reservedMicros).toBe(3_000);
    expect((await store.audit()).ok).toBe(true);
    await store.close();
  });

  it('checkpoints the write-ahead log from the writer thread when asked to', async () => {
    // Proves the server's mode with one thread doing both: commits never checkpoint on the
    // caller's thread, yet pages reach the database file, and the file replays.
    const path = join(dir, 'checkpoints.db');
    const store = openSqliteStore({ path, writer: 'thread', checkpoints: 'background', inlineBatchOpsMax: 0 });
    await store.createBudget({ path: 'a', limitMicros: 1_000_000_000 });
    const sizeBefore = statSync(path).size;
    for (let i = 0; i < 30; i += 1) {
      const held = await Promise.all(Array.from({ length: 10 }, () => store.reserve({ path: 'a', amountMicros: 10 })));
      await Promise.all(held.flatMap((r) => (r.ok ? [store.settle({ reservationId: r.reservation.id, actualMicros: 5 })] : [])));
    }
    // Only a checkpoint writes to the main file; nothing here runs one but the writer thread.
    expect(await checkpointedAndReplays(store, path, sizeBefore)).toBe(true);
  });
});

describe('the writer thread under a server that starts it on demand', () => {
  const clock = { now: () => 1_800_000_000_000 };
  const rows = (path: string): unknown[] => {
    const db = new Database(path, { readonly: true });
    const all = db.prepare('SELECT * FROM ledger ORDER BY seq').all();
    db.close();
    return all;
  };
  /** Small batches one at a time, then batches larger than one committed inline, each reserved and settled. */
  const work = async (store: ReturnType<typeof openSqliteStore>, started: boolean[]): Promise<void> => {
    await store.createBudget({ path: 'a', limitMicros: 1_000_000_000 });
    for (let i = 0; i < 5; i += 1) {
      const held = await store.reserve({ path: 'a', amountMicros: 100 + i, labels: { session: `s${i}` } });
      if (held.ok) await store.settle({ reservationId: held.reservation.id, actualMicros: 50 + i });
      started.push(store.writerStarted);
    }
    for (let round = 0; round < 3; round += 1) {
      const held = await Promise.all(Array.from({ length: 100 }, (_, i) => store.reserve({ path: 'a', amountMicros: 10 + i, labels: { session: `r${round}` } })));
      await Promise.all(held.flatMap((r, i) => (r.ok ? [store.settle({ reservationId: r.reservation.id, actualMicros: 5 + i })] : [])));
      started.push(store.writerStarted);
    }
  };

  it('commits on the calling thread until the load passes the threshold, then starts the thread, and writes the same ledger as an inline writer', async () => {
    // Proves the lazy start: no thread while a trickle commits inline; once more operations than
    // the threshold arrive within a second the thread starts, and the file it leaves is row for
    // row (hashes included) the one a store without a thread writes for the same calls.
    const lazyPath = join(dir, 'lazy.db');
    const inlinePath = join(dir, 'lazy-reference.db');
    const lazy = openSqliteStore({ path: lazyPath, clock, writer: 'thread', writerStartOpsPerSecond: 50 });
    const inline = openSqliteStore({ path: inlinePath, clock });
    const started: boolean[] = [];
    expect(lazy.writerStarted).toBe(false);
    await work(lazy, started);
    await work(inline, []);
    expect(started).toEqual([false, false, false, false, false, true, true, true]);
    await Promise.all([lazy.close(), inline.close()]);
    // Every reservation and settlement (and the budget's own entry) is in the file.
    expect(rows(lazyPath).length).toBeGreaterThan(5 * 2 + 3 * 200);
    expect(rows(lazyPath)).toEqual(rows(inlinePath));
    const reopened = openSqliteStore({ path: lazyPath });
    expect((await reopened.audit()).ok).toBe(true);
    await reopened.close();
  });

  it('checkpoints the write-ahead log during commits while the writer thread has not started', async () => {
    // Proves a server that never needs the thread still moves its pages into the database file
    // (SQLite's own checkpoints, every thousand pages of log, until the thread takes them over).
    const path = join(dir, 'lazy-checkpoints.db');
    const store = openSqliteStore({ path, writer: 'thread', checkpoints: 'background' });
    await store.createBudget({ path: 'a', limitMicros: 1_000_000_000 });
    const sizeBefore = statSync(path).size;
    // One call at a time: a commit each, a few pages of log each, past a thousand pages in all.
    for (let i = 0; i < 400; i += 1) {
      const held = await store.reserve({ path: 'a', amountMicros: 10 });
      if (held.ok) await store.settle({ reservationId: held.reservation.id, actualMicros: 5 });
    }
    expect(store.writerStarted).toBe(false);
    expect(await checkpointedAndReplays(store, path, sizeBefore)).toBe(true);
  });
});
