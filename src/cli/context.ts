import type { Command } from 'commander';
import type { CliBackend } from './backend.js';
import { usageError } from './errors.js';
import { failureJson, failureLine, writeChunk, type CliStreams, type Failure } from './report.js';

/** Environment variables as a run sees them; unset ones are absent or undefined. */
export type CliEnv = Readonly<Record<string, string | undefined>>;

/** Options every command accepts. */
export interface GlobalOptions {
  /** SQLite file of the local ledger. */
  db: string;
  /** A server to work on through its admin API instead of `db`; undefined for the local file. */
  url?: string;
  json: boolean;
}

/** Whether a command writes: only writes may create a missing database file. */
export type Access = 'read' | 'write';

export type OpenBackend = (options: GlobalOptions, access: Access) => Promise<CliBackend>;

/**
 * What command code gets besides its own options: the backend, the clock, and printing that
 * follows `--json`.
 */
export interface CliContext {
  readonly streams: CliStreams;
  /** The environment the run was started with (admin keys, provider keys, `BURSAR_DEBUG`). */
  readonly env: CliEnv;
  readonly nowMs: () => number;
  options(): GlobalOptions;
  /** The backend the global options point at, opened on first use. */
  backend(access: Access): Promise<CliBackend>;
  /** Writes text plus a newline to stdout. */
  print(text: string): Promise<void>;
  /** Prints `json()` with `--json`, else `human()`. */
  emit(json: () => unknown, human: () => string): Promise<void>;
  /**
   * Makes the run exit non-zero without an error, for a command whose output is a failing
   * result (a failed audit).
   */
  setExitCode(code: 1 | 2): void;
  /** The exit code a command asked for, 0 by default. */
  exitCode(): number;
  /** Closes the backend if one was opened. */
  close(): Promise<void>;
}

export interface ContextOptions {
  program: Command;
  streams?: CliStreams;
  nowMs?: () => number;
  /** Default: a server's admin API with `--url`, else the local SQLite database named by `--db`. */
  openBackend?: OpenBackend;
  /** Where admin keys are read from (default `process.env`). */
  env?: CliEnv;
}

function defaultOpener(env: CliEnv): OpenBackend {
  return async (options, access) => {
    // Loaded when a command first asks: `bursar serve` never does, and starts without them.
    if (options.url !== undefined) return (await import('./remote-backend.js')).openRemoteBackend({ url: options.url, env });
    return (await import('./backend.js')).openLocalBackend({ db: options.db, create: access === 'write' });
  };
}

/**
 * Which ledger the global options name. `--url` and `--db` on one command line conflict; a
 * `--db` given on the command line wins over a `BURSAR_URL` from the environment.
 */
function readGlobals(program: Command): GlobalOptions {
  const raw = program.opts<{ db?: string; url?: string; json?: boolean }>();
  const fromEnvOverridden = program.getOptionValueSource('url') === 'env' && program.getOptionValueSource('db') === 'cli';
  const url = raw.url !== undefined && !fromEnvOverridden ? raw.url : undefined;
  return { db: raw.db ?? './bursar.db', url, json: raw.json === true };
}

/** Refuses `--db` and `--url` given together on the command line. */
function checkTargets(program: Command): void {
  if (program.getOptionValueSource('url') === 'cli' && program.getOptionValueSource('db') === 'cli') {
    throw usageError('usage', 'give --db (a local ledger) or --url (a server), not both');
  }
}

/**
 * Builds the context commands run in. Global options are read from the program when a
 * command runs, so they may appear before or after the command name.
 *
 * @example
 * const context = createContext({ program });
 * registerAgents(program, context);
 */
export function createContext(options: ContextOptions): CliContext {
  const streams = options.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const env = options.env ?? process.env;
  const open = options.openBackend ?? defaultOpener(env);
  let opened: Promise<CliBackend> | undefined;
  let exitCode = 0;
  const readOptions = (): GlobalOptions => readGlobals(options.program);
  const print = async (text: string) => {
    await writeChunk(streams.stdout, `${text}\n`);
  };
  return {
    streams,
    env,
    nowMs: options.nowMs ?? (() => Date.now()),
    options: readOptions,
    backend: (access) =>
      (opened ??= (async () => {
        checkTargets(options.program);
        return open(readOptions(), access);
      })()),
    print,
    emit: (json, human) => print(readOptions().json ? JSON.stringify(json(), null, 2) : human()),
    setExitCode: (code) => {
      exitCode = Math.max(exitCode, code);
    },
    exitCode: () => exitCode,
    close: async () => {
      const backend = opened;
      opened = undefined;
      // A backend that failed to open has nothing to close.
      if (backend) await backend.then((b) => b.close(), () => undefined);
    },
  };
}

/**
 * Prints a failure to stderr: one line, or a JSON object with `--json`.
 *
 * @example
 * await reportFailure(context, { code: 'unknown_budget', message: 'no budget at acme/x' });
 */
export async function reportFailure(context: CliContext, failure: Failure): Promise<void> {
  const text = context.options().json ? JSON.stringify(failureJson(failure)) : failureLine(failure);
  await writeChunk(context.streams.stderr, `${text}\n`);
}
