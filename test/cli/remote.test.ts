import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteBackend } from '../../src/cli/remote-backend.js';
import { openSqliteStore } from '../../src/store/index.js';
import { adminKey, startApi, viewerKey, type ApiServer } from '../api/api-harness.js';
import { runExecutable, runInProcess, spend, tempDb, type TempDb } from './cli-harness.js';

/** Masks what differs between two ledgers written at different moments: times and hashes. */
function normalize(text: string): string {
  return text
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z/g, '<time>')
    .replace(/\b\d{13}\b/g, '<ms>')
    .replace(/\b[0-9a-f]{64}\b/g, '<hash>')
    .replace(/\b[0-9a-f]{16}…/g, '<hash16>…');
}

/** The same session against both targets: every command, human and --json, including refusals. */
const script: string[][] = [
  // A write first: a read of a missing local file is refused, while a server always has a ledger.
  ['budgets', 'grant', 'acme/nope', '1'],
  ['agents', 'list'],
  ['tokens', 'list'],
  ['tokens', 'revoke', 'tok_missing00001'],
  ['--json', 'tokens', 'mint', '--agent', 'acme/nobody'],
  ['budgets', 'tree'],
  ['--json', 'budgets', 'tree'],
  ['agents', 'create', 'acme/research/market-researcher', '--budget-limit', '5.00', '--models', 'gpt-4o,claude-*', '--request-cap', '0.50', '--parents'],
  ['budgets', 'create', 'acme/sales', '--budget-limit', '100', '--period', 'week'],
  ['--json', 'agents', 'create', 'acme/sales/closer', '--budget-limit', '2', '--timezone', 'Europe/Amsterdam'],
  ['agents', 'list'],
  ['--json', 'agents', 'list', 'acme/sales'],
  ['agents', 'update', 'market-researcher', '--budget-limit', '50', '--max-inflight', '8'],
  ['agents', 'pause', 'acme/research/market-researcher', '--reason', 'runaway loop'],
  ['--json', 'agents', 'resume', 'market-researcher'],
  ['budgets', 'show', 'acme/research/market-researcher'],
  ['--json', 'budgets', 'show', 'acme/sales/closer'],
  ['budgets', 'update', 'acme/sales', '--no-limit'],
  ['budgets', 'grant', 'acme/sales/closer', '0.25', '--reason', 'top-up'],
  ['budgets', 'move', 'acme/sales/closer', '--to', 'acme/research'],
  ['budgets', 'tree'],
  ['--json', 'budgets', 'tree', 'acme/research'],
  ['budgets', 'pause', 'acme/sales'],
  ['budgets', 'close', 'acme/sales'],
  ['budgets', 'resume', 'acme/sales'],
  ['budgets', 'create', 'acme'],
  ['--json', 'agents', 'create', 'other/team/bot'],
  ['budgets', 'grant', 'acme/nope', '1'],
  ['agents', 'update', 'acme/sales', '--budget-limit', '1'],
  ['agents', 'pause', 'nobody'],
  ['budgets', 'move', 'acme/research', '--to', 'acme/research/market-researcher'],
  ['--json', 'budgets', 'create', 'acme/research/market-researcher/sub', '--models', 'o1'],
  ['budgets', 'grant', 'acme', '1'],
  ['budgets', 'show', 'acme/nope'],
  ['ledger', 'export', '--budget', 'acme/nope'],
  ['SPEND'],
  ['credits', 'history', '--agent', 'market-researcher'],
  ['--json', 'credits', 'history', '--agent', 'acme/research', '--limit', '3'],
  ['ledger', 'export', '--format', 'csv'],
  ['ledger', 'export', '--format', 'json', '--budget', 'acme/research', '--session', 's1'],
  ['ledger', 'export', '--format', 'jsonl', '--model', 'gpt-4o'],
  // Guards: a burn limit trips, alerts are listed, the breaker is reset by hand.
  ['agents', 'create', 'acme/research/hot', '--budget-limit', '0.001', '--burn-limit', '0.001/1m', '--alert-thresholds', '50,100'],
  ['TRIP'],
  ['budgets', 'show', 'acme/research/hot'],
  ['budgets', 'tree', 'acme/research'],
  ['alerts', 'list'],
  ['--json', 'alerts', 'list', '--budget', 'acme/research', '--basis', 'committed'],
  ['alerts', 'list', '--budget', 'acme/nope'],
  ['refusals', 'list'],
  ['--json', 'refusals', 'list', '--agent', 'market-researcher', '--since', '1h'],
  ['refusals', 'list', '--agent', 'market-reseacher'],
  ['budgets', 'reset-breaker', 'acme/research/hot', '--reason', 'checked'],
  ['--json', 'budgets', 'reset-breaker', 'acme/research/hot'],
  ['agents', 'update', 'hot', '--burn-limit', '5/1h', '--burn-limit', '1/1m', '--no-alert-thresholds'],
  ['agents', 'create', 'acme/research/cold', '--burn-limit', '0/1m'],
  // Budgets across the tree, and routing policy.
  ['budgets', 'limit-model', 'acme/research', 'gpt-4o*', '20', '--period', 'day'],
  ['--json', 'budgets', 'limit-model', 'acme/research', 'gpt-4o*', '25'],
  ['budgets', 'limit-model', 'acme/nope', 'gpt-4o', '1'],
  ['budgets', 'limit-model', 'acme/research', 'gtp-4o*', '1'],
  ['tags', 'limit', 'product:chat-bot', '10', '--period', 'day'],
  ['--json', 'tags', 'list'],
  ['providers', 'limit', 'openai', '100', '--period', 'day'],
  ['providers', 'limit', 'opnai', '1'],
  ['providers', 'list'],
  ['budgets', 'update', 'acme/research', '--brownout', '90:gpt-4o=gpt-4o-mini', '--fallback', 'gpt-4o=gpt-4.1-mini', '--require-tags', 'product'],
  ['budgets', 'update', 'acme/research', '--fallback', 'gpt-4o=my-private-model'],
  ['--json', 'budgets', 'show', 'acme/research'],
  ['audit', 'verify'],
  ['--json', 'audit', 'verify'],
];

describe('bursar --url (the CLI against a server)', () => {
  let server: ApiServer;
  let local: TempDb;

  beforeAll(async () => {
    server = await startApi();
    local = tempDb();
  });
  afterAll(async () => {
    await server.close();
    local.remove();
  });

  it('prints exactly what it prints against a local database, for every command and refusal', async () => {
    // Proves parity: the same script run on a local file and through the admin API gives the same stdout, stderr and exit codes (times and hashes masked).
    let printed = 0;
    let failed = 0;
    for (const args of script) {
      if (args[0] === 'SPEND') {
        const store = openSqliteStore({ path: local.db });
        for (const target of [store, server.store]) {
          await spend(target, 'acme/research/market-researcher', 420_000, { model: 'gpt-4o', session: 's1', task: 'crawl' });
          await spend(target, 'acme/research/closer', 999_999, { model: 'claude-sonnet-4', session: 's2' });
        }
        await store.close();
        continue;
      }
      if (args[0] === 'TRIP') {
        const store = openSqliteStore({ path: local.db });
        for (const target of [store, server.store]) {
          expect((await target.reserve({ path: 'acme/research/hot', amountMicros: 600 })).ok).toBe(true);
          const tripped = await target.reserve({ path: 'acme/research/hot', amountMicros: 600 });
          expect(tripped.ok ? 'ok' : tripped.code).toBe('burn_limit');
        }
        await store.close();
        continue;
      }
      const atFile = await runInProcess(['--db', local.db, ...args]);
      const atServer = await runInProcess(['--url', server.url, ...args], { BURSAR_ADMIN_KEY: adminKey });
      const label = `bursar ${args.join(' ')}`;
      expect(normalize(atServer.stdout), label).toBe(normalize(atFile.stdout));
      expect(normalize(atServer.stderr), label).toBe(normalize(atFile.stderr));
      expect(atServer.code, label).toBe(atFile.code);
      if (atFile.stdout.trim() !== '') printed += 1;
      if (atFile.code !== 0) failed += 1;
    }
    expect(printed).toBeGreaterThan(25);
    expect(failed).toBeGreaterThanOrEqual(10);
    // The script exercised refusals, not only successes.
    const refused = await runInProcess(['--url', server.url, 'budgets', 'create', 'acme'], { BURSAR_ADMIN_KEY: adminKey });
    expect(refused.stderr).toBe('bursar: budget_exists: a budget already exists at acme\n');
  });

  it('runs from the real executable with BURSAR_URL and BURSAR_ADMIN_KEY, and explains auth and connection failures', async () => {
    // Proves the wiring end to end: the executable's environment selects the server, keys are checked, viewer keys only read, an unreachable server is named.
    const env = { BURSAR_URL: server.url, BURSAR_ADMIN_KEY: adminKey };
    const listed = await runExecutable(['--json', 'agents', 'list'], env);
    expect(listed.stderr).toBe('');
    expect((JSON.parse(listed.stdout) as { agents: { path: string }[] }).agents.map((a) => a.path)).toContain('acme/research/market-researcher');

    const noKey = await runInProcess(['agents', 'list'], { BURSAR_URL: server.url, BURSAR_ADMIN_KEY: '', BURSAR_VIEWER_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/^bursar: unauthorized: set BURSAR_ADMIN_KEY/);

    const [wrong, viewer, down] = await Promise.all([
      runInProcess(['agents', 'list'], { BURSAR_URL: server.url, BURSAR_ADMIN_KEY: 'wrong-key-0123456789' }),
      runInProcess(['agents', 'pause', 'market-researcher'], { BURSAR_URL: server.url, BURSAR_ADMIN_KEY: '', BURSAR_VIEWER_KEY: viewerKey }),
      runInProcess(['--url', 'http://127.0.0.1:1', 'agents', 'list'], { BURSAR_ADMIN_KEY: adminKey }),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe('bursar: unauthorized: unknown admin API key\n');
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/^bursar: forbidden: .*viewer \(read-only\) key/);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^bursar: server_unreachable: cannot reach the Bursar server at http:\/\/127\.0\.0\.1:1 /);
  });

  it('mints, lists and revokes tokens through the server as the store itself answers', async () => {
    // Proves the remote token operations (for `bursar tokens`): same views, same refusals with the ledger's field names.
    const remote = new RemoteBackend({ url: server.url, key: adminKey });
    const expiresMs = Date.UTC(2030, 0, 1, 12, 0, 0, 123);
    const minted = await remote.mintToken({ path: 'acme/research/market-researcher', limitMicros: 2_000_000, models: ['gpt-4o'], expiresMs, requestCapMicros: 100_000, inflightMax: 2, scopes: ['delegate'], labels: { task: 'crawl' }, reason: 'test' });
    if (!minted.ok) throw new Error(minted.message);
    expect(minted.secret).toMatch(/^bsr_/);
    expect(minted.token).toMatchObject({ expiresMs, scopes: ['delegate'], labels: { task: 'crawl' } });
    expect(minted.envelope).toMatchObject({ kind: 'envelope', limitMicros: 2_000_000, policy: { models: ['gpt-4o'], requestCapMicros: 100_000, inflightMax: 2 } });
    expect(await remote.listTokens()).toEqual(await server.store.listTokens());

    const revoked = await remote.revokeToken({ id: minted.token.id, reason: 'done' });
    expect(revoked).toEqual({ ok: true, revoked: [minted.token.id] });
    expect(await remote.listTokens()).toEqual(await server.store.listTokens());

    for (const id of ['nope', 'tok_AAAAAAAAAAAA']) {
      const viaServer = await remote.revokeToken({ id });
      const viaStore = await server.store.revokeToken({ tokenId: id });
      expect(viaServer).toEqual(viaStore);
    }
    const nowhere = await remote.mintToken({ path: 'acme/nope', limitMicros: null, expiresMs: null, scopes: [], labels: {} });
    expect(nowhere).toEqual(await server.store.mintToken({ path: 'acme/nope', tokenId: 'tok_AAAAAAAAAAAA', hash: 'a'.repeat(64) }));
  });

  it('refuses a bad --url and --url together with --db', async () => {
    // Proves the global option's checks: a usage error (exit 2) naming the option.
    const bad = await runInProcess(['--url', 'ftp://example.com', 'agents', 'list']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^bursar: invalid_url: --url: "ftp:\/\/example\.com" is not a server URL/);
    const both = await runInProcess(['--url', server.url, '--db', local.db, 'agents', 'list'], { BURSAR_ADMIN_KEY: adminKey });
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('bursar: usage: give --db (a local ledger) or --url (a server), not both\n');
  });
});
