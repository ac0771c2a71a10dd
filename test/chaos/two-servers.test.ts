import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../../src/mock-upstream/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { runInProcess } from '../cli/cli-harness.js';
import { seedAgent, startGatewayProcess, type GatewayProcess } from './gateway-process.js';

let dir: string;
let mock: MockUpstream;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-two-'));
  // Every call takes a while upstream, so all of a race's reservations are made before any settles.
  mock = await startMockUpstream({ port: 0, requestLogMax: 0, outputTokens: 'max', latencyMs: 1_500 });
});
afterAll(async () => {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = { model: 'gpt-4o-mini', max_tokens: 1_000, messages: [{ role: 'user' as const, content: 'race' }] };

async function outcome(client: OpenAI): Promise<string> {
  try {
    await client.chat.completions.create(call);
    return 'ok';
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
}

describe('two servers on one SQLite file', () => {
  it('admit exactly as many of 200 racing calls as fit, and both see a pause or limit change from the CLI on their next call', { timeout: 120_000 }, async () => {
    // Proves the reservation is atomic across processes sharing the file, and that neither serves from a stale view.
    const db = join(dir, 'shared.db');
    const seed = openSqliteStore({ path: db });
    const secret = await seedAgent(seed);
    await seed.close();
    const args = ['--upstream-timeout', '30000'];
    const servers: GatewayProcess[] = await Promise.all([startGatewayProcess({ db, upstreamUrl: mock.url, args }), startGatewayProcess({ db, upstreamUrl: mock.url, args })]);
    const clients = servers.map((s) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: secret, maxRetries: 0 }));
    try {
      // One call learns what a call holds; the limit is then set so that exactly 37 more fit.
      const probe = await clients[0]!.chat.completions.create(call).withResponse();
      const holdMicros = Number(probe.response.headers.get('x-bursar-cost-micros'));
      // The answer can reach the client before its settlement is written: wait until nothing is held.
      const reader = openSqliteStore({ path: db });
      let spent = 0;
      for (let held = 1; held !== 0; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const b = await reader.getBudget('acme/bot');
        held = b?.reservedMicros ?? 0;
        spent = b?.spentMicros ?? 0;
      }
      await reader.close();
      const set = await runInProcess(['--db', db, 'agents', 'update', 'acme/bot', '--budget-limit', usd(spent + 37 * holdMicros + holdMicros - 1)]);
      expect(set.code, set.stderr).toBe(0);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => outcome(clients[i % 2]!)));
      expect(results.filter((r) => r !== 'ok' && r !== 'budget_exceeded')).toEqual([]);
      expect(results.filter((r) => r === 'ok')).toHaveLength(37);

      expect((await runInProcess(['--db', db, 'agents', 'pause', 'acme/bot'])).code).toBe(0);
      expect(await Promise.all(clients.map(outcome))).toEqual(['budget_paused', 'budget_paused']);
      expect((await runInProcess(['--db', db, 'agents', 'resume', 'acme/bot'])).code).toBe(0);
      // Resumed, the budget is still spent to its limit: only the limit change lets the next calls through.
      expect(await Promise.all(clients.map(outcome))).toEqual(['budget_exceeded', 'budget_exceeded']);
      expect((await runInProcess(['--db', db, 'agents', 'update', 'acme/bot', '--budget-limit', '50.00'])).code).toBe(0);
      expect(await Promise.all(clients.map(outcome))).toEqual(['ok', 'ok']);
      const audit = await runInProcess(['--db', db, 'audit', 'verify']);
      expect(audit.code, audit.stdout).toBe(0);
    } finally {
      for (const s of servers) s.child.kill('SIGTERM');
      await Promise.all(servers.map((s) => s.exited));
    }
  });
});

/** Micros as the USD text the CLI takes, without floating point. */
function usd(micros: number): string {
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}
