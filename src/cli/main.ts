#!/usr/bin/env node
/**
 * The `bursar` executable. Each command group lives in its own file and is added here with
 * one line; all of them talk to the ledger through the `CliBackend` the context opens.
 */
import { registerAgents } from './agents.js';
import { registerAudit } from './audit.js';
import { registerBudgets } from './budgets.js';
import { createContext } from './context.js';
import { registerCredits } from './credits.js';
import { registerLedger } from './ledger.js';
import { createProgram, runProgram, type RegisterGroup } from './program.js';

const groups: RegisterGroup[] = [registerAgents, registerBudgets, registerCredits, registerLedger, registerAudit];

// A reader that goes away (`bursar ledger export | head`) ends the output quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.stdout.destroy();
});

const program = createProgram();
const context = createContext({ program });
for (const register of groups) register(program, context);
process.exitCode = await runProgram(program, context, process.argv.slice(2));
