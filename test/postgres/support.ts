/** Helpers shared by the PostgreSQL tests: fresh schemas on the shared server, cleanup, child processes. */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

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
