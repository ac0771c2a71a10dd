/**
 * Child process for bench/soak.ts and bench/abuse.ts: a Bursar server from the sources (under
 * tsx, with the executable's V8 flags, given by the parent) on a fresh SQLite file, with the
 * default connection bounds and failed-authentication limit, forwarding to the provider named by
 * BURSAR_OPENAI_BASE_URL / BURSAR_ANTHROPIC_BASE_URL (the parent's mock). One agent and a spend
 * token can pay for the whole run, with no burn limit. Prints `{"url","token","adminKey"}` once
 * listening; on SIGTERM it stops, audits the ledger and prints `{"audit_problems"}`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSpendToken } from '../src/core/index.js';
import { startServer } from '../src/server/index.js';
import { openSqliteStore } from '../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bursar-bench-'));
const db = join(dir, 'bench.db');
const store = openSqliteStore({ path: db, checkpoints: 'background' });
const big = 1_000_000_000_000;
const adminKey = 'bench-admin-key-0123456789';
await store.createBudget({ path: 'bench', kind: 'org', limitMicros: big, period: 'month' });
await store.createBudget({ path: 'bench/team', kind: 'team', limitMicros: big });
await store.createBudget({ path: 'bench/team/agent', kind: 'agent', limitMicros: big, policy: { inflightMax: 100_000, burnLimits: [] } });
const token = newSpendToken((n) => randomBytes(n));
await store.mintToken({ path: 'bench/team/agent', tokenId: token.id, hash: token.hash, limitMicros: big });
const server = await startServer({ port: 0, store, env: process.env, adminKeys: { admin: [adminKey], viewer: [] }, dashboard: false, log: () => undefined });
process.stdout.write(`${JSON.stringify({ url: server.url, token: token.secret, adminKey })}\n`);
process.once('SIGTERM', () => {
  void (async () => {
    await server.close({ drainMs: 2_000 });
    const audit = openSqliteStore({ path: db });
    const problems = (await audit.audit()).problems.length;
    await audit.close();
    process.stdout.write(`${JSON.stringify({ audit_problems: problems })}\n`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  })();
});
