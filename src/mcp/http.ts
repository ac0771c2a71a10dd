import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createBursarMcpServer } from './server.js';
import type { McpDeps, McpSession } from './tools.js';

/**
 * One request to `/mcp` on `bursar serve`, answered by the SDK's streamable HTTP transport in
 * stateless mode: every POST carries the spend token and gets a server of its own, so any
 * process behind a load balancer can answer it. Loaded on the first request to `/mcp`.
 *
 * @example
 * await serveMcpRequest(deps, { secret, labels: {} }, req.raw, reply.raw, req.body, log);
 */
export async function serveMcpRequest(deps: McpDeps, session: McpSession, req: IncomingMessage, res: ServerResponse, body: unknown, log: (error: unknown) => void): Promise<void> {
  const server = createBursarMcpServer(deps, session, log);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}
