import { createContext, type CliEnv } from './context.js';
import { commandGroups } from './groups.js';
import { createProgram, runProgram } from './program.js';

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

/**
 * Runs one `bursar` command line with every command group, reading only the environment and
 * writing only to the streams it is given, and returns the exit code; never throws and never
 * exits the process. The executable is this plus the process's own argv, env and streams, so a
 * caller (a test, an embedding tool) can run many commands in one process.
 *
 * @example
 * process.exitCode = await runCli({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr });
 */
export async function runCli(options: RunCliOptions): Promise<number> {
  const streams = { stdout: options.stdout, stderr: options.stderr };
  const program = createProgram({ env: options.env, streams });
  const context = createContext({ program, streams, env: options.env, nowMs: options.nowMs });
  for (const register of commandGroups) register(program, context);
  return runProgram(program, context, options.argv);
}
