import { formatUsd, parseUsd } from '../core/index.js';
import { emptyToolPrices, loadToolPrices, mergeToolPrices, unknownToolMicros, type ToolPrices, type ToolPricesError } from '../pricing/index.js';
import { mcpLimits } from './limits.js';

/**
 * What `bursar mcp-proxy` is told on its command line, checked before anything starts: the
 * upstream server (a URL, or a command to run), and the price of each of its tools.
 */

/** An input a person must fix, naming the flag. */
export interface ProxyConfigError {
  ok: false;
  code: string;
  message: string;
  field: string;
}

/** Where the upstream MCP server is: a streamable HTTP endpoint, or a command that speaks MCP on stdio. */
export type UpstreamSpec = { kind: 'url'; url: URL } | { kind: 'command'; command: string; args: string[] };

const bad = (code: string, field: string, message: string): ProxyConfigError => ({ ok: false, code, message, field });

/**
 * Splits a command line into words as a POSIX shell would for plain words, 'single' and
 * "double" quotes and backslash escapes; nothing is expanded.
 *
 * @example
 * splitCommand(`npx -y "@acme/mcp server" --root '/tmp/a b'`) // ['npx', '-y', '@acme/mcp server', '--root', '/tmp/a b']
 */
export function splitCommand(text: string): string[] | ProxyConfigError {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charAt(i);
    if (quote === "'" ? c === "'" : quote === '"' ? c === '"' : false) {
      quote = undefined;
    } else if (c === '\\' && quote !== "'" && i + 1 < text.length) {
      i += 1;
      word = (word ?? '') + text.charAt(i);
    } else if (quote === undefined && (c === "'" || c === '"')) {
      quote = c;
      word ??= '';
    } else if (quote === undefined && /\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== undefined) return bad('invalid_upstream', '--upstream', `the command has an unclosed ${quote} quote`);
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * The upstream server: an http(s) URL is its streamable HTTP endpoint; anything else is the
 * command that starts it (speaking MCP on its stdin and stdout).
 *
 * @example
 * parseUpstream('http://127.0.0.1:3000/mcp') // { kind: 'url', url: URL }
 * parseUpstream('npx -y @modelcontextprotocol/server-everything') // { kind: 'command', command: 'npx', args: ['-y', '@modelcontextprotocol/server-everything'] }
 */
export function parseUpstream(text: string): UpstreamSpec | ProxyConfigError {
  if (text.length > mcpLimits.upstreamCommandCharsMax) return bad('invalid_upstream', '--upstream', `is longer than ${mcpLimits.upstreamCommandCharsMax} characters`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text.trim())) {
    let url: URL;
    try {
      url = new URL(text.trim());
    } catch {
      return bad('invalid_upstream', '--upstream', `${JSON.stringify(text)} is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return bad('invalid_upstream', '--upstream', `an upstream URL is http(s), the server's streamable HTTP endpoint (like http://127.0.0.1:3000/mcp); got ${url.protocol}`);
    return { kind: 'url', url };
  }
  const words = splitCommand(text);
  if (!Array.isArray(words)) return words;
  const [command, ...args] = words;
  if (command === undefined) return bad('invalid_upstream', '--upstream', 'give the upstream MCP server: a URL (http://…/mcp) or the command that starts it');
  return { kind: 'command', command, args };
}

/**
 * Tool prices from `--price tool=usd,…` (the flag may repeat): micros by tool name.
 *
 * @example
 * parsePriceList(['search=0.002,fetch_page=0.01']) // { ok: true, prices: { search: 2000, fetch_page: 10000 } }
 */
export function parsePriceList(texts: readonly string[]): { ok: true; prices: Record<string, number> } | ProxyConfigError {
  const prices: Record<string, number> = {};
  for (const item of texts.flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '')) {
    const at = item.lastIndexOf('=');
    const name = item.slice(0, at).trim();
    const micros = at < 0 ? undefined : parseUsd(item.slice(at + 1));
    if (at <= 0 || name === '') return bad('invalid_price', '--price', `"${item}" is not tool=usd (like search=0.002)`);
    if (micros === undefined || micros <= 0) return bad('invalid_price', '--price', `"${item}": the price of one call is USD above 0 with at most 6 decimals (like ${name}=0.002)`);
    prices[name] = micros;
  }
  return { ok: true, prices };
}

/**
 * The proxy's price table: no tool listed (an unknown tool costs the standard $0.01 plus 20%),
 * then a prices file (the `--tools` format: `prices_micros`, `standard_micros`,
 * `unknown_markup_pct`), then the `--price` list over it.
 *
 * @example
 * const table = proxyToolPrices({ prices: { search: 2_000 } });
 */
export function proxyToolPrices(options: { file?: string; prices?: Record<string, number> }): { ok: true; prices: ToolPrices } | ToolPricesError {
  const fromFile = loadToolPrices({ path: options.file, base: emptyToolPrices() });
  if (!fromFile.ok || options.prices === undefined || Object.keys(options.prices).length === 0) return fromFile;
  return mergeToolPrices(fromFile.prices, { prices_micros: options.prices }, `${fromFile.prices.source} + --price`);
}

/** The prices in a line, for the proxy's start-up message. */
export function pricesLine(prices: ToolPrices): string {
  const listed = [...prices.pricesMicros.entries()].map(([name, micros]) => `${name} ${formatUsd(micros)}`);
  const unknown = formatUsd(unknownToolMicros(prices));
  return `${listed.length === 0 ? 'no tool priced' : listed.join(', ')}; any other tool ${unknown}`;
}

/** Variables the upstream server is not given: Bursar's own credentials. */
const withheldVars = ['BURSAR_TOKEN', 'BURSAR_ADMIN_KEY', 'BURSAR_VIEWER_KEY'];

/**
 * The environment an upstream command runs with: the proxy's own, without Bursar's credentials
 * (the spend token is the proxy's to spend, not the upstream's).
 *
 * @example
 * upstreamEnv({ PATH: '/usr/bin', BURSAR_TOKEN: 'bsr_…' }) // { PATH: '/usr/bin' }
 */
export function upstreamEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && !withheldVars.includes(name)) out[name] = value;
  return out;
}
