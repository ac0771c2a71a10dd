import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../../src/mock-upstream/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { billMicros, limitMicros, seedAgent, slowProvider, spendUntilRefused, startGatewayProcess, startStreams, until } from './gateway-process.js';

// 50 streams of 1,800 output tokens each hold about $0.054, well inside the agent's $0.10.
const streams = 50;
const maxTokens = 1_800;
const upstreamTimeoutMs = 4_000;

let dir: string;
let mock: MockUpstream;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-crash-'));
  mock = await startMockUpstream({ port: 0, requestLogMax: 0, ...slowProvider });
});
beforeEach(() => mock.configure(slowProvider));
afterAll(async () => {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a gateway killed with calls in flight', () => {
  it('charges the orphaned holds at expiry, so the provider bill stays within the limit after restart', { timeout: 120_000 }, async () => {
    // Proves the limit holds against the provider's own bill across kill -9: what was forwarded and never settled is charged.
    const db = join(dir, 'crash.db');
    const seed = openSqliteStore({ path: db });
    const secret = await seedAgent(seed);
    await seed.close();
    const args = ['--upstream-timeout', String(upstreamTimeoutMs)];
    const first = await startGatewayProcess({ db, upstreamUrl: mock.url, args });
    await startStreams(new OpenAI({ baseURL: `${first.url}/v1`, apiKey: secret, maxRetries: 0 }), streams, maxTokens);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const billedAtCrash = billMicros(mock.bill());
    expect(billedAtCrash).toBeGreaterThan(0);

    const second = await startGatewayProcess({ db, upstreamUrl: mock.url, args });
    const reader = openSqliteStore({ path: db });
    try {
      // The restarted server's sweeper charges every orphaned hold once its TTL passes, with no call needed.
      await until(async () => (await reader.ledger({ kinds: ['expire_charged'] })).entries.length === streams, 30_000);
      // A read handle checks for other processes' commits once per event-loop turn: read the balances in the next one.
      await new Promise((resolve) => setImmediate(resolve));
      const agent = await reader.getBudget('acme/bot');
      expect([agent?.reservedMicros, agent?.inflight]).toEqual([0, 0]);
      mock.configure({ chunkDelayMs: 0 });
      const spent = await spendUntilRefused(new OpenAI({ baseURL: `${second.url}/v1`, apiKey: secret, maxRetries: 0 }), maxTokens, 100);
      expect(spent.code).toBe('budget_exceeded');
      const bill = billMicros(mock.bill());
      const after = await reader.getBudget('acme/bot');
      expect(bill).toBeLessThanOrEqual(limitMicros);
      // The ledger never knows less than the provider billed.
      expect(after?.spentMicros).toBeGreaterThanOrEqual(bill);
      expect((await reader.audit()).problems).toEqual([]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
      await reader.close();
    }
  });

  it('on SIGTERM lets streams finish or settles what they generated, leaving nothing to expire', { timeout: 120_000 }, async () => {
    // Proves graceful shutdown: every in-flight call is settled (at what was generated) before the process exits.
    const db = join(dir, 'drain.db');
    const seed = openSqliteStore({ path: db });
    const secret = await seedAgent(seed);
    await seed.close();
    const gateway = await startGatewayProcess({ db, upstreamUrl: mock.url, args: ['--upstream-timeout', '60000', '--drain', '500'] });
    await startStreams(new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 }), streams, maxTokens);
    gateway.child.kill('SIGTERM');
    expect((await gateway.exited).code).toBe(0);
    const reader = openSqliteStore({ path: db });
    try {
      const entries = (await reader.ledger({ limit: 1000 })).entries;
      const reserves = entries.filter((e) => e.kind === 'reserve');
      const settles = entries.filter((e) => e.kind === 'settle');
      expect(reserves).toHaveLength(streams);
      expect(settles).toHaveLength(streams);
      for (const s of settles) {
        expect(s.amountMicros).toBeGreaterThan(0);
        expect(s.tokensOut).toBeGreaterThan(0);
      }
      expect(entries.filter((e) => e.kind === 'expire' || e.kind === 'expire_charged')).toEqual([]);
      const agent = await reader.getBudget('acme/bot');
      expect([agent?.reservedMicros, agent?.inflight]).toEqual([0, 0]);
      expect(gateway.stderr()).toContain('calls_cut_at_stop');
      expect((await reader.audit()).problems).toEqual([]);
    } finally {
      await reader.close();
    }
  });
});
