import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createBursarMcpServer } from './server.js';
import type { McpDeps, McpSession } from './tools.js';

/**
 * MCP over stdio: a server reading JSON-RPC from stdin and writing to stdout, the way desktop
 * clients (Claude Desktop, Cursor) start MCP servers. Nothing else may write to stdout.
 */

export interface StdioStreams {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
}

export interface ServingStdio {
  /** Resolves when the client goes away (stdin ends) or the server closes. */
  ended: Promise<void>;
  close(): Promise<void>;
}

/**
 * Serves `server` on stdin and stdout until the client goes away.
 *
 * @example
 * const serving = await serveStdio(proxy.server);
 * await serving.ended;
 */
export async function serveStdio(server: Server | McpServer, streams: StdioStreams = { stdin: process.stdin, stdout: process.stdout }): Promise<ServingStdio> {
  const transport = new StdioServerTransport(streams.stdin as NodeJS.ReadStream, streams.stdout as NodeJS.WriteStream);
  const ended = new Promise<void>((resolve) => {
    streams.stdin.once('end', () => resolve());
    streams.stdin.once('close', () => resolve());
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  return { ended, close: () => server.close() };
}

/**
 * Bursar's own tools on stdio, for one spend token (`bursar mcp`).
 *
 * @example
 * const serving = await serveBursarStdio(deps, { secret: process.env.BURSAR_TOKEN, labels: {} });
 */
export async function serveBursarStdio(deps: McpDeps, session: McpSession, streams?: StdioStreams): Promise<ServingStdio> {
  return serveStdio(createBursarMcpServer(deps, session), streams);
}
