import { randomBytes } from 'node:crypto';
import { Option, type Command } from 'commander';
import { alertThresholdsPctDefault, formatUsd, formatWindow, newSpendToken, type BudgetView } from '../core/index.js';
import type { Provider } from '../gateway/index.js';
import { AdminKeyError, gatewayModes, serverLimits, ServeConfigError, startServer, upstreamChoices, type RunningServer, type ServeOptions, type UpstreamChoice } from '../server/index.js';
import { TelemetryConfigError } from '../telemetry/index.js';
import type { Store } from '../store/index.js';
import type { CliContext } from './context.js';
import { CliError, unwrap } from './errors.js';
import { untilInterrupted } from './interrupt.js';
import { parseCountArg, parsePortArg } from './parse.js';

/** Extra server parts (the admin API, the dashboard) the CLI registers with `serve`. */
export const servePlugins: NonNullable<ServeOptions['plugins']> = [];

interface ServeFlags {
  port: number;
  host: string;
  mode: ServeOptions['mode'];
  mockUpstream?: boolean;
  upstream: UpstreamChoice;
  pricing?: string;
  tools?: string;
  upstreamTimeout?: number;
  sync: 'normal' | 'full';
  quickstart?: boolean;
  drain: number;
  corsOrigin?: string;
  otelEndpoint?: string;
}

const quickstartAgent = 'demo/agents/assistant';

/** The origins of `--cors-origin` (comma-separated); none when it is not given. */
function corsOrigins(flag: string | undefined): string[] {
  return (flag ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
}

/** What to change, by the code of a configuration error, in the words of the command line. */
const fixHints: Record<string, string> = {
  port_in_use: '; choose another port with --port or BURSAR_PORT (0 picks a free one)',
  port_not_permitted: '; choose a port from 1024 up with --port or BURSAR_PORT (0 picks a free one)',
  invalid_host: '; set --host or BURSAR_HOST to an address of this machine (127.0.0.1, or 0.0.0.0 for every interface)',
  invalid_cors_origin: '; set --cors-origin or BURSAR_CORS_ORIGIN to origins like https://app.example.com, comma-separated, or *',
  invalid_otel_endpoint: '; set --otel-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT to the collector\'s OTLP/HTTP base URL, or leave both unset',
};

/** On an empty database, a small demo tree: an org, a team and one agent with a daily limit. */
async function seedDemo(store: Store): Promise<boolean> {
  if ((await store.listBudgets()).length > 0) return false;
  const steps = [
    () => store.createBudget({ path: 'demo', kind: 'org', limitMicros: 100_000_000, period: 'month', actor: 'quickstart' }),
    () => store.createBudget({ path: 'demo/agents', kind: 'team', limitMicros: 20_000_000, period: 'month', actor: 'quickstart' }),
    () => store.createBudget({ path: quickstartAgent, kind: 'agent', limitMicros: 5_000_000, period: 'day', actor: 'quickstart' }),
  ];
  for (const step of steps) unwrap(await step());
  return true;
}

/** The guards the demo agent got by default, in a line: in-flight cap, burn limits, loop limit, alert thresholds. */
async function demoGuards(store: Store): Promise<string> {
  const agent = await store.getBudget(quickstartAgent);
  const policy = agent?.policy ?? {};
  const burn = (policy.burnLimits ?? []).map((l) => `${formatUsd(l.amountMicros)} per ${formatWindow(l.windowMs)}`).join(', ') || 'none';
  const loop = policy.loopLimit === undefined || policy.loopLimit === 'off' ? 'no loop limit' : `a loop limit of ${policy.loopLimit.repeats} repeats of one request per ${formatWindow(policy.loopLimit.windowMs)}`;
  const alerts = (policy.alertThresholdsPct ?? alertThresholdsPctDefault).join('/');
  return `Its safe defaults: at most ${policy.inflightMax ?? 'unlimited'} calls in flight, a burn limit of ${burn}, ${loop}, alerts at ${alerts}% of each limit.`;
}

/** Mints a fresh day-long token on the demo agent (when it exists) and returns its secret. */
async function quickstartToken(store: Store): Promise<{ secret: string; envelope: BudgetView } | undefined> {
  if (!(await store.getBudget(quickstartAgent))) return undefined;
  const token = newSpendToken((n) => randomBytes(n));
  const minted = unwrap(await store.mintToken({ path: quickstartAgent, tokenId: token.id, hash: token.hash, limitMicros: 1_000_000, expiresMs: store.now() + 24 * 3_600_000, actor: 'quickstart', labels: { task: 'quickstart' } }));
  return { secret: token.secret, envelope: minted.envelope };
}

const providerNames: Record<Provider, { name: string; keyVar: string }> = {
  openai: { name: 'OpenAI', keyVar: 'OPENAI_API_KEY' },
  anthropic: { name: 'Anthropic', keyVar: 'ANTHROPIC_API_KEY' },
};

/** Where each provider's calls go, a line each, after a line saying why. */
function upstreamLines(server: RunningServer): string[] {
  const upstream = server.gateway.upstream;
  const head = server.mock ? `the built-in mock provider, offline (${server.upstreamReason})` : `the providers (${server.upstreamReason})`;
  const lines = (['openai', 'anthropic'] as const).map((provider) => {
    const { name, keyVar } = providerNames[provider];
    const key = server.mock ? 'mock' : upstream.keyed(provider) ? `key from ${keyVar}` : `no ${keyVar} set`;
    return `            ${name.padEnd(10)} ${upstream.baseUrl(provider)} (${key})`;
  });
  return [`  upstream  ${head}`, ...lines];
}

function upstreamJson(server: RunningServer): Record<string, unknown> {
  const upstream = server.gateway.upstream;
  const provider = (p: Provider) => ({ base_url: upstream.baseUrl(p), host: upstream.host(p), key: server.mock ? false : upstream.keyed(p) });
  return { mock: server.mock !== undefined, reason: server.upstreamReason, openai: provider('openai'), anthropic: provider('anthropic') };
}

/** The base URL each family of clients needs: most append the route to a base ending in /v1. */
function sdkLines(url: string): string[] {
  return [
    `  base URLs ${url}/v1   openai, @ai-sdk/openai, @ai-sdk/anthropic, LangChain's ChatOpenAI, the OpenAI Agents SDK`,
    `            ${url}      @anthropic-ai/sdk and LangChain's ChatAnthropic (they add /v1 themselves)`,
  ];
}

function banner(server: RunningServer, flags: ServeFlags, db: string): string {
  return [
    `Bursar is listening on ${server.url}`,
    `  dashboard ${server.url}/   (sign in with the admin key)`,
    `  ledger    ${db}`,
    `  mode      ${flags.mode ?? 'enforce'}`,
    ...upstreamLines(server),
    ...sdkLines(server.url),
    `  admin     ${server.url}/api (OpenAPI at /api/openapi.json, metrics at /metrics)`,
    `  mcp       ${server.url}/mcp (streamable HTTP; the spend token as the bearer)`,
    ...(flags.otelEndpoint ? [`  otel      spans and metrics to ${flags.otelEndpoint} (OTLP/HTTP)`] : []),
    ...(server.generatedAdminKey ? [`  admin key ${server.generatedAdminKey}   (generated for this run; set BURSAR_ADMIN_KEY to keep one)`] : []),
  ].join('\n');
}

function curlFor(url: string, secret: string): string {
  return [
    `curl ${url}/v1/chat/completions \\`,
    `  -H "Authorization: Bearer ${secret}" \\`,
    '  -H "Content-Type: application/json" \\',
    `  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello from Bursar"}]}'`,
  ].join('\n');
}

/**
 * Adds `bursar serve`: the gateway (and whatever `servePlugins` add) on one port, until
 * interrupted. With `--quickstart` (what `npm start` runs) an empty database gets a demo
 * agent and every start mints a fresh token and prints a ready-to-paste curl.
 *
 * @example
 * registerServe(program, context);
 */
export function registerServe(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('run the gateway: OpenAI- and Anthropic-compatible routes that reserve before they forward')
    .addOption(new Option('--port <port>', 'port to listen on').env('BURSAR_PORT').argParser(parsePortArg('--port')).default(serverLimits.portDefault))
    .addOption(new Option('--host <address>', 'address to listen on (0.0.0.0 for every interface)').env('BURSAR_HOST').default('127.0.0.1'))
    .addOption(new Option('--mode <mode>', 'enforce refuses over-budget calls; shadow only reports them; dry-run forwards nothing').choices(gatewayModes).env('BURSAR_MODE').default('enforce'))
    .addOption(new Option('--upstream <where>', 'mock: the built-in provider, offline; real: the providers (or the BURSAR_*_BASE_URLs); auto: real when a provider key or base URL is set (with --quickstart, only a base URL)').choices(upstreamChoices).env('BURSAR_UPSTREAM').default('auto'))
    .addOption(new Option('--mock-upstream', 'the same as --upstream mock').conflicts('upstream'))
    .addOption(new Option('--pricing <file>', 'price override file merged over the bundled catalog').env('BURSAR_PRICING'))
    .addOption(new Option('--tools <file>', 'tool price file (prices per call in micros) merged over the bundled table').env('BURSAR_TOOL_PRICES'))
    .addOption(new Option('--upstream-timeout <ms>', 'how long to wait for a provider').argParser(parseCountArg('--upstream-timeout', 3_600_000, 'invalid_timeout')))
    .addOption(new Option('--sync <mode>', 'SQLite durability: normal (survives a process crash) or full (also power loss)').choices(['normal', 'full']).default('normal'))
    .addOption(new Option('--drain <ms>', 'on SIGTERM or Ctrl-C, how long calls in flight may finish before they are cut and settled at what was generated').env('BURSAR_DRAIN_MS').argParser(parseCountArg('--drain', 3_600_000, 'invalid_drain')).default(serverLimits.drainMsDefault))
    .addOption(new Option('--cors-origin <origins>', 'let browsers on these origins call the server (comma-separated, or *); off by default').env('BURSAR_CORS_ORIGIN'))
    .addOption(new Option('--otel-endpoint <url>', 'OTLP/HTTP endpoint (a collector, e.g. http://127.0.0.1:4318) for a span per proxied call and spend metrics; off when unset').env('OTEL_EXPORTER_OTLP_ENDPOINT'))
    .option('--quickstart', 'seed a demo agent into an empty database and print a curl with a fresh token')
    .action(async (flags: ServeFlags) => {
      const { db, json } = context.options();
      // A tool price file is read when given; the bundled table loads with the first route that needs it.
      const tools = flags.tools === undefined || flags.tools === '' ? { ok: true as const, prices: undefined } : (await import('../pricing/tools.js')).loadToolPrices({ path: flags.tools });
      if (!tools.ok) throw new CliError({ code: tools.code, message: tools.message, ...(tools.field ? { field: tools.field } : {}) }, 2);
      let server: RunningServer;
      try {
        server = await startServer({ port: flags.port, host: flags.host, db, mode: flags.mode, mockUpstream: flags.mockUpstream, upstream: flags.upstream, autoNeedsBaseUrl: flags.quickstart === true, pricingPath: flags.pricing, toolPrices: tools.prices, upstreamTimeoutMs: flags.upstreamTimeout, synchronous: flags.sync, plugins: servePlugins, env: context.env, drainMs: flags.drain, corsOrigins: corsOrigins(flags.corsOrigin), otelEndpoint: flags.otelEndpoint || undefined });
      } catch (error) {
        if (error instanceof ServeConfigError || error instanceof AdminKeyError || error instanceof TelemetryConfigError) throw new CliError({ code: error.code, message: `${error.message}${fixHints[error.code] ?? ''}` }, 2);
        throw error;
      }
      const seeded = flags.quickstart ? await seedDemo(server.store) : false;
      const token = flags.quickstart ? await quickstartToken(server.store) : undefined;
      const guards = seeded ? await demoGuards(server.store) : '';
      await context.emit(
        () => ({ ok: true, url: server.url, mcp_url: `${server.url}/mcp`, db, mode: flags.mode, mock_upstream: server.mock?.url ?? null, upstream: upstreamJson(server), base_urls: { openai: `${server.url}/v1`, anthropic: server.url, ai_sdk_anthropic: `${server.url}/v1` }, admin_key: server.generatedAdminKey ?? null, token: token?.secret ?? null, token_budget: token?.envelope.path ?? null }),
        () =>
          [
            banner(server, flags, db),
            ...(seeded ? [`\nCreated a demo tree: demo (org, $100/month) > demo/agents (team, $20/month) > ${quickstartAgent} (agent, $5/day).\n${guards}`] : []),
            ...(token ? [`\nA fresh spend token for ${quickstartAgent} (max ${formatUsd(token.envelope.limitMicros ?? 0)}, valid 24h; shown only now):\n  ${token.secret}\n\nTry it:\n${curlFor(server.url, token.secret)}\n\nThen: npx bursar budgets tree   (another terminal, same directory)`] : []),
            '\nPress Ctrl-C to stop.',
          ].join('\n'),
      );
      await untilInterrupted();
      if (!json) await context.print('stopping…');
      await server.close();
    });
}
