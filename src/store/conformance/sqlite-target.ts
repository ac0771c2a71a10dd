import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ConformanceTarget } from './target.js';
import type { Store } from '../store.js';
import { openSqliteStore, type SqliteStoreOptions } from '../sqlite/sqlite-store.js';

/**
 * The conformance suite's way into SQLite stores opened with `options`, each on its own file in
 * `dir` (tests only).
 *
 * @example
 * runStoreConformance(sqliteTarget('sqlite', dir, {}));
 */
export function sqliteTarget(name: string, dir: string, options: Omit<SqliteStoreOptions, 'path' | 'clock'>, extra: Pick<ConformanceTarget, 'propertyRuns'> = {}): ConformanceTarget {
  const files = new WeakMap<Store, string>();
  let counter = 0;
  const open = (path: string, clock: SqliteStoreOptions['clock']): Store => {
    const store = openSqliteStore({ ...options, path, clock });
    files.set(store, path);
    return store;
  };
  const fileOf = (store: Store): string => {
    const path = files.get(store);
    if (!path) throw new Error('unknown store');
    return path;
  };
  return {
    name,
    ...extra,
    open: async (clock) => open(join(dir, `c${(counter += 1)}.db`), clock),
    reopen: async (store, clock) => {
      await store.close();
      return open(fileOf(store), clock);
    },
    openSecond: async (store, clock) => open(fileOf(store), clock),
    tamperLedgerAmount: async (store, seq, amountMicros) => {
      const db = new Database(fileOf(store));
      db.exec('DROP TRIGGER ledger_no_update');
      db.prepare('UPDATE ledger SET amount_micros = ? WHERE seq = ?').run(amountMicros, seq);
      db.close();
    },
  };
}

/**
 * Whether the database file grew past `sizeBefore` within about five seconds: only a checkpoint
 * writes to it (tests only). Once it has, the file is closed and must replay.
 *
 * @example
 * expect(await checkpointedAndReplays(store, path, sizeBefore)).toBe(true);
 */
export async function checkpointedAndReplays(store: Store, path: string, sizeBefore: number): Promise<boolean> {
  let grown = false;
  for (let i = 0; i < 100 && !grown; i += 1) {
    grown = statSync(path).size > sizeBefore;
    if (!grown) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await store.close();
  const reopened = openSqliteStore({ path });
  const replays = (await reopened.audit()).ok;
  await reopened.close();
  return grown && replays;
}
