/**
 * The `bursar` command line as a library: build the program with every command group and run
 * it in this process (main.ts is the executable that does so with the real streams).
 *
 * @example
 * import { commandGroups, createContext, createProgram, runProgram } from './cli/index.js';
 * const program = createProgram();
 * const context = createContext({ program });
 * for (const register of commandGroups) register(program, context);
 * const code = await runProgram(program, context, ['budgets', 'tree']);
 */
export { createContext, reportFailure, type CliContext, type ContextOptions, type GlobalOptions } from './context.js';
export { CliError, usageError } from './errors.js';
export { commandGroups } from './groups.js';
export { createProgram, runProgram, type RegisterGroup } from './program.js';
export { openLocalBackend, type CliBackend } from './backend.js';
export { openRemoteBackend, RemoteBackend } from './remote-backend.js';
