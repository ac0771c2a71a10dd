import { z } from 'zod';
import { limits as coreLimits } from '../core/index.js';
import { toolLimits } from './limits.js';
import bundledJson from './tools.json' with { type: 'json' };
import { describeIssue, readJsonFile } from './schema.js';

/**
 * Prices of paid tools that are not LLM calls (file reads, shell commands, web fetches,
 * sub-agents, MCP calls): a fixed price per call, from the budget-management guide's
 * `TOOL_COSTS` table. A tool the table does not list is estimated conservatively: the
 * **standard cost** (`standard_micros`, by default $0.01, the guide's own figure for an unknown
 * tool and the price of its command-running tools Bash, PythonCode and WebFetch) plus
 * `unknown_markup_pct` percent (default 20), rounded up to a whole micro: $0.012.
 */

/** A validated tool price table. */
export interface ToolPrices {
  /** Price of one call, by tool name as listed. */
  readonly pricesMicros: ReadonlyMap<string, number>;
  /** What an unknown tool's estimate starts from. */
  readonly standardMicros: number;
  /** Percent added to the standard cost for a tool the table does not list. */
  readonly unknownMarkupPct: number;
  /** `bundled`, or the override file merged over it. */
  readonly source: string;
}

/** How an estimate was made: given by the caller, from the table, or the unknown-tool rule. */
export type ToolEstimateBasis = 'given' | 'table' | 'unknown';

export interface ToolEstimate {
  costMicros: number;
  basis: ToolEstimateBasis;
  /** The table entry that priced the call (`MCP` for `mcp__…`), or null. */
  pricedAs: string | null;
}

/** Why a table could not be loaded, naming the bad field when there is one. */
export interface ToolPricesError {
  ok: false;
  code: 'tool_prices_invalid' | 'tool_prices_unreadable';
  message: string;
  field?: string;
}

const toolName = z
  .string()
  .min(1, { error: 'a tool name cannot be empty' })
  .refine((s) => Buffer.byteLength(s) <= coreLimits.labelBytesMax && /^[\x20-\x7E]+$/.test(s), { error: `tool names are printable ASCII, at most ${coreLimits.labelBytesMax} bytes` });
const priceMicros = z.int({ error: 'must be a whole number of micros (10000 = $0.01)' }).min(1, { error: 'must be at least 1 micro (a tool that costs nothing needs no guard)' }).max(toolLimits.priceMicrosMax, { error: `must be at most ${toolLimits.priceMicrosMax}` });
const markupPct = z.int({ error: 'must be a whole percentage' }).min(0, { error: 'must not be negative' }).max(toolLimits.unknownMarkupPctMax, { error: `must be at most ${toolLimits.unknownMarkupPctMax}` });

/**
 * A tool price file: the bundled tools.json, or an override merged over it, where a tool set to
 * null is removed from the table (so it is estimated as unknown).
 *
 * @example
 * toolPricesFileSchema.parse({ prices_micros: { Search: 3000, Bash: null } })
 */
export const toolPricesFileSchema = z.strictObject({
  $comment: z.string().optional(),
  prices_micros: z.record(toolName, priceMicros.nullable()).optional(),
  standard_micros: priceMicros.optional(),
  unknown_markup_pct: markupPct.optional(),
});

export type ToolPricesFile = z.infer<typeof toolPricesFileSchema>;

let bundled: ToolPrices | undefined;

/**
 * The table shipped with Bursar (the guide's defaults), validated once.
 *
 * @example
 * defaultToolPrices().pricesMicros.get('WebFetch') // 10_000 ($0.01)
 */
export function defaultToolPrices(): ToolPrices {
  if (bundled) return bundled;
  const merged = mergeToolPrices({ pricesMicros: new Map(), standardMicros: 0, unknownMarkupPct: 0, source: 'bundled' }, bundledJson, 'bundled');
  if (!merged.ok) throw new Error(`bundled tools.json is invalid: ${merged.message}`);
  bundled = merged.prices;
  return bundled;
}

/**
 * Merges a parsed file over a table. Every problem is a result naming the field.
 *
 * @example
 * const merged = mergeToolPrices(defaultToolPrices(), { prices_micros: { Search: 3000 } }, 'inline');
 * if (merged.ok) merged.prices.pricesMicros.get('Search') // 3000
 */
export function mergeToolPrices(base: ToolPrices, json: unknown, source: string): { ok: true; prices: ToolPrices } | ToolPricesError {
  const parsed = toolPricesFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = describeIssue(parsed.error);
    return { ok: false, code: 'tool_prices_invalid', message: issue.message, field: issue.field };
  }
  const prices = new Map(base.pricesMicros);
  for (const [name, price] of Object.entries(parsed.data.prices_micros ?? {})) {
    if (price === null) prices.delete(name);
    else prices.set(name, price);
  }
  if (prices.size > toolLimits.toolsMax) return { ok: false, code: 'tool_prices_invalid', message: `more than ${toolLimits.toolsMax} tools`, field: 'prices_micros' };
  return {
    ok: true,
    prices: {
      pricesMicros: prices,
      standardMicros: parsed.data.standard_micros ?? base.standardMicros,
      unknownMarkupPct: parsed.data.unknown_markup_pct ?? base.unknownMarkupPct,
      source,
    },
  };
}

/**
 * The bundled table (or `base`) with an optional override file (`bursar serve --tools`,
 * BURSAR_TOOL_PRICES) merged over it.
 *
 * @example
 * const loaded = loadToolPrices({ path: './tools.json' });
 * if (!loaded.ok) console.error(loaded.message); // './tools.json: prices_micros.Search: must not be negative'
 */
export function loadToolPrices(options: { path?: string; base?: ToolPrices } = {}): { ok: true; prices: ToolPrices } | ToolPricesError {
  const base = options.base ?? defaultToolPrices();
  if (options.path === undefined || options.path === '') return { ok: true, prices: base };
  const path = options.path;
  const read = readJsonFile(path, toolLimits.fileBytesMax);
  if (!read.ok) return { ok: false, code: read.why === 'unreadable' ? 'tool_prices_unreadable' : 'tool_prices_invalid', message: read.message };
  const json = read.json;
  const merged = mergeToolPrices(base, json, `${base.source} + ${path}`);
  return merged.ok ? merged : { ...merged, message: `${path}: ${merged.message}` };
}

/**
 * A table that lists no tool, with the bundled standard cost and markup: what a proxy in front
 * of another MCP server starts from, since the bundled names (Read, Bash…) are not its tools.
 *
 * @example
 * estimateTool(emptyToolPrices(), 'search').costMicros // 12_000 ($0.01 + 20%)
 */
export function emptyToolPrices(): ToolPrices {
  const bundledTable = defaultToolPrices();
  return { pricesMicros: new Map(), standardMicros: bundledTable.standardMicros, unknownMarkupPct: bundledTable.unknownMarkupPct, source: 'standard cost' };
}

/**
 * What a tool the table does not list is estimated at: the standard cost plus the markup,
 * rounded up to a whole micro.
 *
 * @example
 * unknownToolMicros(defaultToolPrices()) // 12_000 ($0.01 + 20%)
 */
export function unknownToolMicros(prices: ToolPrices): number {
  return Math.ceil((prices.standardMicros * (100 + prices.unknownMarkupPct)) / 100);
}

/** The table entry for a tool name: exact, then ignoring case, then `mcp__…` as `MCP`. */
function entryFor(prices: ToolPrices, tool: string): string | null {
  if (prices.pricesMicros.has(tool)) return tool;
  const lower = tool.toLowerCase();
  for (const name of prices.pricesMicros.keys()) if (name.toLowerCase() === lower) return name;
  if (lower.startsWith('mcp__') && prices.pricesMicros.has('MCP')) return 'MCP';
  return null;
}

/**
 * The cost to reserve for one call of a tool: the caller's own estimate when given, else the
 * table's price (names match exactly, then ignoring case; MCP tools named `mcp__server__tool`
 * take the `MCP` price), else the unknown-tool estimate.
 *
 * @example
 * estimateTool(defaultToolPrices(), 'Agent') // { costMicros: 100_000, basis: 'table', pricedAs: 'Agent' }
 * estimateTool(defaultToolPrices(), 'CustomTool') // { costMicros: 12_000, basis: 'unknown', pricedAs: null }
 * estimateTool(defaultToolPrices(), 'WebFetch', 25_000) // { costMicros: 25_000, basis: 'given', pricedAs: null }
 */
export function estimateTool(prices: ToolPrices, tool: string, givenMicros?: number): ToolEstimate {
  if (givenMicros !== undefined) return { costMicros: givenMicros, basis: 'given', pricedAs: null };
  const name = entryFor(prices, tool);
  const price = name === null ? undefined : prices.pricesMicros.get(name);
  if (name === null || price === undefined) return { costMicros: unknownToolMicros(prices), basis: 'unknown', pricedAs: null };
  return { costMicros: price, basis: 'table', pricedAs: name };
}

/**
 * A table in the JSON form of `GET /v1/bursar/tools`: tools sorted by name.
 *
 * @example
 * toolPricesToJson(defaultToolPrices()).unknown_tool_micros // 12000
 */
export function toolPricesToJson(prices: ToolPrices): { tools: { name: string; price_micros: number }[]; standard_micros: number; unknown_markup_pct: number; unknown_tool_micros: number } {
  const tools = [...prices.pricesMicros.entries()].map(([name, price]) => ({ name, price_micros: price })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { tools, standard_micros: prices.standardMicros, unknown_markup_pct: prices.unknownMarkupPct, unknown_tool_micros: unknownToolMicros(prices) };
}

/**
 * A table from that JSON form (the inverse of `toolPricesToJson`), for the SDK's remote mode.
 *
 * @example
 * toolPricesFromJson(toolPricesToJson(defaultToolPrices()), 'server').pricesMicros.get('Read') // 1000
 */
export function toolPricesFromJson(json: ReturnType<typeof toolPricesToJson>, source: string): ToolPrices {
  return { pricesMicros: new Map(json.tools.map((t) => [t.name, t.price_micros])), standardMicros: json.standard_micros, unknownMarkupPct: json.unknown_markup_pct, source };
}
