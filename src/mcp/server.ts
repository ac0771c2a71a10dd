import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { authenticateToken } from '../ops/index.js';
import { packageVersion } from '../version.js';
import { stderrLog, thrownFailure, toolError } from './errors.js';
import { bursarTools, type BursarTool, type McpDeps, type McpSession, type ToolAnswer } from './tools.js';

/**
 * Bursar's MCP server: the tools of tools.ts on the official SDK's `McpServer`, for one
 * connection's spend token. Every call authenticates the token again (a token revoked while the
 * connection is open stops spending at once) and answers with structured content plus text; a
 * refusal is a tool error whose text leads with Bursar's code and whose `_meta["bursar/error"]`
 * carries the code, the refusing budget and what it has left.
 */

const instructions = [
  'Bursar holds this agent\'s budget: a hard limit on the token, the agent, its team and its org.',
  'Call budget_balance before long or paid work, estimate_cost before a large model call,',
  'and reserve_spend before paid work that is not a model call, then settle_spend (or void_spend) when it is done.',
  'A refusal is a tool error starting with Bursar\'s code (budget_exceeded, burn_limit, too_many_inflight…):',
  'do not retry it unchanged; stop, narrow the work, or wait when the error says when.',
].join(' ');

function answerOf(answer: ToolAnswer): CallToolResult {
  if ('ok' in answer) return toolError(answer, answer.fields);
  return { content: [{ type: 'text', text: answer.text }], structuredContent: answer.json };
}

async function runTool(t: BursarTool, args: unknown, deps: McpDeps, session: McpSession): Promise<ToolAnswer> {
  const caller = await authenticateToken(deps.store, session.secret, deps.now(), t.use);
  if ('ok' in caller) return caller;
  return t.run({ caller, args, deps, session });
}

/**
 * An MCP server with Bursar's tools for one connection (a stdio process, or one HTTP request).
 *
 * @example
 * const server = createBursarMcpServer(deps, { secret: 'bsr_…', labels: { session: 'run-42' } });
 * await server.connect(new StdioServerTransport());
 */
export function createBursarMcpServer(deps: McpDeps, session: McpSession, log: (error: unknown) => void = stderrLog): McpServer {
  const server = new McpServer({ name: 'bursar', title: 'Bursar budget', version: packageVersion() }, { instructions });
  for (const t of bursarTools) {
    const config = { title: t.title, description: t.description, inputSchema: t.input, outputSchema: t.output, annotations: { readOnlyHint: t.readOnly, destructiveHint: false, openWorldHint: false } };
    server.registerTool(t.name, config, async (args: unknown) => {
      try {
        return answerOf(await runTool(t, args, deps, session));
      } catch (error) {
        return toolError(thrownFailure(error, log));
      }
    });
  }
  return server;
}
