import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runExecutable, runInProcess, tempDb, type TempDb } from './cli-harness.js';

describe('bursar input handling, exit codes and --json', () => {
  let t: TempDb;
  beforeEach(() => {
    t = tempDb();
  });
  afterEach(() => t.remove());

  it('rejects bad amounts with a clear message, code invalid_amount and exit 2, storing nothing', async () => {
    // Proves USD parsing at the edge: negative, non-numeric, over six decimals and empty amounts never reach the ledger.
    const cases: [string[], RegExp][] = [
      [['agents', 'create', 'a', '--budget-limit', '-1'], /"-1" is negative/],
      [['agents', 'create', 'a', '--budget-limit', 'abc'], /"abc" is not a USD amount; use digits with up to 6 decimals/],
      [['agents', 'create', 'a', '--budget-limit', '1.2345678'], /"1\.2345678" has more than 6 decimals; the smallest amount is \$0\.000001/],
      [['agents', 'create', 'a', '--budget-limit', '5.0000001'], /more than 6 decimals/],
      [['agents', 'create', 'a', '--budget-limit', ''], /an amount in USD is required/],
      [['agents', 'create', 'a', '--request-cap', '0'], /--request-cap: the amount must be more than \$0/],
      [['budgets', 'grant', 'a', '-1'], /"-1" is negative/],
      [['budgets', 'grant', 'a', '1e3'], /"1e3" is not a USD amount/],
    ];
    const runs = await Promise.all(cases.map(([args]) => t.cli(...args)));
    runs.forEach((run, i) => {
      const [args, message] = cases[i] ?? [[], /./];
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^bursar: invalid_amount: .*\n$/);
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.stdout).toBe('');
    });
    expect(existsSync(t.db)).toBe(false);
  });

  it('rejects empty names, names with spaces and bad options as usage errors with exit 2', async () => {
    // Proves path and option validation happens before anything is written, each with its own stable code.
    const cases: [string[], string][] = [
      [['agents', 'create', ''], 'bursar: invalid_path: a budget path is required, like "acme/research/agent"'],
      [['agents', 'create', 'my agent'], 'bursar: invalid_name: in path "my agent": budget name "my agent" may use only'],
      [['agents', 'create', 'acme/my agent'], 'bursar: invalid_path: in path "acme/my agent"'],
      [['agents', 'create', 'acme//bot'], 'bursar: invalid_path: in path "acme//bot": a budget name cannot be empty'],
      [['agents', 'create', 'a', '--period', 'fortnight'], 'bursar: invalid_period: --period: "fortnight" is not a period'],
      [['agents', 'create', 'a', '--timezone', 'Mars/Olympus'], 'bursar: invalid_timezone: --timezone: unknown time zone "Mars/Olympus"'],
      [['agents', 'create', 'a', '--max-inflight', '0'], 'bursar: invalid_policy: --max-inflight: "0" is not a whole number from 1 to 100000'],
      [['agents', 'create', 'a', '--models', 'gpt 4'], 'bursar: invalid_policy: --models: "gpt 4" is not a model id'],
      [['credits', 'history', '--agent', 'a', '--since', 'yesterday'], 'bursar: invalid_time: --since: "yesterday" is not a time'],
      [['credits', 'history', '--agent', 'a', '--limit', '0'], 'bursar: invalid_limit: --limit: "0" is not a whole number'],
      [['agents', 'update', 'a'], 'bursar: usage: nothing to update'],
      [['agents', 'update', 'a', '--budget-limit', '1', '--no-limit'], "bursar: usage: option '--no-limit' cannot be used with option '--budget-limit <usd>'"],
      [['agents', 'frobnicate'], "bursar: usage: unknown command 'frobnicate'"],
      [['budgets', 'create', 'a', '--kind', 'agent'], "bursar: usage: option '--kind <kind>' argument 'agent' is invalid"],
      [['credits', 'history'], "bursar: usage: required option '--agent <path>' not specified"],
      [['ledger', 'export', '--format', 'xml'], "bursar: usage: option '--format <format>' argument 'xml' is invalid"],
    ];
    const runs = await Promise.all(cases.map(([args]) => t.cli(...args)));
    runs.forEach((run, i) => {
      const [args, prefix] = cases[i] ?? [[], ''];
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.startsWith(prefix), `${args.join(' ')}: ${run.stderr}`).toBe(true);
      expect(run.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
    });
  });

  it('prints every error as one parseable JSON object on stderr with --json', async () => {
    // Proves machine-readable errors: usage errors, refusals and unknown budgets all give {ok:false, code, message}.
    await t.ok('agents', 'create', 'acme/bot', '--parents');
    const cases: [string[], string, number][] = [
      [['agents', 'create', 'x', '--budget-limit', 'abc'], 'invalid_amount', 2],
      [['agents', 'create', 'acme/bot'], 'budget_exists', 1],
      [['budgets', 'show', 'nope'], 'unknown_budget', 1],
      [['budgets', 'grant', 'acme', '1'], 'budget_unlimited', 1],
      [['agents', 'bogus'], 'usage', 2],
    ];
    for (const [args, code, exit] of cases) {
      const run = await t.cli('--json', ...args);
      expect(run.code, args.join(' ')).toBe(exit);
      expect(run.stdout).toBe('');
      expect(JSON.parse(run.stderr)).toMatchObject({ ok: false, code, message: expect.any(String) as string });
    }
  });

  it('prints parseable JSON on stdout for every command with --json', async () => {
    // Proves --json everywhere: each read and write command's output parses as JSON.
    const commands = [
      ['agents', 'create', 'acme/research/bot', '--budget-limit', '5', '--parents'],
      ['agents', 'update', 'acme/research/bot', '--period', 'day'],
      ['agents', 'pause', 'acme/research/bot'],
      ['agents', 'resume', 'acme/research/bot'],
      ['agents', 'list'],
      ['budgets', 'create', 'acme/sales', '--budget-limit', '2'],
      ['budgets', 'update', 'acme/sales', '--budget-limit', '3'],
      ['budgets', 'grant', 'acme/sales', '1'],
      ['budgets', 'show', 'acme/research/bot'],
      ['budgets', 'tree'],
      ['budgets', 'move', 'acme/sales', '--to', 'acme/research'],
      ['budgets', 'pause', 'acme/research/sales'],
      ['budgets', 'resume', 'acme/research/sales'],
      ['budgets', 'close', 'acme/research/sales'],
      ['credits', 'history', '--agent', 'acme/research/bot'],
      ['audit', 'verify'],
    ];
    for (const args of commands) {
      const parsed = await t.json<{ ok: boolean }>(...args);
      expect(parsed.ok, args.join(' ')).toBe(true);
    }
  });

  it('refuses reads of a missing database without creating it, and honours BURSAR_DB', async () => {
    // Proves a mistyped --db does not leave an empty database behind, and the env var names the default file.
    const missing = join(t.dir, 'typo.db');
    const read = await runInProcess(['--db', missing, 'agents', 'list']);
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(/^bursar: store_unavailable: no Bursar database at .*typo\.db/);
    expect(existsSync(missing)).toBe(false);

    const viaEnv = join(t.dir, 'env.db');
    expect((await runInProcess(['budgets', 'create', 'acme'], { BURSAR_DB: viaEnv })).code).toBe(0);
    const listed = await runInProcess(['--json', 'budgets', 'tree'], { BURSAR_DB: viaEnv });
    expect((JSON.parse(listed.stdout) as { budgets: { path: string }[] }).budgets.map((b) => b.path)).toEqual(['acme']);
  });

  it('reads options named by environment variables from the environment a run is given, never from the process\'s own', async () => {
    // Proves the in-process seam keeps runs apart: BURSAR_DB and BURSAR_URL of this process are ignored, and a subcommand's variable (BURSAR_MODE) is read from the given environment and checked like a flag.
    const saved = { url: process.env.BURSAR_URL, db: process.env.BURSAR_DB };
    const processDb = join(t.dir, 'process.db');
    process.env.BURSAR_URL = 'http://127.0.0.1:1';
    process.env.BURSAR_DB = processDb;
    try {
      const given = join(t.dir, 'given.db');
      const created = await runInProcess(['budgets', 'create', 'acme'], { BURSAR_DB: given });
      expect([created.code, created.stderr]).toEqual([0, '']);
      expect([existsSync(given), existsSync(processDb)]).toEqual([true, false]);
      const mode = await runInProcess(['--db', given, 'serve', '--port', '0'], { BURSAR_MODE: 'bogus' });
      expect([mode.code, mode.stdout]).toEqual([2, '']);
      expect(mode.stderr).toBe("bursar: usage: option '--mode <mode>' value 'bogus' from env 'BURSAR_MODE' is invalid. Allowed choices are enforce, shadow, dry-run. (see --help)\n");
    } finally {
      for (const [key, value] of [['BURSAR_URL', saved.url], ['BURSAR_DB', saved.db]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('sees from one process what another wrote, including concurrent writers', async () => {
    // Proves the CLI works with several processes on one database: four executables write at once, and each write is visible to the next process.
    await t.ok('budgets', 'create', 'acme');
    const writers = await Promise.all(['a', 'b', 'c', 'd'].map((name) => runExecutable(['--db', t.db, 'agents', 'create', `acme/${name}`, '--budget-limit', '1'])));
    for (const run of writers) expect([run.code, run.stderr]).toEqual([0, '']);
    const { agents } = await t.json<{ agents: { path: string; limit_micros: number }[] }>('agents', 'list');
    expect(agents.map((a) => [a.path, a.limit_micros])).toEqual(['a', 'b', 'c', 'd'].map((n) => [`acme/${n}`, 1_000_000]));
    await t.ok('audit', 'verify');
  });

  it('prints help and version with exit 0, and a group without a command with exit 2', async () => {
    // Proves the entry points: --help documents units, times and exit codes.
    const help = await runInProcess(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: bursar');
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 refused or failed, 2 bad usage.');
    const createHelp = await runInProcess(['agents', 'create', '--help']);
    expect(createHelp.stdout).toContain('with --parents they are created without limits');
    expect((await runInProcess(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const bare = await runInProcess(['agents']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: bursar agents');
  });

  it('exits the real executable with the code and on the stream each outcome calls for', async () => {
    // Proves the process wiring of main.ts: exit 0 with the version on stdout, 1 with one error line on stderr, 2 with a group's help on stderr.
    const [version, refused, bare] = await Promise.all([
      runExecutable(['--version']),
      runExecutable(['--db', join(t.dir, 'missing.db'), 'agents', 'list']),
      runExecutable(['agents']),
    ]);
    expect([version.code, version.stderr]).toEqual([0, '']);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toMatch(/^bursar: store_unavailable: no Bursar database at .*missing\.db[^\n]*\n$/);
    expect([bare.code, bare.stdout]).toEqual([2, '']);
    expect(bare.stderr).toContain('Usage: bursar agents');
  });
});
