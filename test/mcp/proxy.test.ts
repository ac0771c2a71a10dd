import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { proxyToolPrices } from '../../src/mcp/proxy-config.js';
import { startMcpProxy, upstreamTransport, type McpProxy } from '../../src/mcp/proxy.js';
import { runInProcess } from '../cli/cli-harness.js';
import { providerEnvCleared, repoRoot } from '../cli/process-harness.js';
import type { Minted } from '../gateway/agent-harness.js';
import { mcpFixture, type McpFixture } from './mcp-harness.js';
import { startUpstream, type Upstream } from './upstream.js';

/**
 * The metered MCP proxy in front of a small MCP server written for the test: each tool call is
 * reserved on the spend token's chain at the tool's price before it is forwarded, refused with a
 * tool error when the chain cannot take it, settled after, and labelled with session and task.
 */

interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  _meta?: Record<string, unknown>;
}

let fx: McpFixture;
let upstream: Upstream;
const opened: { close(): Promise<void> }[] = [];
const searchMicros = 2_000;
const prices = proxyToolPrices({ prices: { search: searchMicros } });

beforeAll(async () => {
  fx = await mcpFixture({ agentPolicy: { inflightMax: 100 } });
  upstream = await startUpstream();
});

afterAll(async () => {
  for (const o of opened.reverse()) await o.close();
  await upstream.close();
  const audit = await fx.store.audit();
  await fx.close();
  expect(audit.problems).toEqual([]);
});

/** A proxy for one token in front of `to`, and an agent's client connected to it. */
async function proxyFor(token: Minted, to: Upstream = upstream): Promise<{ client: Client; proxy: McpProxy }> {
  if (!prices.ok) throw new Error(prices.message);
  const proxy = await startMcpProxy({ upstream: upstreamTransport({ kind: 'url', url: new URL(to.url) }, {}), store: fx.store, prices: prices.prices, secret: token.secret, labels: { session: 'proxy-run', task: 'crawl' }, now: () => fx.store.now(), log: () => undefined });
  const [agentSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.server.connect(proxySide);
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(agentSide);
  opened.push(proxy, client);
  return { client, proxy };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

const textOf = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('');

test('the proxy lists the upstream\'s tools, each with the price one call reserves', async () => {
  const { client, proxy } = await proxyFor(await fx.mint());
  expect(proxy.upstreamName).toBe('test-upstream 1.0.0');
  const { tools } = await client.listTools();
  const priceOf = Object.fromEntries(tools.map((t) => [t.name, t._meta?.['bursar/price_micros']]));
  expect(priceOf).toEqual({ search: 2_000, mystery: 12_000, flaky: 12_000 });
  expect(tools.find((t) => t.name === 'search')?.inputSchema.required).toEqual(['query']);
});

test('a budget that holds exactly 7 calls admits 7 of 50 concurrent calls and refuses the other 43 with a budget_exceeded tool error', async () => {
  const token = await fx.mint({ limitMicros: 7 * searchMicros });
  const { client } = await proxyFor(token);
  const before = upstream.calls.get('search') ?? 0;
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call(client, 'search', { query: `q${i}` })));
  const admitted = results.filter((r) => r.isError !== true);
  const refused = results.filter((r) => r.isError === true);
  expect(admitted).toHaveLength(7);
  expect((upstream.calls.get('search') ?? 0) - before).toBe(7);
  for (const r of admitted) expect(r._meta).toMatchObject({ 'bursar/cost_micros': searchMicros, 'bursar/reservation': expect.stringMatching(/^rsv_/) as unknown });
  for (const r of refused) {
    expect(textOf(r)).toMatch(new RegExp(`^budget_exceeded: search was not called: budget ${token.envelope} has \\$0\\.00`));
    expect(r._meta?.['bursar/error']).toMatchObject({ code: 'budget_exceeded', budget: token.envelope, remaining_micros: 0 });
  }
  const envelope = await fx.store.getBudget(token.envelope);
  expect(envelope).toMatchObject({ spentMicros: 7 * searchMicros, reservedMicros: 0 });
  expect((await fx.store.audit()).problems).toEqual([]);
});

test('a tool the price table does not list is reserved and charged at the standard cost plus 20%', async () => {
  const { client } = await proxyFor(await fx.mint());
  const r = await call(client, 'mystery');
  expect(textOf(r)).toBe('done');
  expect(r._meta?.['bursar/cost_micros']).toBe(12_000);
  const id = r._meta?.['bursar/reservation'] as string;
  expect(await fx.store.getReservation(id)).toMatchObject({ amountMicros: 12_000, actualMicros: 12_000, status: 'settled' });
});

test('every ledger entry of a proxied call carries its session and task, and the reservation names the tool and the token', async () => {
  const token = await fx.mint();
  const { client } = await proxyFor(token);
  const r = await call(client, 'search', { query: 'labels' });
  const id = r._meta?.['bursar/reservation'] as string;
  const reservation = await fx.store.getReservation(id);
  expect(reservation?.labels).toEqual({ tool: 'search', tokenId: token.id, actor: `token:${token.id}`, session: 'proxy-run', task: 'crawl' });
  const entries = (await fx.store.ledger({ budget: token.envelope, kinds: ['reserve', 'settle'], order: 'asc' })).entries;
  expect(entries.map((e) => [e.kind, e.amountMicros, e.session, e.task])).toEqual([
    ['reserve', searchMicros, 'proxy-run', 'crawl'],
    ['settle', searchMicros, 'proxy-run', 'crawl'],
  ]);
});

test('a result the upstream marks as an error is charged, since the tool ran', async () => {
  const { client } = await proxyFor(await fx.mint());
  const r = await call(client, 'flaky');
  expect(r.isError).toBe(true);
  expect(textOf(r)).toBe('the service behind this tool is down');
  expect(await fx.store.getReservation(r._meta?.['bursar/reservation'] as string)).toMatchObject({ status: 'settled', actualMicros: 12_000 });
});

test('a call the upstream never answers is voided and refused with upstream_error', async () => {
  const doomed = await startUpstream();
  const token = await fx.mint();
  const { client } = await proxyFor(token, doomed);
  await doomed.close();
  const r = await call(client, 'search', { query: 'gone' });
  expect(r.isError).toBe(true);
  expect(textOf(r)).toMatch(/^upstream_error: the upstream MCP server could not be reached/);
  expect(await fx.store.getBudget(token.envelope)).toMatchObject({ spentMicros: 0, reservedMicros: 0 });
  expect((await fx.entries()).filter((e) => e.kind === 'void').length).toBeGreaterThan(0);
});

test('a token revoked while the proxy runs is refused with token_revoked and nothing is forwarded', async () => {
  const token = await fx.mint();
  const { client } = await proxyFor(token);
  expect((await fx.store.revokeToken({ tokenId: token.id })).ok).toBe(true);
  const before = upstream.calls.get('search') ?? 0;
  const r = await call(client, 'search', { query: 'after revoke' });
  expect(textOf(r)).toMatch(/^token_revoked: search was not called: token tok_\w+ has been revoked/);
  expect(upstream.calls.get('search') ?? 0).toBe(before);
});

test('bursar mcp-proxy runs an upstream command on stdio, meters its tools at the --price given and labels them with --session', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-echo-'));
  const sdk = (path: string) => pathToFileURL(createRequire(import.meta.url).resolve(`@modelcontextprotocol/sdk/${path}`).replace('/dist/cjs/', '/dist/esm/')).href;
  const script = join(dir, 'echo.mjs');
  writeFileSync(script, [
    `import { McpServer } from '${sdk('server/mcp.js')}';`,
    `import { StdioServerTransport } from '${sdk('server/stdio.js')}';`,
    `const server = new McpServer({ name: 'echo', version: '2.0.0' });`,
    `server.registerTool('echo', { description: 'Echoes.' }, () => ({ content: [{ type: 'text', text: 'echo' }] }));`,
    `await server.connect(new StdioServerTransport());`,
  ].join('\n'));
  const token = await fx.mint();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...providerEnvCleared, BURSAR_TOKEN: token.secret })) if (v !== undefined) env[k] = v;
  const args = ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), '--db', fx.dbPath, 'mcp-proxy', '--upstream', `${process.execPath} ${script}`, '--price', 'echo=0.005', '--session', 'cli-run'];
  const transport = new StdioClientTransport({ command: process.execPath, args, env, cwd: repoRoot, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    expect(tools.map((t) => [t.name, t._meta?.['bursar/price_micros']])).toEqual([['echo', 5_000]]);
    const r = await call(client, 'echo');
    expect(textOf(r)).toBe('echo');
    expect(r._meta?.['bursar/cost_micros']).toBe(5_000);
    const settled = (await fx.store.ledger({ session: 'cli-run', kinds: ['settle'] })).entries;
    expect(settled.map((e) => e.amountMicros)).toEqual([5_000]);
    expect(stderr).toContain(`bursar mcp-proxy: metering echo 2.0.0 for ${token.id}`);
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bursar mcp-proxy refuses a malformed price or upstream before starting anything', async () => {
  const price = await runInProcess(['--db', fx.dbPath, 'mcp-proxy', '--upstream', 'http://127.0.0.1:1/mcp', '--price', 'search=abc'], {});
  expect(price.code).toBe(2);
  expect(price.stderr).toContain('invalid_price: "search=abc": the price of one call is USD above 0');
  const quote = await runInProcess(['--db', fx.dbPath, 'mcp-proxy', '--upstream', 'node "server.mjs'], {});
  expect(quote.code).toBe(2);
  expect(quote.stderr).toContain('invalid_upstream: the command has an unclosed " quote');
  const scheme = await runInProcess(['--db', fx.dbPath, 'mcp-proxy', '--upstream', 'ws://127.0.0.1:1/mcp'], {});
  expect(scheme.stderr).toContain('an upstream URL is http(s)');
});
