import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../../src/mock-upstream/index.js';
import { openStore } from '../../src/store/index.js';
import { billMicros, limitMicros, seedAgent, slowProvider, spendUntilRefused, startGatewayProcess, startStreams, until } from '../chaos/gateway-process.js';
import { dropSchemas, freshSchema } from './support.js';

const url = inject('pgUrl');
const schema = freshSchema('crash');
// 50 streams of 1,800 output tokens each hold about $0.054, well inside the agent's $0.10.
const streams = 50;
const maxTokens = 1_800;

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream({ port: 0, requestLogMax: 0, ...slowProvider });
});
afterAll(async () => {
  await mock.close();
  await dropSchemas(url, [schema]);
});

describe('two gateways on one PostgreSQL, one killed with calls in flight', () => {
  it('the survivor charges the dead one\'s holds at expiry, and the provider bill stays within the limit', { timeout: 120_000 }, async () => {
    // Proves the crash guarantee across processes: no restart needed, the other server's sweeper charges what was forwarded.
    const db = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
    const seed = await openStore({ db });
    const secret = await seedAgent(seed);
    const args = ['--upstream-timeout', '4000'];
    const [doomed, survivor] = await Promise.all([startGatewayProcess({ db, upstreamUrl: mock.url, args }), startGatewayProcess({ db, upstreamUrl: mock.url, args })]);
    try {
      await startStreams(new OpenAI({ baseURL: `${doomed.url}/v1`, apiKey: secret, maxRetries: 0 }), streams, maxTokens);
      doomed.child.kill('SIGKILL');
      expect((await doomed.exited).signal).toBe('SIGKILL');
      await until(async () => (await seed.ledger({ kinds: ['expire_charged'] })).entries.length === streams, 30_000);
      const agent = await seed.getBudget('acme/bot');
      expect([agent?.reservedMicros, agent?.inflight]).toEqual([0, 0]);
      mock.configure({ chunkDelayMs: 0 });
      const spent = await spendUntilRefused(new OpenAI({ baseURL: `${survivor.url}/v1`, apiKey: secret, maxRetries: 0 }), maxTokens, 100);
      expect(spent.code).toBe('budget_exceeded');
      const bill = billMicros(mock.bill());
      expect(bill).toBeLessThanOrEqual(limitMicros);
      expect((await seed.getBudget('acme/bot'))?.spentMicros).toBeGreaterThanOrEqual(bill);
      expect((await seed.audit()).problems).toEqual([]);
    } finally {
      survivor.child.kill('SIGTERM');
      await survivor.exited;
      await seed.close();
    }
  });
});
