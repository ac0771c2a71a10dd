/** Helpers shared by the PostgreSQL tests: fresh schemas on the shared server, cleanup, child processes. */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { expect } from 'vitest';
import type { BudgetView, LedgerEntry, Policy } from '../../src/core/index.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import type { BurnWorkerConfig, BurnWorkerReport } from './burn-worker.js';

/** A schema name no other test (or test run) uses. */
export function freshSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops schemas made by a test file (they vanish with a throwaway server anyway). */
export async function dropSchemas(url: string, schemas: Iterable<string>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Runs one statement on the database with search_path set to `schema`. */
export async function sql(url: string, schema: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** A child process running a TypeScript script under tsx, talking over IPC. */
export function forkScript(script: URL, env: Record<string, string>): ChildProcess {
  // `--import tsx` resolves from the working directory: the repository root.
  const root = fileURLToPath(new URL('../..', import.meta.url));
  return fork(fileURLToPath(script), [], { cwd: root, execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The next IPC message of `type` from `child`; rejects on an `error` message, an exit or after `timeoutMs`. */
export function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    };
    const onMessage = (m: { type: string; message?: string }) => {
      if (m.type === 'error') done(new Error(`worker ${child.pid}: ${m.message}`));
      else if (m.type === type) done(undefined, m as T);
    };
    const onExit = (code: number | null) => done(new Error(`worker ${child.pid} exited (${code}) before sending ${type}`));
    const timer = setTimeout(() => done(new Error(`worker ${child.pid} sent no ${type} within ${timeoutMs} ms`)), timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Asks a worker to close and waits for it to exit; kills it if it does not within `timeoutMs`. */
export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send({ type: 'close' });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every ledger entry of a store, page by page (at most 10,000 pages). */
export async function allEntries(store: Store): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page += 1) {
    const got = await store.ledger({ cursor, limit: 1000 });
    out.push(...got.entries);
    if (!got.nextCursor) break;
    cursor = got.nextCursor;
  }
  return out;
}

/** A burst of calls on one agent from several OS processes (burn-worker.ts), all started at once. */
export interface ProcessBurst {
  url: string;
  /** Schemas of the test file, dropped after it; the burst adds its own. */
  schemas: Set<string>;
  schemaPrefix: string;
  processes: number;
  /** The agent's policy (its parent `org` has none). */
  policy: Policy;
  /** What each worker does besides the shared schema and agent. */
  worker: Omit<BurnWorkerConfig, 'url' | 'schema' | 'path'>;
  workerTimeoutMs: number;
}

/** The agent every burst calls on. */
export const burstAgent = 'org/agent';

/**
 * Creates `org` and its agent on a fresh schema, forks the workers, waits until each is ready,
 * starts them with one `go`, and hands their reports and the store to `check`. The workers are
 * stopped and the store closed whatever happens.
 *
 * @example
 * await burstFromProcesses({ url, schemas, schemaPrefix: 'burn', processes: 4, policy, worker, workerTimeoutMs: 60_000 }, async (store, reports) => { … });
 */
export async function burstFromProcesses(o: ProcessBurst, check: (store: PostgresStore, reports: BurnWorkerReport[]) => Promise<void>): Promise<void> {
  const schema = freshSchema(o.schemaPrefix);
  o.schemas.add(schema);
  const store = await openPostgresStore({ url: o.url, schema });
  expect((await store.createBudget({ path: 'org', kind: 'org' })).ok).toBe(true);
  expect((await store.createBudget({ path: burstAgent, kind: 'agent', policy: o.policy })).ok).toBe(true);
  const workers = Array.from({ length: o.processes }, () => {
    const config: BurnWorkerConfig = { url: o.url, schema, path: burstAgent, ...o.worker };
    return forkScript(new URL('./burn-worker.ts', import.meta.url), { BURSAR_WORKER: JSON.stringify(config) });
  });
  try {
    await Promise.all(workers.map((w) => nextMessage(w, 'ready', o.workerTimeoutMs)));
    const done = Promise.all(workers.map((w) => nextMessage<BurnWorkerReport>(w, 'report', o.workerTimeoutMs)));
    for (const w of workers) w.send({ type: 'go' });
    await check(store, await done);
  } finally {
    await Promise.all(workers.map((w) => stopChild(w, 10_000)));
    await store.close();
  }
}

/**
 * Checks what every process of a burst saw once the breaker tripped: only `code` refusals (at
 * least `refusalsMin` each, each with a Retry-After), one trip in the ledger with no reservation
 * after it, and an audit that replays. Returns the trip's entry.
 */
export async function expectTrippedOnce(store: Store, reports: readonly BurnWorkerReport[], code: string, refusalsMin: number): Promise<LedgerEntry | undefined> {
  for (const r of reports) {
    expect(Object.keys(r.refusals)).toEqual([code]);
    expect(r.refusals[code]).toBeGreaterThanOrEqual(refusalsMin);
    for (const ms of r.retryAfterMs) expect(ms).toBeGreaterThan(0);
  }
  const tripped = (await store.ledger({ kinds: ['breaker_tripped'] })).entries;
  expect(tripped).toHaveLength(1);
  const lastReserve = (await store.ledger({ kinds: ['reserve'], order: 'desc', limit: 1 })).entries[0];
  expect(lastReserve?.seq ?? 0).toBeLessThan(tripped[0]?.seq ?? 0);
  expect((await store.audit()).problems).toEqual([]);
  return tripped[0];
}

/** The invariant on one budget: overruns (settlements above their reservation) are the only way past its limit. */
export function withinLimit(b: BudgetView | undefined): boolean {
  return b !== undefined && (b.limitMicros === null || b.spentMicros + b.reservedMicros <= b.limitMicros + b.grantedMicros + b.overrunMicros);
}
