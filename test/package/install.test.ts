import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it: `npm pack` in the clone (which builds dist/), the tarball
 * installed into a fresh project, then `bursar` and `import … from 'bursar'` used from there,
 * with nothing of the clone on the way but the compiled SQLite binding.
 *
 * The install resolves the tarball's runtime dependencies like any install does (from npm's
 * cache when it holds them, else the registry), with --engine-strict, so a dependency that
 * does not run on this Node fails the test. better-sqlite3 is the one exception: its install
 * script downloads a prebuilt binary from GitHub or compiles SQLite for minutes, so the project
 * links the clone's already built copy, and install scripts are skipped.
 */

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
/** `node` as the executable's shebang finds it: the one running the tests, first on PATH. */
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, BURSAR_DB: undefined, BURSAR_URL: undefined };

let dir: string;
let app: string;
let tarball: string;

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Runs a command in the installed project; resolves with its output whatever its exit code. */
async function inApp(file: string, args: string[], cwd = app): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-package-'));
  // `npm pack` builds first (prepare), and the build's own lines come before the JSON.
  const output = await npm(['pack', '--json', '--pack-destination', dir], repoRoot);
  const packed = JSON.parse(output.slice(output.search(/^\[/m))) as { filename: string }[];
  tarball = join(dir, packed[0]?.filename ?? '');
  app = join(dir, 'app');
  mkdirSync(app);
  const sqlite = realpathSync(join(repoRoot, 'node_modules', 'better-sqlite3'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'an-app', version: '1.0.0', private: true, type: 'module', dependencies: { 'better-sqlite3': `file:${sqlite}` } }));
  await npm(['install', '--prefer-offline', '--engine-strict', '--ignore-scripts', '--no-audit', '--no-fund', tarball], app);
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the compiled package and its docs, without tests, source maps or sources', () => {
    // Proves `files` ships what an install runs (the CLI, the library, the bundled price tables) and nothing else.
    const installed = join(app, 'node_modules', 'bursar');
    const files = readdirSync(installed, { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile())
      .map((f) => relative(installed, join(f.parentPath, f.name)));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts', 'dist/pricing/catalog.json', 'dist/pricing/tools.json']));
    expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || f.includes('.test.') || f.includes('conformance'))).toEqual([]);
  });

  it('runs `npx bursar --version` from a folder inside the project', async () => {
    // Proves the bin is linked and executable with its shebang's Node flags, away from the clone.
    const sub = join(app, 'scripts');
    mkdirSync(sub, { recursive: true });
    const out = await inApp('npx', ['--no-install', 'bursar', '--version'], sub);
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe(version);
  });

  it('runs `bursar demo` offline to the end: the runaway is stopped by its budget and the ledger audits', async () => {
    // Proves the whole product works from the install: server, mock provider, SQLite, gateway, audit.
    const out = await inApp(join(app, 'node_modules', '.bin', 'bursar'), ['--db', join(app, 'demo.db'), 'demo']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('stopped by budget dennis/marketing-talent/market-researcher');
    expect(out.stdout).toMatch(/Audit: OK, replaying \d+ ledger entries reproduces every balance/);
  });

  it('is importable by an app, as JavaScript and with its types, next to a ledger the CLI made', async () => {
    // Proves `import { Bursar } from 'bursar'` resolves to the installed package, guards a paid
    // call on a budget the installed CLI created, and that TypeScript finds the declarations.
    const cli = join(app, 'node_modules', '.bin', 'bursar');
    const created = await inApp(cli, ['--db', join(app, 'ledger.db'), 'agents', 'create', 'acme/research/bot', '--budget-limit', '1.00', '--parents']);
    expect(created.stderr).toBe('');
    const script = [
      "import { Bursar } from 'bursar';",
      "const bursar = Bursar.local({ db: './ledger.db', budget: 'acme/research/bot' });",
      "const page = await bursar.guard.run({ tool: 'WebFetch', params: { url: 'https://example.com' } }, (ctx) => { ctx.reportCost(7_000); return 'a page'; });",
      'const remaining = await bursar.remaining();',
      'await bursar.close();',
    ];
    writeFileSync(join(app, 'check.mjs'), [...script, "console.log(JSON.stringify({ ok: page.ok, value: page.ok ? page.value : null, remaining, from: import.meta.resolve('bursar') }));"].join('\n'));
    const out = await inApp(process.execPath, ['check.mjs']);
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({ ok: true, value: 'a page', remaining: 993_000, from: `file://${join(app, 'node_modules', 'bursar', 'dist', 'index.js')}` });

    writeFileSync(join(app, 'check.ts'), [...script, 'const left: number | null = remaining;', 'export { left };'].join('\n'));
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const typed = await inApp(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', 'check.ts']);
    expect(typed.stdout + typed.stderr).toBe('');
    expect(typed.code).toBe(0);
  });
});
