import { openPostgresStore } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Clock, Store } from './store.js';

export interface OpenStoreOptions {
  /** A file path for SQLite (default `./bursar.db`) or a `postgres://` URL (`?schema=` picks the schema). */
  db?: string;
  clock?: Clock;
  timezone?: string;
  synchronous?: 'normal' | 'full';
  /** SQLite only: checkpoint the write-ahead log from a background thread (servers). */
  checkpoints?: 'inline' | 'background';
  /** SQLite only: write the ledger from a thread of its own (servers). */
  writer?: 'inline' | 'thread';
}

/**
 * Opens the store a `--db` value names: a `postgres://` or `postgresql://` URL selects
 * PostgreSQL, anything else is a SQLite file.
 *
 * @example
 * const store = await openStore({ db: process.env.BURSAR_DB ?? './bursar.db' });
 * const shared = await openStore({ db: 'postgres://bursar:secret@db.internal:5432/bursar' });
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const db = options.db ?? './bursar.db';
  if (/^postgres(ql)?:\/\//.test(db)) {
    return openPostgresStore({ url: db, clock: options.clock, timezone: options.timezone });
  }
  return openSqliteStore({ path: db, clock: options.clock, timezone: options.timezone, synchronous: options.synchronous, checkpoints: options.checkpoints, writer: options.writer });
}
