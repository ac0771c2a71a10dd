import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  ToolListChangedNotificationSchema,
  type CallToolRequest,
  type CallToolResult,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { failure, type Failure } from '../contract/index.js';
import type { Labels } from '../core/index.js';
import { authenticateToken, reserveToolAs, settle, voidReservation, type Caller } from '../ops/index.js';
import { estimateTool, type ToolPrices } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import type { Telemetry, ToolCallRecord } from '../telemetry/index.js';
import { packageVersion } from '../version.js';
import { stderrLog, thrownFailure, toolError } from './errors.js';
import { mcpLimits } from './limits.js';
import { upstreamEnv, type UpstreamSpec } from './proxy-config.js';

/**
 * The metered MCP proxy: an MCP server in front of another one (the upstream) that forwards its
 * tools, and meters every tool call under a spend token's budgets. A call is reserved on the
 * token's whole chain at the tool's price before it is forwarded, refused with a tool error
 * carrying Bursar's code when any budget cannot take it, and settled at its price once the
 * upstream answered (a result marked `isError` too: the upstream ran the tool). A call the
 * upstream never answered, or refused as a protocol error, is voided. Prompts and resources
 * pass through unmetered.
 */

export interface ProxyOptions {
  /** The transport to the upstream server (see `upstreamTransport`). */
  upstream: Transport;
  store: Store;
  prices: ToolPrices;
  /** The spend token calls are charged to; checked again on every call. */
  secret: string | undefined;
  /** Session and task, recorded on every entry of every call. */
  labels: Pick<Labels, 'session' | 'task'>;
  now(): number;
  /** How long the upstream has to answer one call (default `mcpLimits.proxyCallTimeoutMsDefault`). */
  callTimeoutMs?: number;
  telemetry?: Telemetry;
  /** Where errors that are not refusals (a settlement the store could not take) go. */
  log?: (error: unknown) => void;
}

export interface McpProxy {
  /** The server an agent's client connects to. */
  server: Server;
  /** How the upstream introduced itself. */
  upstreamName: string;
  close(): Promise<void>;
}

/**
 * The transport to an upstream server: streamable HTTP for a URL, else its command run with the
 * proxy's environment minus Bursar's credentials, its stderr passed through.
 *
 * @example
 * const transport = upstreamTransport({ kind: 'command', command: 'npx', args: ['-y', '@acme/mcp'] }, process.env);
 */
export function upstreamTransport(spec: UpstreamSpec, env: Readonly<Record<string, string | undefined>>): Transport {
  if (spec.kind === 'url') return new StreamableHTTPClientTransport(spec.url);
  return new StdioClientTransport({ command: spec.command, args: spec.args, env: upstreamEnv(env), stderr: 'inherit' });
}

interface Metering {
  o: ProxyOptions;
  client: Client;
  timeoutMs: number;
  log: (error: unknown) => void;
}

/** Why a forwarded call got no answer, as Bursar's code; undefined for the upstream's own JSON-RPC error. */
function unanswered(error: unknown, timeoutMs: number): Failure | undefined {
  const code = error instanceof McpError ? error.code : undefined;
  if (code === (ErrorCode.RequestTimeout as number)) return failure('upstream_timeout', `the upstream MCP server did not answer within ${timeoutMs} ms`);
  if (code !== undefined && code !== (ErrorCode.ConnectionClosed as number)) return undefined;
  return failure('upstream_error', `the upstream MCP server could not be reached: ${(error as Error).message}`);
}

/** Forwards one call under a reservation the caller already holds; settles it, or voids it when there was no answer. */
async function forwardReserved(m: Metering, request: CallToolRequest, signal: AbortSignal, held: { caller: Caller; id: string; costMicros: number }): Promise<{ result: CallToolResult } | Failure | { thrown: unknown }> {
  const actor = `token:${held.caller.token.id}`;
  let result: CallToolResult;
  try {
    result = await m.client.request({ method: 'tools/call', params: request.params }, CallToolResultSchema, { signal, timeout: m.timeoutMs });
  } catch (error) {
    await voidReservation(m.o.store, { reservationId: held.id, actor, reason: 'the upstream MCP server gave no result' }).catch(m.log);
    return unanswered(error, m.timeoutMs) ?? { thrown: error };
  }
  // The reservation was the price: settling can only fail with the store down, and then the hold is charged at its TTL, the same amount.
  const settled = await settle(m.o.store, { reservationId: held.id, actualMicros: held.costMicros, actor, reason: result.isError === true ? 'the tool answered with an error' : undefined }).catch((error: unknown) => thrownFailure(error, m.log));
  if (!settled.ok) m.log(new Error(`settling ${held.id} failed: ${settled.code}: ${settled.message}`));
  return { result };
}

/** One metered tool call: authenticate, reserve at the tool's price, forward, settle. */
async function meteredCall(m: Metering, request: CallToolRequest, signal: AbortSignal): Promise<CallToolResult> {
  const startedMs = m.o.now();
  const tool = request.params.name;
  const record = (r: Partial<ToolCallRecord> & { code: string; refused: boolean }) => m.o.telemetry?.toolCall({ tool, ...m.o.labels, startedMs, endedMs: m.o.now(), ...r });
  const caller = await authenticateToken(m.o.store, m.o.secret, startedMs);
  if ('ok' in caller) return refusal(caller, tool, record);
  const reserved = await reserveToolAs(m.o.store, m.o.prices, caller, { tool, ttlMs: m.timeoutMs + mcpLimits.proxyReservationMarginMs, labels: m.o.labels, actor: `token:${caller.token.id}` }).catch((error: unknown) => thrownFailure(error, m.log));
  if (!reserved.ok) return refusal(reserved, tool, record);
  const id = reserved.reservation.reservation.id;
  const costMicros = reserved.estimate.costMicros;
  const forwarded = await forwardReserved(m, request, signal, { caller, id, costMicros });
  const facts = { budget: caller.envelope, reservationId: id };
  if ('thrown' in forwarded) {
    record({ ...facts, code: 'upstream_error', refused: false, costMicros: 0 });
    throw forwarded.thrown;
  }
  if ('ok' in forwarded) {
    record({ ...facts, code: forwarded.code, refused: false, costMicros: 0 });
    return toolError(forwarded);
  }
  record({ ...facts, code: forwarded.result.isError === true ? 'tool_error' : 'ok', refused: false, costMicros });
  const meta = { 'bursar/cost_micros': costMicros, 'bursar/reservation': id, 'bursar/remaining_micros': reserved.reservation.remainingMicros };
  return { ...forwarded.result, _meta: { ...forwarded.result._meta, ...meta } };
}

function refusal(refused: Failure, tool: string, record: (r: { code: string; refused: boolean; budget?: string }) => void): CallToolResult {
  record({ code: refused.code, refused: true, budget: refused.budget });
  return toolError({ ...refused, message: `${tool} was not called: ${refused.message}` });
}

/** Prompts and resources, forwarded as they are, when the upstream has them. */
function passThrough(server: Server, client: Client, caps: ServerCapabilities): void {
  if (caps.prompts) {
    server.setRequestHandler(ListPromptsRequestSchema, (r, extra) => client.listPrompts(r.params, { signal: extra.signal }));
    server.setRequestHandler(GetPromptRequestSchema, (r, extra) => client.getPrompt(r.params, { signal: extra.signal }));
  }
  if (caps.resources) {
    server.setRequestHandler(ListResourcesRequestSchema, (r, extra) => client.listResources(r.params, { signal: extra.signal }));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, (r, extra) => client.listResourceTemplates(r.params, { signal: extra.signal }));
    server.setRequestHandler(ReadResourceRequestSchema, (r, extra) => client.readResource(r.params, { signal: extra.signal }));
  }
}

/**
 * Connects to the upstream server and returns the metering server in front of it; connect that
 * to the agent's side (`StdioServerTransport` in `bursar mcp-proxy`). Its `tools/list` is the
 * upstream's, each tool's price under `_meta["bursar/price_micros"]`.
 *
 * @example
 * const proxy = await startMcpProxy({ upstream: upstreamTransport(spec, env), store, prices, secret, labels: { session: 'run-42' }, now: () => store.now() });
 * await proxy.server.connect(new StdioServerTransport());
 */
export async function startMcpProxy(o: ProxyOptions): Promise<McpProxy> {
  const client = new Client({ name: 'bursar-mcp-proxy', version: packageVersion() });
  await client.connect(o.upstream);
  const caps = client.getServerCapabilities() ?? {};
  const upstream = client.getServerVersion();
  const capabilities: ServerCapabilities = { tools: { listChanged: caps.tools?.listChanged === true }, ...(caps.prompts ? { prompts: {} } : {}), ...(caps.resources ? { resources: {} } : {}) };
  const server = new Server({ name: `bursar-proxy(${upstream?.name ?? 'upstream'})`, version: packageVersion() }, { capabilities, instructions: client.getInstructions() });
  const metering: Metering = { o, client, timeoutMs: o.callTimeoutMs ?? mcpLimits.proxyCallTimeoutMsDefault, log: o.log ?? stderrLog };
  server.setRequestHandler(ListToolsRequestSchema, async (r, extra) => {
    const listed = await client.listTools(r.params, { signal: extra.signal });
    return { ...listed, tools: listed.tools.map((t) => ({ ...t, _meta: { ...t._meta, 'bursar/price_micros': estimateTool(o.prices, t.name).costMicros } })) };
  });
  server.setRequestHandler(CallToolRequestSchema, (r, extra) => meteredCall(metering, r, extra.signal));
  passThrough(server, client, caps);
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => server.sendToolListChanged());
  return {
    server,
    upstreamName: upstream === undefined ? 'the upstream server' : `${upstream.name} ${upstream.version}`,
    close: async () => {
      await server.close();
      await client.close();
    },
  };
}
