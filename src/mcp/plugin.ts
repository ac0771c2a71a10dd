import type { FastifyInstance, FastifyReply } from 'fastify';
import { codeTable, failure, labelPattern, labelRule, presentedSecret, WireError, type Failure } from '../contract/index.js';
import type { Labels, RandomBytes } from '../core/index.js';
import { authenticateRequest } from '../ops/index.js';
import { defaultToolPrices, type PriceCatalog, type ToolPrices } from '../pricing/index.js';
import type { Store } from '../store/index.js';
import { errorMeta, stderrLog, thrownFailure } from './errors.js';
import { mcpLimits } from './limits.js';
import type { McpDeps } from './tools.js';

/**
 * `/mcp` on `bursar serve`: Bursar's MCP tools over streamable HTTP, authenticated with the
 * agent's spend token as the agent routes are (`Authorization: Bearer bsr_…` or `x-api-key`).
 * A request the door refuses (no or unknown token, a bad label header, a body that is not JSON)
 * gets its HTTP status from the code table and a JSON-RPC error whose `data` carries Bursar's
 * code. The MCP SDK is loaded on the first request, so a server nobody asks for MCP never loads it.
 */

export interface McpPluginOptions {
  /** The tool price table `reserve_spend` and `estimate_cost` use (default: the bundled one). */
  toolPrices?: ToolPrices;
  /** Where errors that become `internal` are logged (default: stderr). */
  onError?: (error: unknown) => void;
}

/** What the server composition hands a plugin. */
interface PluginContext {
  store: Store;
  pricing: PriceCatalog;
  gateway: { now(): number; random: RandomBytes };
}

/** JSON-RPC's code for a body that is not JSON; everything else Bursar refuses is a server error with its code in `data`. */
const rpcParseError = -32700;
const rpcServerError = -32000;

function sendRpcError(reply: FastifyReply, refusal: Failure, rpcCode = rpcServerError): FastifyReply {
  const status = codeTable[refusal.code].status;
  void reply.code(status).header('x-bursar-code', refusal.code).header('cache-control', 'no-store');
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="bursar"');
  return reply.send({ jsonrpc: '2.0', error: { code: rpcCode, message: `${refusal.code}: ${refusal.message}`, data: errorMeta(refusal) }, id: null });
}

/** Session and task from the x-bursar-session / x-bursar-task headers, as the gateway reads them. */
function headerLabels(headers: Record<string, string | string[] | undefined>): Pick<Labels, 'session' | 'task'> | Failure {
  const out: Pick<Labels, 'session' | 'task'> = {};
  for (const [name, key] of [['x-bursar-session', 'session'], ['x-bursar-task', 'task']] as const) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !labelPattern.test(value)) return failure('bad_request', `header ${name} must be ${labelRule}`, { field: name });
    out[key] = value;
  }
  return out;
}

/** JSON bodies for this scope only (the gateway's routes read raw bytes); invalid JSON is a JSON-RPC parse error. */
function jsonBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: mcpLimits.bodyBytesMax }, (_request, body, done) => {
    try {
      done(null, JSON.parse(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (error) {
      done(Object.assign(new WireError('bad_request', `the request body is not valid JSON: ${(error as Error).message}`), { rpcCode: rpcParseError }), undefined);
    }
  });
}

/**
 * The `/mcp` route as a plugin in the shape `startServer` takes.
 *
 * @example
 * await startServer({ plugins: [mcpPlugin({ toolPrices })] });
 */
export function mcpPlugin(options: McpPluginOptions = {}): (app: FastifyInstance, context: PluginContext) => Promise<void> {
  return async (app, context) => {
    const log = options.onError ?? stderrLog;
    const deps: McpDeps = { store: context.store, pricing: context.pricing, toolPrices: options.toolPrices ?? defaultToolPrices(), random: context.gateway.random, now: () => context.gateway.now() };
    let http: Promise<typeof import('./http.js')> | undefined;
    await app.register(async (scope) => {
      jsonBodies(scope);
      scope.setErrorHandler((error, _request, reply) => sendRpcError(reply, thrownFailure(error, log, mcpLimits.bodyBytesMax), (error as { rpcCode?: number }).rpcCode));
      scope.route({ method: ['GET', 'DELETE'], url: '/mcp', handler: (_request, reply) => reply.code(405).header('allow', 'POST').send({ jsonrpc: '2.0', error: { code: rpcServerError, message: 'this MCP server is stateless: POST each JSON-RPC message to /mcp' }, id: null }) });
      scope.post('/mcp', async (request, reply) => {
        const labels = headerLabels(request.headers);
        if ('ok' in labels) return sendRpcError(reply, labels);
        // A stopped token may still settle or void what it reserved; each tool checks what it needs.
        const caller = await authenticateRequest(context.store, request.headers, deps.now(), 'resolve');
        if ('ok' in caller) return sendRpcError(reply, caller);
        const { serveMcpRequest } = await (http ??= import('./http.js'));
        reply.hijack();
        await serveMcpRequest(deps, { secret: presentedSecret(request.headers), labels }, request.raw, reply.raw, request.body, log).catch((error: unknown) => {
          log(error);
          if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal: the server log has the details' }, id: null }));
          else reply.raw.destroy();
        });
      });
    });
  };
}
