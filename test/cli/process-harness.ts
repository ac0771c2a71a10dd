import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Helpers for tests that need `bursar` as a real process: a server that runs until it is
 * stopped, or a command whose way of exiting (by itself, promptly) is what the test proves.
 */

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const mainPath = join(repoRoot, 'src/cli/main.ts');

/** Provider settings a test must not inherit from the shell that runs it. */
export const providerEnvCleared: Record<string, undefined> = {
  OPENAI_API_KEY: undefined,
  ANTHROPIC_API_KEY: undefined,
  BURSAR_OPENAI_BASE_URL: undefined,
  BURSAR_ANTHROPIC_BASE_URL: undefined,
  BURSAR_UPSTREAM: undefined,
  BURSAR_PORT: undefined,
  BURSAR_DB: undefined,
  BURSAR_URL: undefined,
};

export interface ProcessRun {
  /** Exit code, or null when the process was killed. */
  code: number | null;
  /** The signal that ended it: set only when the test had to kill it. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first stdout text that matches, or rejects when the process ends first. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Sends SIGTERM (a Ctrl-C) and resolves with how the process ended. */
  stop(): Promise<ProcessRun>;
  /** Resolves when the process ends by itself. */
  exited: Promise<ProcessRun>;
}

/**
 * Starts `bursar <args>` (`node --import tsx src/cli/main.ts`) with the provider settings of
 * the test's shell cleared; `env` adds to them (a variable set to undefined is removed).
 */
export function startCli(args: readonly string[], env: Record<string, string | undefined> = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', mainPath, ...args], { cwd: repoRoot, env: { ...process.env, ...providerEnvCleared, ...env } });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (text: string) => void; reject: (error: Error) => void }[] = [];
  const exited = new Promise<ProcessRun>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`bursar ${args.join(' ')} ended (code ${code}) before printing ${w.pattern}:\n${stdout}\n${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const w of [...waiters]) {
      const match = w.pattern.exec(stdout);
      if (match) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(match[0]);
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return {
    child,
    exited,
    waitFor: (pattern) => {
      const match = pattern.exec(stdout);
      if (match) return Promise.resolve(match[0]);
      return new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject }));
    },
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Runs `bursar <args>` to its end. A process still running after `killAfterMs` is killed, so
 * a hang shows as `signal: 'SIGKILL'` instead of a test that never returns.
 */
export async function runCliProcess(args: readonly string[], env: Record<string, string | undefined> = {}, killAfterMs = 45_000): Promise<ProcessRun> {
  const run = startCli(args, env);
  const killer = setTimeout(() => run.child.kill('SIGKILL'), killAfterMs);
  try {
    return await run.exited;
  } finally {
    clearTimeout(killer);
  }
}

/** A TCP server on a free loopback port that accepts connections and says nothing. */
export async function occupyPort(): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
