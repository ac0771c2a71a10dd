import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Option, type Command } from 'commander';
import { labelPattern, labelRule } from '../contract/labels.js';
import { pooledRandom, type Labels } from '../core/index.js';
import { mcpLimits, type McpDeps } from '../mcp/index.js';
import { parsePriceList, parseUpstream, pricesLine, proxyToolPrices, type UpstreamSpec } from '../mcp/proxy-config.js';
import { authenticateToken, type Caller } from '../ops/tokens.js';
import { loadPricing, loadToolPrices, type ToolPrices } from '../pricing/index.js';
import { openStore, type Store } from '../store/index.js';
import { metricIntervalMsFrom, startTelemetry, TelemetryConfigError, type Telemetry } from '../telemetry/index.js';
import type { CliContext } from './context.js';
import { CliError, usageError } from './errors.js';
import { untilInterrupted } from './interrupt.js';
import { writeChunk } from './report.js';
import { parseCountArg } from './parse.js';

/**
 * `bursar mcp` (Bursar's budget tools for one spend token, over stdio) and `bursar mcp-proxy`
 * (another MCP server's tools, metered under a spend token's budgets). Both speak MCP on stdout,
 * so everything they say to a person goes to stderr. They work on the ledger itself (`--db`, a
 * SQLite file a server may share, or PostgreSQL); a server offers the same tools at `/mcp`.
 */

interface TokenFlags {
  token?: string;
  session?: string;
  task?: string;
}

/** The connection's session and task labels, checked as the gateway checks its headers. */
function labelsOf(flags: TokenFlags): Pick<Labels, 'session' | 'task'> {
  const out: Pick<Labels, 'session' | 'task'> = {};
  for (const key of ['session', 'task'] as const) {
    const value = flags[key];
    if (value === undefined) continue;
    if (!labelPattern.test(value)) throw usageError('invalid_label', `--${key} must be ${labelRule}`, `--${key}`);
    out[key] = value;
  }
  return out;
}

/** The ledger the token lives in, opened for the life of the command. */
async function openLedger(context: CliContext): Promise<{ store: Store; db: string }> {
  const { db, url } = context.options();
  if (url !== undefined) throw usageError('usage', `MCP commands work on the ledger itself: give --db (the server's SQLite file or postgres:// URL); a running server offers the same tools at ${url}/mcp`);
  const isFile = db !== ':memory:' && !/^postgres(ql)?:\/\//.test(db);
  if (isFile && !existsSync(db)) throw new CliError({ code: 'store_unavailable', message: `no Bursar database at ${db}; pass --db <file> or set BURSAR_DB` }, 1);
  // Long-running, like a server: the write-ahead log is checkpointed off the event loop.
  return { store: await openStore({ db, checkpoints: 'background' }), db };
}

/** The token, checked once at start so a wrong one fails loudly rather than on the first call. */
async function callerOf(store: Store, flags: TokenFlags): Promise<Caller> {
  if (flags.token === undefined || flags.token === '') throw usageError('token_missing', 'give the spend token (bsr_…) in BURSAR_TOKEN, or with --token');
  const caller = await authenticateToken(store, flags.token, store.now());
  if ('ok' in caller) throw new CliError({ code: caller.code, message: caller.message }, 1);
  return caller;
}

/** Runs `work` with the ledger and the caller, closing the ledger whatever happens. */
async function withLedger(context: CliContext, flags: TokenFlags, work: (store: Store, caller: Caller, db: string) => Promise<void>): Promise<void> {
  const { store, db } = await openLedger(context);
  try {
    await work(store, await callerOf(store, flags), db);
  } finally {
    await store.close();
  }
}

const tokenOptions = (command: Command) =>
  command
    .addOption(new Option('--token <bsr_…>', 'the spend token (better in BURSAR_TOKEN, out of the process list)').env('BURSAR_TOKEN'))
    .addOption(new Option('--session <label>', 'session label recorded on every entry').env('BURSAR_SESSION'))
    .addOption(new Option('--task <label>', 'task label recorded on every entry').env('BURSAR_TASK'));

async function say(context: CliContext, text: string): Promise<void> {
  await writeChunk(context.streams.stderr, `${text}\n`);
}

function registerMcpServer(program: Command, context: CliContext): void {
  tokenOptions(program.command('mcp'))
    .description('serve Bursar\'s budget tools (budget_balance, estimate_cost, reserve_spend, settle_spend, void_spend, delegate_budget, list_models) to an MCP client over stdio')
    .addOption(new Option('--pricing <file>', 'price override file merged over the bundled catalog').env('BURSAR_PRICING'))
    .addOption(new Option('--tools <file>', 'tool price file merged over the bundled table').env('BURSAR_TOOL_PRICES'))
    .action(async (flags: TokenFlags & { pricing?: string; tools?: string }) => {
      const pricing = loadPricing(flags.pricing === undefined ? {} : { overridePath: flags.pricing });
      if (!pricing.ok) throw new CliError({ code: pricing.code, message: pricing.message }, 2);
      const tools = loadToolPrices({ path: flags.tools });
      if (!tools.ok) throw new CliError({ code: tools.code, message: tools.message }, 2);
      const labels = labelsOf(flags);
      await withLedger(context, flags, async (store, caller, db) => {
        const deps: McpDeps = { store, pricing: pricing.catalog, toolPrices: tools.prices, random: pooledRandom((n) => randomBytes(n)), now: () => store.now() };
        const { serveBursarStdio } = await import('../mcp/stdio.js');
        const serving = await serveBursarStdio(deps, { secret: flags.token, labels });
        await say(context, `bursar mcp: serving ${caller.token.id} (budget ${caller.envelope}) on stdio; ledger ${db}`);
        await Promise.race([serving.ended, untilInterrupted()]);
        await serving.close();
      });
    });
}

interface ProxyFlags extends TokenFlags {
  upstream: string;
  price?: string[];
  prices?: string;
  timeout: number;
  otelEndpoint?: string;
}

async function telemetryFor(endpoint: string | undefined, env: CliContext['env']): Promise<Telemetry | undefined> {
  if (endpoint === undefined || endpoint === '') return undefined;
  try {
    return await startTelemetry({ endpoint, serviceName: 'bursar-mcp-proxy', metricIntervalMs: metricIntervalMsFrom(env) });
  } catch (error) {
    if (error instanceof TelemetryConfigError) throw usageError(error.code, error.message, '--otel-endpoint');
    throw error;
  }
}

/** What the command line configures, checked before anything starts. */
interface ProxyPlan {
  spec: UpstreamSpec;
  prices: ToolPrices;
  labels: Pick<Labels, 'session' | 'task'>;
}

function proxyPlan(flags: ProxyFlags): ProxyPlan {
  const labels = labelsOf(flags);
  const spec = parseUpstream(flags.upstream);
  if ('ok' in spec) throw usageError(spec.code, spec.message, spec.field);
  const priceList = parsePriceList(flags.price ?? []);
  if (!priceList.ok) throw usageError(priceList.code, priceList.message, priceList.field);
  const prices = proxyToolPrices({ file: flags.prices, prices: priceList.prices });
  if (!prices.ok) throw new CliError({ code: prices.code, message: prices.message }, 2);
  return { spec, prices: prices.prices, labels };
}

async function runProxy(context: CliContext, flags: ProxyFlags, plan: ProxyPlan, ledger: { store: Store; caller: Caller; telemetry: Telemetry | undefined }): Promise<void> {
  const { spec, prices, labels } = plan;
  const { store, caller, telemetry } = ledger;
  const { startMcpProxy, upstreamTransport } = await import('../mcp/proxy.js');
  const { serveStdio } = await import('../mcp/stdio.js');
  const proxy = await startMcpProxy({ upstream: upstreamTransport(spec, context.env), store, prices, secret: flags.token, labels, now: () => store.now(), callTimeoutMs: flags.timeout, telemetry }).catch((error: unknown) => {
    throw new CliError({ code: 'upstream_unreachable', message: `could not ${spec.kind === 'url' ? `reach the upstream MCP server at ${spec.url.href}` : `start the upstream MCP server (${spec.command})`}: ${(error as Error).message}` }, 1);
  });
  const serving = await serveStdio(proxy.server);
  await say(context, `bursar mcp-proxy: metering ${proxy.upstreamName} for ${caller.token.id} (budget ${caller.envelope}); ${pricesLine(prices)}`);
  await Promise.race([serving.ended, untilInterrupted()]);
  await proxy.close();
}

function registerMcpProxy(program: Command, context: CliContext): void {
  tokenOptions(program.command('mcp-proxy'))
    .description('run another MCP server behind a metered proxy: each tool call is reserved on the spend token\'s budgets before it is forwarded, settled after, refused when it does not fit')
    .requiredOption('--upstream <command|url>', 'the MCP server to meter: its streamable HTTP URL, or the command that starts it on stdio')
    .addOption(new Option('--price <tool=usd,…>', 'price of one call of a tool, e.g. search=0.002,fetch=0.01 (repeatable); any other tool costs the standard $0.01 plus 20%').argParser((value: string, previous: string[] = []) => [...previous, value]))
    .addOption(new Option('--prices <file>', 'tool prices file: {"prices_micros":{"search":2000},"standard_micros":10000,"unknown_markup_pct":20}'))
    .addOption(new Option('--timeout <ms>', 'how long the upstream has to answer one call').argParser(parseCountArg('--timeout', mcpLimits.proxyCallTimeoutMsMax, 'invalid_timeout')).default(mcpLimits.proxyCallTimeoutMsDefault))
    .addOption(new Option('--otel-endpoint <url>', 'OTLP/HTTP endpoint for a span per call and spend metrics (off when unset)').env('OTEL_EXPORTER_OTLP_ENDPOINT'))
    .action(async (flags: ProxyFlags) => {
      const plan = proxyPlan(flags);
      const telemetry = await telemetryFor(flags.otelEndpoint, context.env);
      try {
        await withLedger(context, flags, (store, caller) => runProxy(context, flags, plan, { store, caller, telemetry }));
      } finally {
        await telemetry?.close();
      }
    });
}

/**
 * Adds `bursar mcp` and `bursar mcp-proxy`.
 *
 * @example
 * registerMcp(program, context);
 */
export function registerMcp(program: Command, context: CliContext): void {
  registerMcpServer(program, context);
  registerMcpProxy(program, context);
}
