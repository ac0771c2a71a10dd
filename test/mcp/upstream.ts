import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/**
 * A small MCP server for the proxy tests, over streamable HTTP (stateless): `search` (priced in
 * the tests), `mystery` (priced nowhere) and `flaky` (answers with an error result). It counts
 * the calls that reach it.
 */

export interface Upstream {
  url: string;
  /** Calls that reached each tool. */
  calls: Map<string, number>;
  close(): Promise<void>;
}

function upstreamServer(calls: Map<string, number>): McpServer {
  const server = new McpServer({ name: 'test-upstream', version: '1.0.0' });
  const count = (tool: string) => calls.set(tool, (calls.get(tool) ?? 0) + 1);
  server.registerTool('search', { description: 'Searches the web.', inputSchema: { query: z.string() } }, ({ query }) => {
    count('search');
    return { content: [{ type: 'text', text: `results for ${query}` }] };
  });
  server.registerTool('mystery', { description: 'Does something unpriced.' }, () => {
    count('mystery');
    return { content: [{ type: 'text', text: 'done' }] };
  });
  server.registerTool('flaky', { description: 'Always fails.' }, () => {
    count('flaky');
    return { isError: true, content: [{ type: 'text', text: 'the service behind this tool is down' }] };
  });
  return server;
}

export async function startUpstream(): Promise<Upstream> {
  const calls = new Map<string, number>();
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const server = upstreamServer(calls);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => void server.close());
      const body: unknown = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
      void server.connect(transport).then(() => transport.handleRequest(req, res, body));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
