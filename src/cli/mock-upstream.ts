import { Option, type Command } from 'commander';
import { mockFaults, mockUpstreamPortDefault, runMockUpstream } from '../mock-upstream/index.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { untilInterrupted } from './interrupt.js';
import { parsePortArg } from './parse.js';

/**
 * Adds `bursar mock-upstream [--port 9100]`: a fake OpenAI/Anthropic provider for offline
 * tests, demos and benchmarks. Runs until interrupted.
 *
 * @example
 * registerMockUpstream(program, context);
 */
export function registerMockUpstream(program: Command, _context: CliContext): void {
  program
    .command('mock-upstream')
    .description('run a fake OpenAI/Anthropic provider (usage, streaming, latency and faults) on 127.0.0.1')
    .addOption(new Option('--port <port>', 'port to listen on').argParser(parsePortArg('--port')).default(mockUpstreamPortDefault))
    .addHelpText('after', `\nSteer single calls with headers: x-mock-fault (${mockFaults.join(', ')}),\nx-mock-output-tokens (a number or max), x-mock-chunks, x-mock-latency-ms, x-mock-cached-tokens.`)
    .action(async (flags: { port: number }) => {
      const upstream = await runMockUpstream({ port: flags.port, handleSignals: false }).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') throw error;
        throw new CliError({ code: 'port_in_use', message: `127.0.0.1:${flags.port} is already in use by another program; choose another port with --port (0 picks a free one)` }, 2);
      });
      await untilInterrupted();
      await upstream.close();
    });
}
