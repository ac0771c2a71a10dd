import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { commandName, runCli } from './run.js';

/** Runs a command line in this process and returns what it printed. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await runCli({ argv, env: {}, stdout, stderr });
  return { code, out, err };
}

describe('commandName', () => {
  it('finds the command after the global options and their values, in either form', () => {
    // Proves `bursar serve` is recognised however the global options are written, and nothing else is taken for it.
    expect(commandName(['serve', '--port', '0'])).toBe('serve');
    expect(commandName(['--db', 'serve', 'budgets', 'tree'])).toBe('budgets');
    expect(commandName(['--db=x.db', '--json', '--url', 'http://h', 'serve'])).toBe('serve');
    expect(commandName(['--json', '--url=http://h', 'usage'])).toBe('usage');
    expect(commandName(['--help', 'serve'])).toBeUndefined();
    expect(commandName(['--db'])).toBeUndefined();
    expect(commandName([])).toBeUndefined();
  });
});

describe('runCli', () => {
  it('gives `serve` its own help and every command to the program help', async () => {
    // Proves loading the serve command alone for `bursar serve` leaves help whole.
    const serve = await run(['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.out).toContain('--quickstart');
    const all = await run(['--help']);
    expect(all.code).toBe(0);
    for (const command of ['serve', 'budgets', 'tokens', 'usage', 'mock-upstream', 'audit']) expect(all.out).toContain(command);
  });

  it('gives each long-running command its own help when it is loaded alone', async () => {
    // Proves `mcp`, `mcp-proxy` and `mock-upstream`, loaded without the other groups, still parse and explain their options.
    for (const [argv, option] of [[['mcp', '--help'], '--token'], [['mcp-proxy', '--help'], '--upstream'], [['mock-upstream', '--help'], '--port']] as const) {
      const help = await run([...argv]);
      expect(help.code).toBe(0);
      expect(help.out).toContain(option);
    }
  });

  it('still suggests a command for a typo next to serve', async () => {
    // Proves a mistyped command gets every group, so the suggestion can name the right one.
    const typo = await run(['serv']);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('serve');
  });
});
