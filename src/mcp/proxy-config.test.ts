import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { estimateTool } from '../pricing/index.js';
import { parsePriceList, parseUpstream, proxyToolPrices, splitCommand, upstreamEnv } from './proxy-config.js';

test('an upstream command is split into words as a shell would, quotes and escapes included, without expanding anything', () => {
  expect(splitCommand(`npx -y "@acme/mcp server" --root '/tmp/a b' $HOME a\\ b ""`)).toEqual(['npx', '-y', '@acme/mcp server', '--root', '/tmp/a b', '$HOME', 'a b', '']);
  expect(splitCommand(`node 'it"s'`)).toEqual(['node', 'it"s']);
  expect(splitCommand(`node "server.mjs`)).toMatchObject({ ok: false, code: 'invalid_upstream', field: '--upstream' });
});

test('an http(s) URL is an upstream endpoint, anything else the command that starts the server', () => {
  expect(parseUpstream('https://tools.example.com/mcp')).toMatchObject({ kind: 'url' });
  expect(parseUpstream('uvx mcp-server-fetch')).toEqual({ kind: 'command', command: 'uvx', args: ['mcp-server-fetch'] });
  expect(parseUpstream('   ')).toMatchObject({ ok: false, message: expect.stringContaining('give the upstream MCP server') as unknown });
});

test('--price lists take tool=usd pairs, repeated or comma-separated, in whole micros', () => {
  expect(parsePriceList(['search=0.002,fetch=0.01', 'db.query = $0.000001'])).toEqual({ ok: true, prices: { search: 2_000, fetch: 10_000, 'db.query': 1 } });
  expect(parsePriceList(['search'])).toMatchObject({ ok: false, message: '"search" is not tool=usd (like search=0.002)' });
  expect(parsePriceList(['search=0'])).toMatchObject({ ok: false, code: 'invalid_price' });
  expect(parsePriceList(['search=1e-3'])).toMatchObject({ ok: false, code: 'invalid_price' });
});

test('the proxy\'s table lists only the tools it is given: the bundled names are not the upstream\'s, and anything else costs the standard $0.01 plus 20%', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-prices-'));
  try {
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ prices_micros: { search: 3_000, fetch: 9_000 }, unknown_markup_pct: 50 }));
    const loaded = proxyToolPrices({ file, prices: { search: 2_000 } });
    if (!loaded.ok) throw new Error(loaded.message);
    expect(estimateTool(loaded.prices, 'search')).toMatchObject({ costMicros: 2_000, basis: 'table' });
    expect(estimateTool(loaded.prices, 'fetch')).toMatchObject({ costMicros: 9_000, basis: 'table' });
    expect(estimateTool(loaded.prices, 'Bash')).toMatchObject({ costMicros: 15_000, basis: 'unknown' });
    const bare = proxyToolPrices({});
    expect(bare.ok && estimateTool(bare.prices, 'Read')).toMatchObject({ costMicros: 12_000, basis: 'unknown' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an upstream command runs without Bursar\'s credentials in its environment', () => {
  expect(upstreamEnv({ PATH: '/usr/bin', GITHUB_TOKEN: 'ghp', BURSAR_TOKEN: 'bsr_x', BURSAR_ADMIN_KEY: 'k', BURSAR_DB: './b.db', UNSET: undefined })).toEqual({ PATH: '/usr/bin', GITHUB_TOKEN: 'ghp', BURSAR_DB: './b.db' });
});
