import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newSpendToken } from '../../src/core/index.js';
import { authenticateToken } from '../../src/ops/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { runInProcess } from '../cli/cli-harness.js';
import { providerEnvCleared, repoRoot } from '../cli/process-harness.js';
import type { Minted } from '../gateway/agent-harness.js';
import { agentPath, mcpFixture, type McpFixture } from './mcp-harness.js';

/**
 * Bursar's MCP server through the official MCP client: over stdio (one `bursar mcp` process for
 * the whole file) and over streamable HTTP at `/mcp` on a running server, on one ledger.
 */

interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

interface Door {
  client: Client;
  token: Minted;
  /** The session label the connection was opened with. */
  session: string;
}

let fx: McpFixture;
let server: RunningServer;
const doors: Record<'stdio' | 'HTTP', Door> = {} as Record<'stdio' | 'HTTP', Door>;
const allowed = ['gpt-4o-mini', 'claude-*'];

function stdioClient(token: Minted): Promise<Client> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...providerEnvCleared, BURSAR_TOKEN: token.secret })) if (v !== undefined) env[k] = v;
  const transport = new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), '--db', fx.dbPath, 'mcp', '--session', 'stdio-run'], env, cwd: repoRoot, stderr: 'ignore' });
  const client = new Client({ name: 'mcp-test', version: '1' });
  return client.connect(transport).then(() => client);
}

async function httpClient(secret: string, headers: Record<string, string> = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${secret}`, ...headers } } });
  const client = new Client({ name: 'mcp-test', version: '1' });
  await client.connect(transport);
  return client;
}

beforeAll(async () => {
  fx = await mcpFixture({ agentPolicy: { inflightMax: 100, models: allowed } });
  server = await startServer({ port: 0, store: fx.store, upstream: 'real', env: {}, dashboard: false, log: () => undefined });
  const [stdioToken, httpToken] = [await fx.mint({ limitMicros: 1_000_000, scopes: ['delegate'] }), await fx.mint({ limitMicros: 1_000_000, scopes: ['delegate'] })];
  doors.stdio = { client: await stdioClient(stdioToken), token: stdioToken, session: 'stdio-run' };
  doors.HTTP = { client: await httpClient(httpToken.secret, { 'x-bursar-session': 'http-run' }), token: httpToken, session: 'http-run' };
});

afterAll(async () => {
  await doors.stdio?.client.close();
  await doors.HTTP?.client.close();
  const audit = await fx.store.audit();
  await server.close();
  await fx.close();
  expect(audit.problems).toEqual([]);
});

async function call(door: Door, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await door.client.callTool({ name, arguments: args })) as ToolResult;
}

function textOf(r: ToolResult): string {
  return r.content.map((c) => c.text ?? '').join('');
}

describe.each(['stdio', 'HTTP'] as const)('over %s', (name) => {
  const door = () => doors[name];

  test('lists the seven budget tools, each with an input and an output JSON schema', async () => {
    const { tools } = await door().client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['budget_balance', 'estimate_cost', 'reserve_spend', 'settle_spend', 'void_spend', 'delegate_budget', 'list_models']);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.description?.length).toBeGreaterThan(40);
    }
    const reserve = tools.find((t) => t.name === 'reserve_spend');
    expect(reserve?.inputSchema.required).toEqual(['tool']);
  });

  test('budget_balance shows every level of the chain, leaf first, and names the tightest', async () => {
    const r = await call(door(), 'budget_balance', {});
    expect(r.isError).toBeUndefined();
    const s = r.structuredContent as { remaining_micros: number; tightest: string; chain: { budget: string; limit_micros: number | null }[] };
    expect(s.chain.map((l) => l.budget)).toEqual([door().token.envelope, agentPath, 'acme/research', 'acme']);
    expect(s.remaining_micros).toBe(1_000_000);
    expect(s.tightest).toBe(door().token.envelope);
    expect(textOf(r)).toContain(`You can spend $1.00 more; the tightest budget is ${door().token.envelope}`);
  });

  test('estimate_cost prices a model call at its worst case, and a tool from the price table', async () => {
    // gpt-4o-mini: $0.15 in and $0.60 out per million tokens: 1,000 in + 500 out = 150 + 300 micros.
    const model = await call(door(), 'estimate_cost', { model: 'gpt-4o-mini', input_tokens: 1_000, max_output_tokens: 500, count: 4 });
    expect(model.structuredContent).toMatchObject({ kind: 'model', priced_as: 'gpt-4o-mini', cost_micros: 450, count: 4, total_micros: 1_800, allowed: true, fits: true });
    const denied = await call(door(), 'estimate_cost', { model: 'gpt-4o', input_tokens: 10 });
    expect(denied.structuredContent).toMatchObject({ allowed: false, not_allowed_by: agentPath, fits: false });
    expect(textOf(denied)).toContain(`not allowed: budget ${agentPath} does not allow gpt-4o`);
    const listed = await call(door(), 'estimate_cost', { tool: 'WebFetch' });
    expect(listed.structuredContent).toMatchObject({ kind: 'tool', basis: 'table', cost_micros: 10_000 });
    const unknown = await call(door(), 'estimate_cost', { tool: 'deep-research' });
    expect(unknown.structuredContent).toMatchObject({ kind: 'tool', basis: 'unknown', priced_as: null, cost_micros: 12_000 });
  });

  test('reserve_spend holds the amount and settle_spend charges the actual cost, both labelled with the connection\'s session', async () => {
    const reserved = await call(door(), 'reserve_spend', { tool: 'web-search', estimate_micros: 20_000, labels: { task: 'triage' } });
    const rsv = reserved.structuredContent as { reservation: { id: string; amount_micros: number; labels: Record<string, string> }; tightest: string };
    expect(rsv.reservation).toMatchObject({ amount_micros: 20_000, labels: { tool: 'web-search', session: door().session, task: 'triage', token_id: door().token.id } });
    const settled = await call(door(), 'settle_spend', { reservation_id: rsv.reservation.id, actual_micros: 15_000 });
    expect(settled.structuredContent).toMatchObject({ reservation: { id: rsv.reservation.id, status: 'settled', actual_micros: 15_000 }, overrun_micros: 0 });
    expect(textOf(settled)).toContain('$0.015');
    const entries = (await fx.store.ledger({ session: door().session, task: 'triage', limit: 10 })).entries;
    expect(entries.map((e) => e.kind).sort()).toEqual(['reserve', 'settle']);
    expect(entries.find((e) => e.kind === 'settle')?.amountMicros).toBe(15_000);
  });

  test('void_spend releases a reservation without charging it', async () => {
    const reserved = await call(door(), 'reserve_spend', { tool: 'WebFetch' });
    const id = (reserved.structuredContent as { reservation: { id: string; amount_micros: number } }).reservation.id;
    const voided = await call(door(), 'void_spend', { reservation_id: id, reason: 'not needed' });
    expect(voided.structuredContent).toMatchObject({ reservation: { id, status: 'voided', amount_micros: 10_000 } });
    expect(textOf(voided)).toBe(`Voided ${id}: $0.01 released.`);
  });

  test('delegate_budget mints a narrower child token that a sub-agent can use', async () => {
    const r = await call(door(), 'delegate_budget', { max_spend_micros: 100_000, models: ['gpt-4o-mini'], expires_in_ms: 600_000 });
    const child = r.structuredContent as { id: string; token: string; budget: string; parent_token_id: string; max_spend_micros: number };
    expect(child).toMatchObject({ parent_token_id: door().token.id, max_spend_micros: 100_000, budget: `${door().token.envelope}/${child.id}` });
    const caller = await authenticateToken(fx.store, child.token, fx.store.now());
    expect('envelope' in caller && caller.envelope).toBe(child.budget);
    const widened = await call(door(), 'delegate_budget', { max_spend_micros: 50_000_000 });
    expect(widened.isError).toBe(true);
    expect(textOf(widened)).toMatch(/^policy_widens: /);
    expect(widened._meta?.['bursar/error']).toMatchObject({ code: 'policy_widens', field: 'max_spend_micros' });
  });

  test('list_models lists only the models every budget allows, with their prices', async () => {
    const r = await call(door(), 'list_models', {});
    const s = r.structuredContent as { models: { model: string; input_micros_per_million: number }[]; restricted: boolean };
    expect(s.restricted).toBe(true);
    expect(s.models.length).toBeGreaterThan(1);
    for (const m of s.models) expect(m.model === 'gpt-4o-mini' || m.model.startsWith('claude-')).toBe(true);
    expect(s.models.find((m) => m.model === 'gpt-4o-mini')?.input_micros_per_million).toBe(150_000);
  });

  test('a reservation the chain cannot take is a tool error carrying budget_exceeded, the refusing budget and what it has left', async () => {
    const before = (await call(door(), 'budget_balance', {})).structuredContent as { remaining_micros: number };
    // More than the token's $1 and less than the agent's default burn limit of $2 a minute.
    const r = await call(door(), 'reserve_spend', { tool: 'render-video', estimate_micros: 1_500_000 });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    expect(textOf(r)).toMatch(new RegExp(`^budget_exceeded: budget ${door().token.envelope} has \\$`));
    const meta = r._meta?.['bursar/error'] as Record<string, unknown>;
    expect(meta).toMatchObject({ code: 'budget_exceeded', field: null, budget: door().token.envelope, remaining_micros: before.remaining_micros, retry_after_s: null });
    expect(textOf(r)).toBe(`budget_exceeded: ${String(meta.message)}`);
  });

  test('a bad argument is a tool error that names the field and what it must be', async () => {
    const r = await call(door(), 'estimate_cost', { model: 'gpt-4o-mini', input_tokens: -5 });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('must be a whole number from 0 to 100000000 at input_tokens');
    const both = await call(door(), 'estimate_cost', { model: 'gpt-4o-mini', tool: 'WebFetch' });
    expect(textOf(both)).toContain('give exactly one of model (a model call) and tool (a paid tool call)');
    const id = await call(door(), 'settle_spend', { reservation_id: '17', actual_micros: 1 });
    expect(textOf(id)).toContain('is not a reservation id (rsv_<number>) at reservation_id');
  });
});

test('over HTTP, a wrong spend token is refused at the door with 401 token_invalid', async () => {
  const unknown = newSpendToken((n) => randomBytes(n)).secret;
  await expect(httpClient(unknown)).rejects.toThrow(/token_invalid: unknown spend token/);
  await expect(httpClient('sk-not-a-bursar-token')).rejects.toThrow(/token_invalid: the credential is not a Bursar spend token/);
  const res = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
  expect(res.status).toBe(401);
  expect(res.headers.get('x-bursar-code')).toBe('token_invalid');
  expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe('token_invalid');
});

test('over HTTP, /mcp is stateless: asking it for an event stream (GET) answers 405, Allow: POST', async () => {
  const stream = await fetch(`${server.url}/mcp`, { headers: { authorization: `Bearer ${doors.HTTP.token.secret}` } });
  expect([stream.status, stream.headers.get('allow')]).toEqual([405, 'POST']);
});

test('over HTTP, a token revoked while connected can no longer spend but can still void what it reserved', async () => {
  const token = await fx.mint({ limitMicros: 100_000 });
  const client = await httpClient(token.secret);
  const reserved = (await client.callTool({ name: 'reserve_spend', arguments: { tool: 'WebFetch' } })) as ToolResult;
  const id = (reserved.structuredContent as { reservation: { id: string } }).reservation.id;
  const revoked = await fx.store.revokeToken({ tokenId: token.id });
  expect(revoked.ok).toBe(true);
  const refused = (await client.callTool({ name: 'reserve_spend', arguments: { tool: 'WebFetch' } })) as ToolResult;
  expect(textOf(refused)).toMatch(/^token_revoked: /);
  const voided = (await client.callTool({ name: 'void_spend', arguments: { reservation_id: id } })) as ToolResult;
  expect(voided.structuredContent).toMatchObject({ reservation: { id, status: 'voided' } });
  await client.close();
});

test('over stdio, bursar mcp with a wrong spend token exits 1 naming token_invalid before serving anything', async () => {
  const run = await runInProcess(['--db', fx.dbPath, 'mcp'], { BURSAR_TOKEN: newSpendToken((n) => randomBytes(n)).secret });
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toContain('token_invalid: unknown spend token');
  const missing = await runInProcess(['--db', fx.dbPath, 'mcp'], {});
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('give the spend token (bsr_…) in BURSAR_TOKEN');
  const remote = await runInProcess(['--url', server.url, 'mcp'], { BURSAR_TOKEN: doors.stdio.token.secret });
  expect(remote.code).toBe(2);
  expect(remote.stderr).toContain(`a running server offers the same tools at ${server.url}/mcp`);
});
