#!/usr/bin/env -S node --max-semi-space-size=4 --liftoff-only
/**
 * The `bursar` executable. Each command group lives in its own file and is listed in groups.ts;
 * all of them talk to the ledger through the `CliBackend` the context opens (a local database,
 * or a server's admin API with `--url`).
 */
import { createContext } from './context.js';
import { commandGroups } from './groups.js';
import { createProgram, runProgram } from './program.js';

// A reader that goes away (`bursar ledger export | head`) ends the output quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.stdout.destroy();
});

const program = createProgram();
const context = createContext({ program });
for (const register of commandGroups) register(program, context);
process.exitCode = await runProgram(program, context, process.argv.slice(2));
