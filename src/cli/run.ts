import { createContext, type CliEnv } from './context.js';
import { createProgram, runProgram, type RegisterGroup } from './program.js';

export interface RunCliOptions {
  /** The arguments after the program name. */
  argv: readonly string[];
  /** What the run sees as its environment: `BURSAR_DB`, `BURSAR_URL`, admin and provider keys. */
  env: CliEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The clock commands read relative times against (default the system clock). */
  nowMs?: () => number;
}

/** Global options that take a value (`--db file`, `--url x`): their value is not a command's name. */
const globalsWithValue = new Set(['--db', '--url']);

/**
 * The command a command line runs: its first word that is not a global option or an option's
 * value. Undefined for anything else (an option first, `--`, nothing).
 *
 * @example
 * commandName(['--db', 'x.db', 'serve', '--port', '0']) // 'serve'
 */
export function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (globalsWithValue.has(arg)) i += 1;
    else if (arg === '--json' || [...globalsWithValue].some((name) => arg.startsWith(`${name}=`))) continue;
    else return arg.startsWith('-') ? undefined : arg;
  }
  return undefined;
}

/**
 * The group of each command that runs until it is stopped (a server, an MCP server an agent starts
 * for each session, the mock provider): such a command line loads its own group alone.
 */
const longRunning: ReadonlyMap<string, () => Promise<RegisterGroup>> = new Map([
  ['serve', async () => (await import('./serve.js')).registerServe],
  ['mcp', async () => (await import('./mcp.js')).registerMcp],
  ['mcp-proxy', async () => (await import('./mcp.js')).registerMcp],
  ['mock-upstream', async () => (await import('./mock-upstream.js')).registerMockUpstream],
]);

/**
 * The command groups a command line needs: its own group alone for a long-running command, so a
 * server does not load the other commands (their reports, the admin client, the contract's
 * schemas; about 12 MB of a fresh server's memory); every group otherwise, for help and every
 * other command.
 */
async function groupsFor(argv: readonly string[]): Promise<readonly RegisterGroup[]> {
  const group = longRunning.get(commandName(argv) ?? '');
  if (group !== undefined) return [await group()];
  return (await import('./groups.js')).commandGroups;
}

/**
 * Runs one `bursar` command line, reading only the environment and writing only to the streams
 * it is given, and returns the exit code; never throws and never exits the process. The
 * executable is this plus the process's own argv, env and streams, so a caller (a test, an
 * embedding tool) can run many commands in one process.
 *
 * @example
 * process.exitCode = await runCli({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr });
 */
export async function runCli(options: RunCliOptions): Promise<number> {
  const streams = { stdout: options.stdout, stderr: options.stderr };
  const program = createProgram({ env: options.env, streams });
  const context = createContext({ program, streams, env: options.env, nowMs: options.nowMs });
  for (const register of await groupsFor(options.argv)) register(program, context);
  return runProgram(program, context, options.argv);
}
