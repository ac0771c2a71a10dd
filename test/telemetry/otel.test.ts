import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { proxyToolPrices } from '../../src/mcp/proxy-config.js';
import { startMcpProxy, upstreamTransport } from '../../src/mcp/proxy.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import type { LedgerEntry } from '../../src/core/index.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry/index.js';
import { runInProcess } from '../cli/cli-harness.js';
import type { Minted } from '../gateway/agent-harness.js';
import { mcpFixture, type McpFixture } from '../mcp/mcp-harness.js';
import { startUpstream, type Upstream } from '../mcp/upstream.js';

/**
 * OpenTelemetry export: off, the @opentelemetry modules are never loaded; on, an OTLP/HTTP
 * receiver run by the test gets a span per proxied call (a model call through the gateway, a
 * tool call through the MCP proxy) with the GenAI attributes and Bursar's own, and the spend
 * and refusal metrics.
 */

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpSpan {
  name: string;
  kind: number;
  status?: { code?: number };
  attributes: { key: string; value: OtlpValue }[];
}

interface Receiver {
  url: string;
  /** Bodies received, by path. */
  bodies: Map<string, unknown[]>;
  contentTypes: Set<string>;
  close(): Promise<void>;
}

/** A minimal OTLP/HTTP collector: takes JSON exports and keeps them. */
async function startReceiver(): Promise<Receiver> {
  const bodies = new Map<string, unknown[]>();
  const contentTypes = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      contentTypes.add(String(req.headers['content-type']));
      const list = bodies.get(req.url ?? '') ?? [];
      list.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      bodies.set(req.url ?? '', list);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    contentTypes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function spansOf(r: Receiver): OtlpSpan[] {
  const exports = (r.bodies.get('/v1/traces') ?? []) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }[];
  return exports.flatMap((e) => e.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
}

function metricNames(r: Receiver): string[] {
  const exports = (r.bodies.get('/v1/metrics') ?? []) as { resourceMetrics: { scopeMetrics: { metrics: { name: string }[] }[] }[] }[];
  return exports.flatMap((e) => e.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name))));
}

/** A span's attributes as plain values (OTLP JSON may send 64-bit integers as strings). */
function attributesOf(span: OtlpSpan): Record<string, string | number | boolean | undefined> {
  return Object.fromEntries(span.attributes.map(({ key, value }) => [key, value.stringValue ?? (value.intValue === undefined ? (value.doubleValue ?? value.boolValue) : Number(value.intValue))]));
}

const otelLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/@opentelemetry/'));

let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
});

afterAll(async () => {
  await upstream.close();
});

/** A ledger, and a server on it (with the mock provider) that closes its own connection to it. */
async function serverOn(otelEndpoint?: string): Promise<{ fx: McpFixture; server: RunningServer; close(): Promise<void> }> {
  const fx = await mcpFixture({ agentPolicy: { inflightMax: 100 } });
  const server = await startServer({ port: 0, db: fx.dbPath, mockUpstream: true, env: {}, dashboard: false, log: () => undefined, otelEndpoint });
  return {
    fx,
    server,
    close: async () => {
      await server.close({ drainMs: 0 });
      await fx.close();
    },
  };
}

/** A chat call through the gateway and a tool call through the proxy, with `telemetry` (or none). */
async function traffic(server: RunningServer, fx: McpFixture, token: Minted, telemetry: Telemetry | undefined): Promise<{ reservation: string | null; toolReservation: unknown }> {
  const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: token.secret, maxRetries: 0 });
  const { response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'Hello' }] }, { headers: { 'x-bursar-session': 'otel-run' } }).withResponse();
  const prices = proxyToolPrices({ prices: { search: 2_000 } });
  if (!prices.ok) throw new Error(prices.message);
  const proxy = await startMcpProxy({ upstream: upstreamTransport({ kind: 'url', url: new URL(upstream.url) }, {}), store: fx.store, prices: prices.prices, secret: token.secret, labels: { task: 'otel-task' }, now: () => fx.store.now(), telemetry });
  const [agentSide, proxySide] = InMemoryTransport.createLinkedPair();
  await proxy.server.connect(proxySide);
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(agentSide);
  const result = await client.callTool({ name: 'search', arguments: { query: 'otel' } });
  await client.close();
  await proxy.close();
  return { reservation: response.headers.get('x-bursar-reservation'), toolReservation: result._meta?.['bursar/reservation'] };
}

test('with no OTLP endpoint, a server and a proxy that carry traffic never load the OpenTelemetry modules', async () => {
  const on = await serverOn();
  const { fx, server } = on;
  try {
    const { reservation, toolReservation } = await traffic(server, fx, await fx.mint(), undefined);
    expect(reservation).toMatch(/^rsv_/);
    expect(toolReservation).toMatch(/^rsv_/);
    expect(server.telemetry).toBeUndefined();
    expect(otelLoaded()).toBe(false);
  } finally {
    await on.close();
  }
});

test('with an OTLP endpoint, each proxied call arrives as a span with the GenAI and bursar attributes, and spend and refusals as metrics', async () => {
  const receiver = await startReceiver();
  const { fx, server } = await serverOn(receiver.url);
  const telemetry = await startTelemetry({ endpoint: receiver.url, serviceName: 'bursar-mcp-proxy' });
  const token = await fx.mint();
  let calls: Awaited<ReturnType<typeof traffic>>;
  let settled: LedgerEntry | undefined;
  try {
    expect(otelLoaded()).toBe(true);
    calls = await traffic(server, fx, token, telemetry);
    const poor = await fx.mint({ limitMicros: 1 });
    const refused = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: poor.secret, maxRetries: 0 });
    await expect(refused.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] })).rejects.toMatchObject({ code: 'budget_exceeded' });
  } finally {
    await telemetry.close();
    await server.close({ drainMs: 0 });
    settled = (await fx.store.ledger({ session: 'otel-run', kinds: ['settle'] })).entries[0];
    await fx.close();
    await receiver.close();
  }
  expect([...receiver.contentTypes]).toEqual(['application/json']);
  const spans = spansOf(receiver);
  const chat = spans.find((s) => s.name === 'chat gpt-4o-mini' && attributesOf(s)['bursar.reservation'] === calls.reservation);
  expect(chat?.kind).toBe(3); // CLIENT
  expect(attributesOf(chat as OtlpSpan)).toMatchObject({
    'gen_ai.operation.name': 'chat',
    'gen_ai.system': 'openai',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': settled?.tokensIn,
    'gen_ai.usage.output_tokens': settled?.tokensOut,
    'bursar.cost_micros': settled?.amountMicros,
    'bursar.budget': token.envelope,
    'bursar.session': 'otel-run',
    'bursar.code': 'ok',
  });
  expect(settled?.tokensOut).toBeGreaterThan(0);
  const tool = spans.find((s) => s.name === 'execute_tool search');
  expect(attributesOf(tool as OtlpSpan)).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'mcp.method.name': 'tools/call', 'bursar.cost_micros': 2_000, 'bursar.budget': token.envelope, 'bursar.reservation': calls.toolReservation as string, 'bursar.task': 'otel-task' });
  const refusal = spans.find((s) => attributesOf(s)['error.type'] === 'budget_exceeded');
  expect(refusal?.status?.code).toBe(2); // ERROR
  expect(metricNames(receiver)).toEqual(expect.arrayContaining(['bursar.spend', 'bursar.refusals', 'gen_ai.client.token.usage', 'gen_ai.client.operation.duration']));
});

test('a malformed OTLP endpoint stops bursar serve before anything starts, naming what to set', async () => {
  const run = await runInProcess(['serve', '--port', '0', '--db', '/nonexistent/bursar.db'], { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('invalid_otel_endpoint: the OTLP endpoint must be an http(s) URL like http://127.0.0.1:4318; got "collector:4318"; set --otel-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT');
});
