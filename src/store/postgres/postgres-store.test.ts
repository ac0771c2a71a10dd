import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { dropSchemas, freshSchema, sql } from '../../../test/postgres/support.js';
import { runStoreConformance, SimClock } from '../conformance/index.js';
import { openStore } from '../open.js';
import type { Store } from '../store.js';
import { resolutionKindsSql, type Command } from '../../core/index.js';
import { postgresMigrations } from './postgres-migrations.js';
import { isUnavailable } from './postgres-errors.js';
import { openPostgresStore, parsePostgresUrl, PostgresStore } from './postgres-store.js';
import type { BatchNeeds } from './postgres-sql.js';

/** A store that preloads nothing, so every reservation or token a command names is a miss. */
class ForgetfulStore extends PostgresStore {
  protected override needsFor(_cmds: readonly (Command | null)[], extra: BatchNeeds): BatchNeeds {
    return extra;
  }
}

const url = inject('pgUrl');
const schemas = new Set<string>();

afterAll(() => dropSchemas(url, schemas));

function schemaOf(store: Store): string {
  if (!(store instanceof PostgresStore)) throw new Error('not a PostgreSQL store');
  return store.schema;
}

async function open(schema: string, clock: SimClock): Promise<Store> {
  schemas.add(schema);
  return openPostgresStore({ url, schema, clock });
}

runStoreConformance({
  name: 'postgres',
  open: (clock) => open(freshSchema('c'), clock),
  reopen: async (store, clock) => {
    await store.close();
    return open(schemaOf(store), clock);
  },
  openSecond: (store, clock) => open(schemaOf(store), clock),
  tamperLedgerAmount: async (store, seq, amountMicros) => {
    const schema = schemaOf(store);
    await sql(url, schema, 'ALTER TABLE ledger DISABLE TRIGGER USER');
    await sql(url, schema, 'UPDATE ledger SET amount_micros = $1 WHERE seq = $2', [amountMicros, seq]);
    await sql(url, schema, 'ALTER TABLE ledger ENABLE TRIGGER USER');
  },
  propertyRuns: 30,
});

describe('postgres store specifics', () => {
  it('refuses to edit, delete or truncate ledger rows through SQL', async () => {
    // Proves the ledger table itself is append-only, not just the code that writes it.
    const schema = freshSchema('s');
    const store = await open(schema, new SimClock(Date.UTC(2026, 0, 1)));
    expect((await store.createBudget({ path: 'a' })).ok).toBe(true);
    await expect(sql(url, schema, 'UPDATE ledger SET amount_micros = 5')).rejects.toThrow(/append-only/);
    await expect(sql(url, schema, 'DELETE FROM ledger')).rejects.toThrow(/append-only/);
    await expect(sql(url, schema, 'TRUNCATE ledger')).rejects.toThrow(/append-only/);
    await store.close();
  });

  it('declares the resolution index with the condition the reads use, so lookups stay on it', () => {
    // Proves the partial index and resolutionKindsSql name the same entry kinds in the same order.
    expect(postgresMigrations.findLast((m) => m.includes('ledger_resolution'))).toContain(`WHERE ${resolutionKindsSql};`);
  });

  it('migrates a new schema once when several processes open it together', async () => {
    // Proves migrations run under an advisory lock: concurrent starts neither fail nor repeat a step.
    const schema = freshSchema('m');
    const clock = new SimClock(Date.UTC(2026, 0, 1));
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(schema, clock)));
    const versions = await sql(url, schema, 'SELECT version FROM bursar_migrations ORDER BY version');
    expect(versions.rows.map((r: { version: number }) => r.version)).toEqual(postgresMigrations.map((_, i) => i + 1));
    expect((await stores[0]?.createBudget({ path: 'x' }))?.ok).toBe(true);
    expect(await stores[3]?.getBudget('x')).toBeDefined();
    await Promise.all(stores.map((s) => s.close()));
  });

  it('runs in an existing schema owned by a user without CREATE on the database', async () => {
    // Proves least-privilege setup: an operator makes the schema for Bursar's user, and the migration does not need more.
    const schema = freshSchema('own');
    const role = `bursar_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'owner-pw-123'`);
      await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
      schemas.add(schema);
      const can = await admin.query<{ c: boolean }>("SELECT has_database_privilege($1, current_database(), 'CREATE') AS c", [role]);
      expect(can.rows[0]?.c).toBe(false);
      const asOwner = new URL(url);
      asOwner.username = role;
      asOwner.password = 'owner-pw-123';
      const store = await openPostgresStore({ url: asOwner.toString(), schema, clock: new SimClock(Date.UTC(2026, 0, 1)) });
      expect((await store.createBudget({ path: 'least/privilege', createParents: true }))?.ok).toBe(true);
      expect((await store.audit()).ok).toBe(true);
      await store.close();
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      schemas.delete(schema);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  it('loads what the machine asks for and was not preloaded, then re-runs the batch', async () => {
    // Proves the NeedData path: a miss rolls back, loads the missing state and retries, with the same results.
    const schema = freshSchema('n');
    schemas.add(schema);
    const store = new ForgetfulStore({ url, schema, clock: new SimClock(Date.UTC(2026, 0, 1)) });
    await store.start();
    expect((await store.createBudget({ path: 'a', limitMicros: 1_000 })).ok).toBe(true);
    const r = await store.reserve({ path: 'a', amountMicros: 600 });
    if (!r.ok) throw new Error(r.message);
    const [settled, again] = await Promise.all([store.settle({ reservationId: r.reservation.id, actualMicros: 500 }), store.void({ reservationId: r.reservation.id })]);
    expect([settled.ok, again.ok ? 'ok' : again.code]).toEqual([true, 'already_settled']);
    const hash = 'a'.repeat(64);
    expect((await store.mintToken({ path: 'a', tokenId: 'tok_forget001', hash, scopes: ['delegate'], limitMicros: 100 })).ok).toBe(true);
    expect((await store.mintToken({ parentTokenId: 'tok_forget001', tokenId: 'tok_forget002', hash: 'b'.repeat(64), limitMicros: 50 })).ok).toBe(true);
    const revoked = await store.revokeToken({ tokenId: 'tok_forget001' });
    expect(revoked.ok && revoked.revoked.sort()).toEqual(['tok_forget001', 'tok_forget002']);
    expect((await store.audit()).ok).toBe(true);
    await store.close();
  });

  it('answers store_unavailable quickly when the server cannot be reached', async () => {
    // Proves fail-closed at open: an unreachable database is a clear error, not a hang.
    const started = Date.now();
    await expect(openPostgresStore({ url: 'postgres://nobody@127.0.0.1:1/none', timeouts: { connectTimeoutMs: 500 } })).rejects.toThrow(/PostgreSQL/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('opens PostgreSQL for a postgres:// or postgresql:// --db value', async () => {
    // Proves the --db / BURSAR_DB switch: a URL selects this store, with the schema taken from the URL.
    for (const scheme of ['postgres:', 'postgresql:']) {
      const schema = freshSchema('o');
      schemas.add(schema);
      const at = new URL(url);
      at.protocol = scheme;
      at.searchParams.set('schema', schema);
      const store = await openStore({ db: at.toString() });
      expect([store.kind, store instanceof PostgresStore && store.schema]).toEqual(['postgres', schema]);
      await store.close();
    }
  });

  it('tells an unreachable database from a bug', () => {
    // Proves the classification behind store_unavailable: connection, shutdown and timeout errors are outages; SQL errors are not.
    const coded = (code: string) => Object.assign(new Error(code), { code });
    for (const e of [coded('ECONNREFUSED'), coded('57P01'), coded('08006'), coded('55P03'), coded('57014'), new Error('Connection terminated unexpectedly'), new Error('Query read timeout')]) expect(isUnavailable(e), e.message).toBe(true);
    for (const e of [coded('42601'), coded('23505'), new Error('boom'), 'text', null]) expect(isUnavailable(e), String(e)).toBe(false);
  });

  it('reads the schema from the URL and refuses names that would need quoting', () => {
    // Proves `?schema=` selects the schema and never reaches the driver, and that odd names are refused.
    expect(parsePostgresUrl('postgres://u:p@h:5432/db?schema=spend&sslmode=disable')).toEqual({ connectionString: 'postgres://u:p@h:5432/db?sslmode=disable', schema: 'spend', options: '' });
    expect(parsePostgresUrl('postgres://h/db?options=-c%20work_mem%3D8MB').options).toBe('-c work_mem=8MB');
    expect(parsePostgresUrl('postgresql://h/db').schema).toBe('bursar');
    expect(() => parsePostgresUrl('postgres://h/db?schema=Robert";drop')).toThrow(/schema/);
  });
});
