import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultToolPrices, estimateTool, loadToolPrices, mergeToolPrices, toolPricesFromJson, toolPricesToJson, unknownToolMicros } from './tools.js';

const dir = mkdtempSync(join(tmpdir(), 'bursar-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('tool prices', () => {
  it('bundles the budget guide\'s table in micros', () => {
    // Proves the defaults are the seed guide's TOOL_COSTS, converted exactly to integer micros.
    const prices = defaultToolPrices();
    expect(Object.fromEntries(prices.pricesMicros)).toEqual({
      Read: 1_000,
      Write: 5_000,
      Edit: 5_000,
      Bash: 10_000,
      PythonCode: 10_000,
      Delete: 2_000,
      Grep: 1_000,
      Glob: 1_000,
      HTTP: 5_000,
      WebFetch: 10_000,
      Workflow: 50_000,
      Agent: 100_000,
      MCP: 20_000,
    });
    expect([prices.standardMicros, prices.unknownMarkupPct, unknownToolMicros(prices)]).toEqual([10_000, 20, 12_000]);
  });

  it('estimates given, listed, case-insensitive, MCP-prefixed and unknown tools', () => {
    // Proves the estimate order: the caller's figure, the table (exact, then ignoring case, mcp__ as MCP), then standard + 20%.
    const prices = defaultToolPrices();
    expect(estimateTool(prices, 'WebFetch', 25_000)).toEqual({ costMicros: 25_000, basis: 'given', pricedAs: null });
    expect(estimateTool(prices, 'Agent')).toEqual({ costMicros: 100_000, basis: 'table', pricedAs: 'Agent' });
    expect(estimateTool(prices, 'bash')).toEqual({ costMicros: 10_000, basis: 'table', pricedAs: 'Bash' });
    expect(estimateTool(prices, 'mcp__github__create_issue')).toEqual({ costMicros: 20_000, basis: 'table', pricedAs: 'MCP' });
    expect(estimateTool(prices, 'CustomTool')).toEqual({ costMicros: 12_000, basis: 'unknown', pricedAs: null });
  });

  it('rounds the unknown-tool markup up to a whole micro', () => {
    // Proves money never becomes a fraction: 7 micros + 20% is 8.4, reserved as 9.
    const merged = mergeToolPrices(defaultToolPrices(), { standard_micros: 7 }, 'test');
    if (!merged.ok) throw new Error(merged.message);
    expect(unknownToolMicros(merged.prices)).toBe(9);
  });

  it('merges an override file: adds, replaces and removes tools, changes the unknown rule', () => {
    // Proves `bursar serve --tools file.json`: null removes a tool (it is then estimated as unknown).
    const path = file('ok.json', JSON.stringify({ prices_micros: { Search: 3_000, Read: 500, Bash: null }, standard_micros: 50_000, unknown_markup_pct: 50 }));
    const loaded = loadToolPrices({ path });
    if (!loaded.ok) throw new Error(loaded.message);
    expect(estimateTool(loaded.prices, 'Search').costMicros).toBe(3_000);
    expect(estimateTool(loaded.prices, 'Read').costMicros).toBe(500);
    expect(estimateTool(loaded.prices, 'Bash')).toEqual({ costMicros: 75_000, basis: 'unknown', pricedAs: null });
    expect(loaded.prices.source).toBe(`bundled + ${path}`);
    expect(toolPricesFromJson(toolPricesToJson(loaded.prices), 'x').pricesMicros).toEqual(loaded.prices.pricesMicros);
  });

  it('refuses a bad file naming the file and the failing field', () => {
    // Proves validation at the edge: a fractional or negative price, an unknown key, bad JSON and a missing file are results, never throws.
    const cases: [string, string, string | undefined][] = [
      ['fraction.json', JSON.stringify({ prices_micros: { Read: 0.5 } }), 'prices_micros.Read'],
      ['zero.json', JSON.stringify({ prices_micros: { Read: 0 } }), 'prices_micros.Read'],
      ['markup.json', JSON.stringify({ unknown_markup_pct: -1 }), 'unknown_markup_pct'],
      ['extra.json', JSON.stringify({ tools: {} }), ''],
      ['broken.json', '{', undefined],
    ];
    for (const [name, text, field] of cases) {
      const loaded = loadToolPrices({ path: file(name, text) });
      expect(loaded.ok, name).toBe(false);
      if (loaded.ok) continue;
      expect(loaded.code, name).toBe('tool_prices_invalid');
      expect(loaded.message.startsWith(join(dir, name)), name).toBe(true);
      expect(loaded.field, name).toBe(field);
    }
    const missing = loadToolPrices({ path: join(dir, 'nope.json') });
    expect(missing).toMatchObject({ ok: false, code: 'tool_prices_unreadable' });
  });
});
