/**
 * Child process for bench/gateway.ts: a Bursar server (the built package in dist/, as users run
 * it; bench/gateway.ts forks it with the executable's V8 flags) on a fresh SQLite file, forwarding to the mock provider named by BURSAR_OPENAI_BASE_URL,
 * with an agent and a spend token that can pay for the whole run. Prints `{"url","token"}` once
 * listening; answers `rss` and `ledger` messages over IPC.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newSpendToken } from '../dist/core/index.js';
import { startServer } from '../dist/server/index.js';
import { openSqliteStore } from '../dist/store/index.js';

const path = join(mkdtempSync(join(tmpdir(), 'bursar-gwbench-')), 'bench.db');
const store = openSqliteStore({ path, checkpoints: 'background', writer: process.env.BENCH_WRITER === 'inline' ? 'inline' : 'thread' });
const big = 1_000_000_000_000;
await store.createBudget({ path: 'bench', kind: 'org', limitMicros: big, period: 'month' });
await store.createBudget({ path: 'bench/team', kind: 'team', limitMicros: big });
// Loop detection stays on (every call is fingerprinted and counted) with a limit the benchmark's one
// repeated request cannot reach: 100,000 repeats in any second.
await store.createBudget({ path: 'bench/team/agent', kind: 'agent', limitMicros: big, policy: { inflightMax: 100_000, loopLimit: { repeats: 100_000, windowMs: 1_000 } } });
const token = newSpendToken((n) => randomBytes(n));
await store.mintToken({ path: 'bench/team/agent', tokenId: token.id, hash: token.hash, limitMicros: big });
const server = await startServer({ port: 0, store, env: process.env, adminKeys: { admin: ['bench-admin-key-0123456789'], viewer: [] } });
// The mock's per-request controls (x-mock-chunks, …) reach it through Bursar as they do from the
// other targets; a server pointed at a real provider passes no such headers.
Object.assign(server.gateway.upstream.config, { passHeaderPrefixes: ['x-mock-'] });
process.stdout.write(`${JSON.stringify({ url: server.url, token: token.secret })}\n`);
process.on('message', (message) => {
  if (message === 'rss') process.send?.({ rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, external: process.memoryUsage().external, buffers: process.memoryUsage().arrayBuffers });
  if (message === 'ledger') void ledger().then((l) => process.send?.({ ledger: l }));
  if (message === 'stop') void server.close().then(() => process.exit(0));
});

/** What the ledger file holds: entries by kind, reservations still open, and whether it replays. */
async function ledger() {
  await store.sweep();
  const db = new Database(path, { readonly: true });
  const kinds = Object.fromEntries(db.prepare('SELECT kind, count(*) AS n FROM ledger GROUP BY kind').all().map((r) => [r.kind, r.n]));
  db.close();
  const audit = await store.audit();
  return { reserves: kinds.reserve ?? 0, settles: kinds.settle ?? 0, voids: kinds.void ?? 0, open_reservations: audit.openReservations, audit_ok: audit.ok };
}
