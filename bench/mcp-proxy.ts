/**
 * MCP proxy overhead: the round trip of one tool call through `bursar mcp-proxy` (reserve on the
 * token's chain, forward, settle) against calling the same upstream MCP server directly, both
 * over stdio with the official SDK client, one call at a time. The upstream is
 * bench/mcp-echo-server.mjs; the proxy runs the CLI from source (tsx) with the executable's V8
 * flags, on a fresh SQLite ledger. Warm-up, then interleaved rounds of each; every proxied call
 * must end as one settlement and the ledger must audit. Prints one JSON line per target.
 *
 *   npm run bench:mcp
 *   npm run bench:mcp -- --seconds 2 --rounds 4 --warmup 1
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { nodeFlags } from '../src/cli/node-flags.js';
import { newSpendToken } from '../src/core/index.js';
import { openSqliteStore, type Store } from '../src/store/index.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '6' }, warmup: { type: 'string', default: '2' } } });
function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number (got ${text})`);
    process.exit(2);
  }
  return n;
}
const seconds = positive('seconds', values.seconds);
const rounds = Math.ceil(positive('rounds', values.rounds));
const warmupS = positive('warmup', values.warmup);
const pricePerCallUsd = '0.0001';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A ledger with one agent whose token may spend without limit (no burn limit either: the bench calls fast). */
async function ledger(dbPath: string): Promise<{ store: Store; secret: string }> {
  const store = openSqliteStore({ path: dbPath });
  for (const made of [
    await store.createBudget({ path: 'bench', kind: 'org', limitMicros: null }),
    await store.createBudget({ path: 'bench/agent', kind: 'agent', limitMicros: null, policy: { burnLimits: [], inflightMax: 64 } }),
  ]) {
    if (!made.ok) throw new Error(`${made.code}: ${made.message}`);
  }
  const token = newSpendToken((n) => randomBytes(n));
  const minted = await store.mintToken({ path: 'bench/agent', tokenId: token.id, hash: token.hash, limitMicros: null });
  if (!minted.ok) throw new Error(`${minted.code}: ${minted.message}`);
  return { store, secret: token.secret };
}

async function connect(command: string, args: string[], env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ command, args, env, stderr: 'ignore' }));
  return client;
}

/** Calls `echo` one at a time until `seconds` have passed; the latency of each in µs. */
async function drive(client: Client, forS: number): Promise<number[]> {
  const latenciesUs: number[] = [];
  const until = performance.now() + forS * 1_000;
  while (performance.now() < until) {
    const t0 = performance.now();
    const r = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    if (r.isError === true) throw new Error(`the call failed: ${JSON.stringify(r.content)}`);
    latenciesUs.push((performance.now() - t0) * 1_000);
  }
  return latenciesUs;
}

const dir = mkdtempSync(join(tmpdir(), 'bursar-bench-mcp-'));
try {
  const dbPath = join(dir, 'bench.db');
  const { store, secret } = await ledger(dbPath);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const upstream = `${process.execPath} bench/mcp-echo-server.mjs`;
  const direct = await connect(process.execPath, ['bench/mcp-echo-server.mjs'], env);
  const proxied = await connect(process.execPath, [...nodeFlags, '--import', 'tsx', 'src/cli/main.ts', '--db', dbPath, 'mcp-proxy', '--upstream', upstream, '--price', `echo=${pricePerCallUsd}`, '--session', 'bench'], { ...env, BURSAR_TOKEN: secret });
  const targets = { direct, proxy: proxied };
  const counted = { direct: 0, proxy: 0 };
  for (const [name, client] of Object.entries(targets)) counted[name as keyof typeof counted] += (await drive(client, warmupS)).length;
  const latencies = { direct: [] as number[], proxy: [] as number[] };
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, client] of Object.entries(targets)) {
      const measured = await drive(client, seconds);
      latencies[name as keyof typeof latencies].push(...measured);
      counted[name as keyof typeof counted] += measured.length;
    }
  }
  await direct.close();
  await proxied.close();
  const settled = await countSettled(store);
  const audit = await store.audit();
  await store.close();
  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { calls: xs.length, calls_per_s: Math.round(xs.length / (rounds * seconds)), p50_us: Math.round(percentile(sorted, 50)), p99_us: Math.round(percentile(sorted, 99)) };
  };
  const d = stats(latencies.direct);
  const p = stats(latencies.proxy);
  console.log(JSON.stringify({ bench: 'mcp_proxy', target: 'direct', ...d }));
  console.log(JSON.stringify({ bench: 'mcp_proxy', target: 'proxy', ...p, added_p50_us: p.p50_us - d.p50_us, added_p99_us: p.p99_us - d.p99_us, proxied_calls: counted.proxy, settled, audit_ok: audit.problems.length === 0 }));
  if (settled !== counted.proxy || audit.problems.length > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Settlements of the bench's session, counted page by page. */
async function countSettled(store: Store): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await store.ledger({ session: 'bench', kinds: ['settle'], cursor, limit: 1_000 });
    n += page.entries.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return n;
}
