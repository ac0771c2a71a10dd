import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { occupyPort, runCliProcess, startCli, type CliProcess } from './process-harness.js';

/** `bursar serve` and `bursar mock-upstream` as real processes: how they start, and how they refuse to. */

let dir: string;
let blocker: Awaited<ReturnType<typeof occupyPort>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-serve-'));
  blocker = await occupyPort();
});

afterAll(async () => {
  await blocker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a port that is already taken', () => {
  it('makes bursar serve --port exit by itself, non-zero, naming --port and BURSAR_PORT', async () => {
    // Proves a busy port ends the process (the mock provider and the store are closed again)
    // instead of leaving it running without a server after the error.
    const run = await runCliProcess(['--db', join(dir, 'a.db'), 'serve', '--port', String(blocker.port)]);
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`bursar: port_in_use: 127.0.0.1:${blocker.port} is already in use`);
    expect(run.stderr).toContain('--port');
    expect(run.stderr).toContain('BURSAR_PORT');
    expect(run.stdout).toBe('');
  });

  it('ends npm start (serve --quickstart, port from BURSAR_PORT) the same way, in JSON with --json', async () => {
    // Proves the quick start's path (seeding waits for a listening server) and the
    // environment variable end the same way, with the stable code in the JSON error.
    const run = await runCliProcess(['--db', join(dir, 'b.db'), '--json', 'serve', '--quickstart'], { BURSAR_PORT: String(blocker.port) });
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code).toBe(2);
    const error = JSON.parse(run.stderr) as { ok: boolean; code: string; message: string };
    expect(error).toMatchObject({ ok: false, code: 'port_in_use' });
    expect(error.message).toContain('BURSAR_PORT');
  });

  it('makes bursar mock-upstream --port exit non-zero with port_in_use rather than an internal error', async () => {
    // Proves the fake provider's command reports a busy port as something to fix.
    const run = await runCliProcess(['mock-upstream', '--port', String(blocker.port)]);
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`bursar: port_in_use: 127.0.0.1:${blocker.port} is already in use`);
    expect(run.stderr).toContain('--port');
  });
});

describe('npm start', () => {
  it('shows the demo agent\'s safe defaults: 4 calls in flight, a 2 USD per minute burn limit, alerts at 50/75/90/100 %', async () => {
    // Proves a fresh quick start tells what guards the new agent got without being asked.
    const proc = startCli(['--db', join(dir, 'defaults.db'), 'serve', '--port', '0', '--quickstart']);
    try {
      const printed = await proc.waitFor(/Its safe defaults: .*$/m);
      expect(printed).toBe('Its safe defaults: at most 4 calls in flight, a burn limit of $2.00 per 1m, a loop limit of 20 repeats of one request per 10m, alerts at 50/75/90/100% of each limit.');
    } finally {
      await proc.stop();
    }
  });
});

/** What `bursar --json serve` prints once it listens. */
interface ServeJson {
  url: string;
  token: string | null;
  mock_upstream: string | null;
  base_urls: Record<string, string>;
  upstream: { mock: boolean; reason: string; openai: { base_url: string; host: string; key: boolean }; anthropic: { base_url: string; host: string; key: boolean } };
}

/** Starts `bursar --json serve <args>` on a free port and returns what it printed once listening. */
async function serveJson(args: string[], env: Record<string, string>): Promise<{ proc: CliProcess; info: ServeJson }> {
  const proc = startCli(['--db', join(dir, `${args.join('-').replace(/\W+/g, '')}-${Object.keys(env).length}.db`), '--json', 'serve', '--port', '0', ...args], env);
  const printed = await proc.waitFor(/^\{[\s\S]*^\}$/m);
  return { proc, info: JSON.parse(printed) as ServeJson };
}

async function chat(url: string, token: string): Promise<{ status: number; body: { error?: { code?: string; message?: string } } }> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'Hello' }] }) });
  return { status: res.status, body: (await res.json()) as { error?: { code?: string; message?: string } } };
}

describe('which upstream the server uses', () => {
  it('keeps npm start (serve --quickstart) on the mock when provider keys are exported, and a call is answered offline', async () => {
    // Proves an exported OPENAI_API_KEY no longer takes the offline quick start to the real provider.
    const { proc, info } = await serveJson(['--quickstart'], { OPENAI_API_KEY: 'sk-not-a-real-key', ANTHROPIC_API_KEY: 'sk-ant-not-real' });
    try {
      expect(info.upstream.mock).toBe(true);
      expect(info.upstream.reason).toContain('--upstream real');
      expect(info.upstream.openai.base_url).toBe(`${info.mock_upstream}/v1`);
      expect(info.base_urls).toEqual({ openai: `${info.url}/v1`, anthropic: info.url, ai_sdk_anthropic: `${info.url}/v1` });
      const answer = await chat(info.url, info.token ?? '');
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    } finally {
      await proc.stop();
    }
  });

  it('follows an explicit base URL in the quick start, and a 502 names the host it could not reach and why', async () => {
    // Proves the quick start goes to a configured provider, and that an unreachable one is
    // reported by host and cause instead of "the provider could not be reached".
    const closed = await occupyPort();
    await closed.close();
    const { proc, info } = await serveJson(['--quickstart'], { BURSAR_OPENAI_BASE_URL: `http://127.0.0.1:${closed.port}/v1` });
    try {
      expect(info.upstream).toMatchObject({ mock: false, reason: 'BURSAR_OPENAI_BASE_URL set', openai: { host: `127.0.0.1:${closed.port}`, key: false } });
      const answer = await chat(info.url, info.token ?? '');
      expect(answer.status).toBe(502);
      expect(answer.body.error?.code).toBe('upstream_error');
      expect(answer.body.error?.message).toBe(`the provider at 127.0.0.1:${closed.port} could not be reached: nothing is listening there (ECONNREFUSED)`);
    } finally {
      await proc.stop();
    }
  });

  it('prints, for bursar serve with a key set, which URL each provider goes to and with which key, and the base URL each SDK needs', async () => {
    // Proves the banner tells where calls will go (host included) before any call is made, and
    // which clients want /v1 in their base URL.
    const proc = startCli(['--db', join(dir, 'banner.db'), 'serve', '--port', '0'], { OPENAI_API_KEY: 'sk-not-a-real-key' });
    try {
      await proc.waitFor(/Press Ctrl-C to stop\./);
    } finally {
      const run = await proc.stop();
      expect(run.stdout).toContain('upstream  the providers (OPENAI_API_KEY set)');
      expect(run.stdout).toMatch(/OpenAI +https:\/\/api\.openai\.com\/v1 \(key from OPENAI_API_KEY\)/);
      expect(run.stdout).toMatch(/Anthropic +https:\/\/api\.anthropic\.com \(no ANTHROPIC_API_KEY set\)/);
      expect(run.stdout).not.toContain('sk-not-a-real-key');
      const url = /listening on (\S+)/.exec(run.stdout)?.[1] ?? '';
      expect(run.stdout).toMatch(new RegExp(`base URLs ${url}/v1 +openai, @ai-sdk/openai, @ai-sdk/anthropic,`));
      expect(run.stdout).toMatch(new RegExp(`\n +${url} +@anthropic-ai/sdk`));
    }
  });

  it('refuses a base URL that is not a URL, and a conflicting --mock-upstream, exiting by itself', async () => {
    // Proves bad upstream settings end the start with a code saying what to fix, before any port or file is opened.
    const bad = await runCliProcess(['--db', join(dir, 'bad.db'), 'serve', '--port', '0'], { BURSAR_ANTHROPIC_BASE_URL: 'api.anthropic.com' });
    expect(bad.signal).toBeNull();
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bursar: invalid_base_url: BURSAR_ANTHROPIC_BASE_URL must be an http(s) URL');
    expect(existsSync(join(dir, 'bad.db'))).toBe(false);
    const both = await runCliProcess(['--db', join(dir, 'bad.db'), 'serve', '--port', '0', '--upstream', 'real', '--mock-upstream']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("option '--mock-upstream' cannot be used with option '--upstream <where>'");
  });

  it('refuses a short admin key before it creates the ledger file', async () => {
    // Proves configuration is checked before anything is opened: a start that cannot go on
    // leaves no new database behind.
    const run = await runCliProcess(['--db', join(dir, 'key.db'), 'serve', '--port', '0'], { BURSAR_ADMIN_KEY: 'short' });
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^bursar: invalid_admin_key: /);
    expect(existsSync(join(dir, 'key.db'))).toBe(false);
  });
});
