/**
 * Bursar over the Model Context Protocol: an MCP server whose tools let an agent see and manage
 * its own budget (`bursar mcp` over stdio, `/mcp` on `bursar serve`), and a proxy that meters
 * another MCP server's tool calls under the same budgets (`bursar mcp-proxy`). This face loads
 * nothing of the MCP SDK: the parts that use it are imported when they are started.
 *
 * @example
 * import { mcpPlugin } from '../mcp/index.js';
 * await startServer({ plugins: [mcpPlugin({ toolPrices })] });
 */
export { mcpPlugin, type McpPluginOptions } from './plugin.js';
export { mcpLimits } from './limits.js';
export type { McpDeps, McpSession } from './tools.js';
