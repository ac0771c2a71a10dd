import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runInProcess, tempDb, type TempDb } from './cli-harness.js';

let t: TempDb;
const cli = (...args: string[]) => runInProcess(['--db', t.db, ...args]);

beforeAll(async () => {
  t = tempDb();
  expect((await cli('agents', 'create', 'acme/research/bot', '--budget-limit', '5.00', '--parents')).code).toBe(0);
});

afterAll(() => t.remove());

describe('bursar tokens', () => {
  it('mints a token, prints it once, lists it without the token itself, and revokes it', async () => {
    // Proves the token lifecycle from the CLI: the token is shown at mint, with the limits it set, and never again.
    const minted = await cli('--json', 'tokens', 'mint', '--agent', 'acme/research/bot', '--max-spend', '2.00', '--models', 'gpt-4o-mini', '--expires', '24h', '--per-request-cap', '0.50', '--max-inflight', '3', '--delegate');
    expect(minted.code).toBe(0);
    const out = JSON.parse(minted.stdout) as { id: string; token: string; budget: string; max_spend_micros: number; expires_at: string; scopes: string[]; models: string[]; request_cap_micros: number; inflight_max: number; warnings: string[] };
    expect(out.token).toMatch(/^bsr_[A-Za-z0-9]{24}$/);
    expect(out.budget).toBe(`acme/research/bot/${out.id}`);
    expect([out.max_spend_micros, out.scopes, out.models, out.request_cap_micros, out.inflight_max, out.warnings]).toEqual([2_000_000, ['delegate'], ['gpt-4o-mini'], 500_000, 3, []]);
    expect(Date.parse(out.expires_at) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    const echoed = await cli('tokens', 'mint', '--agent', 'bot', '--max-spend', '1.50', '--models', 'gpt-4o-mini,claude-*', '--expires', '7d', '--per-request-cap', '0.25', '--max-inflight', '2', '--delegate');
    expect(echoed.stdout).toMatch(/max spend\s+\$1\.50\n\s+expires\s+\d{4}-\d\d-\d\dT[\d:]+Z\n\s+models\s+gpt-4o-mini, claude-\*\n\s+per request\s+at most \$0\.25\n\s+in flight\s+at most 2 at once\n\s+scopes\s+delegate/);
    expect(echoed.stdout).not.toContain('⚠');
    const list = await cli('tokens', 'list');
    expect(list.stdout).toContain(out.id);
    expect(list.stdout).not.toContain(out.token);
    const human = await cli('tokens', 'mint', '--agent', 'bot');
    expect(human.stdout).toMatch(/bsr_[A-Za-z0-9]{24}/);
    expect(human.stdout).toContain('for acme/research/bot (envelope acme/research/bot/tok_');
    expect(human.stdout).toContain('shown only now');
    // A token without a spend limit or an expiry says so.
    expect(human.stdout).toContain('⚠ no spend limit: the token may spend whatever acme/research/bot and the budgets above it allow; set one with --max-spend\n');
    expect(human.stdout).toContain('⚠ no expiry: the token works until it is revoked; set one with --expires');
    const unbounded = JSON.parse((await cli('--json', 'tokens', 'mint', '--agent', 'bot', '--expires', '1h')).stdout) as { warnings: string[]; max_spend_micros: null };
    expect([unbounded.max_spend_micros, unbounded.warnings.map((w) => w.split(':')[0])]).toEqual([null, ['no spend limit']]);
    const revoked = await cli('--json', 'tokens', 'revoke', out.id, '--reason', 'done');
    expect(JSON.parse(revoked.stdout)).toEqual({ ok: true, revoked: [out.id] });
    expect((await cli('--json', 'tokens', 'list')).stdout).toContain('"status": "revoked"');
  });

  it('refuses bad input with a clear code and exit status', async () => {
    // Proves the mint flags are checked before anything is written.
    const cases: [string[], number, string][] = [
      [['tokens', 'mint', '--agent', 'acme/nobody'], 1, 'unknown_budget'],
      [['tokens', 'mint', '--agent', 'nobody'], 1, 'unknown_budget'],
      [['tokens', 'mint', '--agent', 'acme/research/bot', '--max-spend', '-1'], 2, 'invalid_amount'],
      [['tokens', 'mint', '--agent', 'acme/research/bot', '--expires', 'tomorrow'], 2, 'invalid_time'],
      [['tokens', 'mint', '--agent', 'acme/research/bot', '--models', 'bad model'], 2, 'invalid_policy'],
      [['tokens', 'revoke', 'tok_doesnotexist'], 1, 'unknown_token'],
    ];
    for (const [args, code, text] of cases) {
      const run = await cli(...args);
      expect([run.code, run.stderr.includes(text)], args.join(' ')).toEqual([code, true]);
    }
  });
});

describe('bursar pricing', () => {
  it('lists the catalog and resolves a dated model name to its family', async () => {
    // Proves the price catalog is visible, dated, and resolves snapshot names.
    const list = await runInProcess(['--json', 'pricing', 'list', '--provider', 'openai']);
    const models = (JSON.parse(list.stdout) as { read_on: string; models: { model: string; input_micros_per_million: number }[] }).models;
    expect(models.find((m) => m.model === 'gpt-4o-mini')?.input_micros_per_million).toBe(150_000);
    const show = await runInProcess(['pricing', 'show', 'gpt-4o-mini-2024-07-18']);
    expect(show.stdout).toContain('gpt-4o-mini (from gpt-4o-mini-2024-07-18');
    expect(show.stdout).toContain('source');
    const unknown = await runInProcess(['pricing', 'show', 'my-own-model']);
    expect([unknown.code, unknown.stderr.includes('model_unpriced')]).toEqual([1, true]);
  });

  it('merges an override file and names the bad field of a broken one', async () => {
    // Proves `--pricing` overrides are applied and validated.
    const good = join(t.dir, 'prices.json');
    writeFileSync(good, JSON.stringify({ models: { 'my-model': { provider: 'openai', kind: 'chat', input: 1_000_000, output: 2_000_000, cachedInput: null, cacheWrite: null, maxOutputTokens: 4096 } } }));
    expect((await runInProcess(['pricing', 'show', 'my-model', '--pricing', good])).stdout).toContain('$1.00 / M tokens');
    const bad = join(t.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ models: { 'gpt-4o': { provider: 'openai', kind: 'chat', input: -1 } } }));
    const run = await runInProcess(['pricing', 'list', '--pricing', bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('gpt-4o');
  });
});

describe('bursar serve', () => {
  it('starts offline on an empty database, seeds a demo agent, prints a working curl, and stops on SIGTERM', async () => {
    // Proves the quick start: one command gives a server whose printed token spends through the gateway.
    const db = join(t.dir, 'serve.db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), '--db', db, 'serve', '--quickstart', '--port', '0'], { cwd: repoRoot, env: { ...process.env, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', BURSAR_ADMIN_KEY: '' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    for (let i = 0; i < 200 && !out.includes('Ctrl-C'); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    const token = /bsr_[A-Za-z0-9]{24}/.exec(out)?.[0];
    expect(out).toContain('built-in mock provider');
    expect(out).toContain('admin key bak_');
    const answer = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello from Bursar' }] }) });
    expect(answer.status).toBe(200);
    expect(Number(answer.headers.get('x-bursar-cost-micros'))).toBeGreaterThan(0);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const tree = await runInProcess(['--db', db, 'budgets', 'tree']);
    expect(tree.stdout).toContain('demo/agents'.split('/')[1]);
    expect((await runInProcess(['--db', db, 'audit', 'verify'])).code).toBe(0);
  });
});
