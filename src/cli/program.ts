import { Command, CommanderError, Option } from 'commander';
import { StoreUnavailableError } from '../store/index.js';
import { reportFailure, type CliContext, type CliEnv } from './context.js';
import { CliError } from './errors.js';
import type { CliStreams } from './output.js';
import { parseUrlArg } from './parse.js';
import { packageVersion } from '../version.js';

/** Adds a command group to the program; main.ts calls one per group. */
export type RegisterGroup = (program: Command, context: CliContext) => void;


const helpFooter = `
Amounts are typed and shown in USD (up to 6 decimals, e.g. 5.00 or 0.000001); inside
Bursar they are integer micro-USD, and --json output gives them as *_micros integers.
Times are shown in UTC (ISO 8601). Exit codes: 0 ok, 1 refused or failed, 2 bad usage.
With --url (or BURSAR_URL) every command works on a running server through its admin API,
authenticated with BURSAR_ADMIN_KEY, and prints what it would print on a local database.
Errors print one line "bursar: <code>: <message>" to stderr (a JSON object with --json).`;

/**
 * A command whose options named by environment variables (`.env('BURSAR_DB')`) are read from
 * the environment it was given rather than from `process.env`, so a run in this process sees
 * only the variables it was started with. Its subcommands share that environment.
 */
class EnvCommand extends Command {
  /** Commander's Command is an EventEmitter; its typings leave `emit` out. */
  declare emit: (event: string, ...args: unknown[]) => boolean;

  constructor(
    name: string | undefined,
    private readonly env: CliEnv,
  ) {
    super(name);
  }

  override createCommand(name?: string): EnvCommand {
    return new EnvCommand(name, this.env);
  }

  /**
   * Commander's own hook (it reads `process.env`), with commander's precedence: a value from the
   * command line wins over the environment, which wins over the default. The value goes through
   * the option's parser and choices like one typed on the command line. The hook is private to
   * commander; the CLI input tests fail if an upgrade renames it.
   */
  _parseOptionsEnv(): void {
    for (const option of this.options) {
      const value = option.envVar === undefined ? undefined : this.env[option.envVar];
      if (value === undefined) continue;
      const key = option.attributeName();
      const source = this.getOptionValueSource(key);
      const overridable = this.getOptionValue(key) === undefined || source === 'default' || source === 'config' || source === 'env';
      if (!overridable) continue;
      if (option.required || option.optional) this.emit(`optionEnv:${option.name()}`, value);
      else this.emit(`optionEnv:${option.name()}`);
    }
  }
}

export interface ProgramOptions {
  /** Where options named by environment variables are read from (default `process.env`). */
  env?: CliEnv;
  /** Where help and the version are printed (default the process's own streams). */
  streams?: CliStreams;
}

/**
 * The `bursar` program with its global options (`--db`, `--json`) and no command groups yet.
 * Commander's own errors are thrown, not printed, so `runProgram` reports every error the
 * same way.
 *
 * @example
 * const program = createProgram();
 * registerAgents(program, createContext({ program }));
 */
export function createProgram(options: ProgramOptions = {}): Command {
  const streams = options.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const program = new EnvCommand('bursar', options.env ?? process.env)
    .description('Hard spending limits for AI agents: budgets, ledger and audit.')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--db <file>', 'SQLite ledger file').env('BURSAR_DB').default('./bursar.db'))
    .addOption(new Option('--url <url>', 'a running Bursar server to work on instead of --db (key from BURSAR_ADMIN_KEY)').env('BURSAR_URL').argParser(parseUrlArg))
    .option('--json', 'print machine-readable JSON instead of tables')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ writeOut: (text) => streams.stdout.write(text), writeErr: (text) => streams.stderr.write(text), outputError: () => undefined })
    .addHelpText('after', helpFooter);
  return program;
}

/**
 * Parses `argv` (arguments after the program name), runs the command, reports any error and
 * closes the backend. Returns the exit code; never throws.
 *
 * @example
 * process.exitCode = await runProgram(program, context, process.argv.slice(2));
 */
export async function runProgram(program: Command, context: CliContext, argv: readonly string[]): Promise<number> {
  let code = 0;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    code = context.exitCode();
  } catch (error) {
    code = await reportError(context, error);
  }
  try {
    await context.close();
  } catch (error) {
    code = code === 0 ? await reportError(context, error) : code;
  }
  return code;
}

/** Maps any error to a printed failure and an exit code. The one place that does so. */
async function reportError(context: CliContext, error: unknown): Promise<number> {
  if (error instanceof CliError) {
    await reportFailure(context, error.failure);
    return error.exitCode;
  }
  if (error instanceof CommanderError) return reportCommanderError(context, error);
  if (error instanceof StoreUnavailableError) {
    await reportFailure(context, { code: 'store_unavailable', message: error.message });
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  await reportFailure(context, { code: 'internal', message: `unexpected error: ${message}` });
  if (context.env.BURSAR_DEBUG && error instanceof Error && error.stack) context.streams.stderr.write(`${error.stack}\n`);
  return 1;
}

async function reportCommanderError(context: CliContext, error: CommanderError): Promise<number> {
  // Help and version were printed by commander itself.
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
  // A group run without a command: commander printed its help to stderr.
  if (error.code === 'commander.help') return 2;
  const message = error.message.replace(/^error: /, '');
  await reportFailure(context, { code: 'usage', message: `${message} (see --help)` });
  return 2;
}
