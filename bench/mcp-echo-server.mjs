/**
 * Upstream for bench/mcp-proxy.ts: the smallest useful MCP server, one `echo` tool over stdio,
 * built on the official SDK. What the proxy adds is measured against calling this directly.
 * Usage: node bench/mcp-echo-server.mjs (speaks MCP on stdin and stdout).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'echo', version: '1.0.0' });
server.registerTool('echo', { description: 'Echoes its text.', inputSchema: { text: z.string() } }, ({ text }) => ({ content: [{ type: 'text', text }] }));
await server.connect(new StdioServerTransport());
