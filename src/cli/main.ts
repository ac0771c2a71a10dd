#!/usr/bin/env -S node --max-semi-space-size=4 --liftoff-only --heap-growing-percent=25
/**
 * The `bursar` executable. Each command group lives in its own file and is listed in groups.ts;
 * all of them talk to the ledger through the `CliBackend` the context opens (a local database,
 * or a server's admin API with `--url`). `runCli` does the work; this file only wires the process.
 */
import { runCli } from './run.js';

// A reader that goes away (`bursar ledger export | head`) ends the output quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.stdout.destroy();
});

process.exitCode = await runCli({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr });
