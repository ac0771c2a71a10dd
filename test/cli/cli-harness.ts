import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import type { Clock, Store } from '../../src/store/index.js';
import { openSqliteStore } from '../../src/store/index.js';

/**
 * Helpers for the CLI tests: run `bursar` in this process through `runCli` (what the executable
 * runs, with the test's own argv, environment and streams) against a temporary database, or,
 * for the few tests about the process itself, as the real executable in a child process.
 */

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const mainPath = join(repoRoot, 'src/cli/main.ts');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bursar <args>` as a child process, `node --import tsx src/cli/main.ts`, from the
 * repository root, with `BURSAR_DB` cleared unless `env` sets it; a variable set to undefined
 * in `env` is removed. Slow (a Node start each): only for what a process itself does.
 */
export function runExecutable(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, BURSAR_DB: undefined, ...env };
    const child = spawn(process.execPath, ['--import', 'tsx', mainPath, ...args], { cwd: repoRoot, env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Collects what the CLI writes. */
class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/**
 * Runs `bursar <args>` in this process through `runCli`, the function the executable runs,
 * with `env` as its whole environment (nothing from this process's own), so dozens of runs
 * stay fast.
 */
export async function runInProcess(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli({ argv: args, env, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A temporary directory with a database path in it, and a CLI (run in this process) bound to that database. */
export interface TempDb {
  dir: string;
  db: string;
  cli(...args: string[]): Promise<CliRun>;
  /** Runs the CLI with `--json`, expects exit 0 and returns the parsed stdout. */
  json<T = Record<string, unknown>>(...args: string[]): Promise<T>;
  /** Runs the CLI and expects exit 0. */
  ok(...args: string[]): Promise<CliRun>;
  /** Opens the same database in this process (for seeding spend). */
  store(clock?: Clock): Store;
  remove(): void;
}

export function tempDb(): TempDb {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-cli-'));
  const db = join(dir, 'bursar.db');
  const cli = (...args: string[]) => runInProcess(['--db', db, ...args]);
  return {
    dir,
    db,
    cli,
    ok: async (...args) => {
      const run = await cli(...args);
      expect(run.stderr, `bursar ${args.join(' ')}`).toBe('');
      expect(run.code, `bursar ${args.join(' ')}`).toBe(0);
      return run;
    },
    json: async <T>(...args: string[]) => {
      const run = await cli('--json', ...args);
      expect(run.code, `bursar --json ${args.join(' ')}: ${run.stderr}`).toBe(0);
      return JSON.parse(run.stdout) as T;
    },
    store: (clock?: Clock) => openSqliteStore({ path: db, clock }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Reserves and settles `actualMicros` on a budget, with labels and token usage. */
export async function spend(store: Store, path: string, actualMicros: number, labels: { model?: string; session?: string; task?: string } = {}): Promise<void> {
  const reserved = await store.reserve({ path, amountMicros: actualMicros + 1_000, labels });
  if (!reserved.ok) throw new Error(`reserve refused: ${reserved.code} ${reserved.message}`);
  const settled = await store.settle({ reservationId: reserved.reservation.id, actualMicros, usage: { model: labels.model, tokensIn: 1_200, tokensOut: 300 } });
  if (!settled.ok) throw new Error(`settle refused: ${settled.code} ${settled.message}`);
}

/** A fixed clock for seeding entries at a chosen time. */
export function fixedClock(ms: number): Clock {
  return { now: () => ms };
}

/**
 * Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into records. Written here so the
 * test checks the CLI's quoting against the standard, not against the CLI's own code.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else field += c;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records;
}
