import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countChatInputTokens, resolveModel, worstCaseMicros } from '../../src/pricing/index.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  // The racing calls all ask the same thing; the agent's loop limit (tested on its own) would stop them first.
  h = await startHarness({ agentPolicy: { inflightMax: 1_000, loopLimit: 'off' } });
});

afterAll(async () => {
  await h.close();
});

it('200 concurrent SDK calls against a budget that holds exactly 37 reservations: 37 succeed, 163 get budget_exceeded', async () => {
  // Proves the invariant end to end: concurrent calls race for the last dollar through the real SDK.
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'race for the last dollar' }], max_tokens: 50 };
  const resolved = resolveModel('gpt-4o-mini');
  if (!resolved.ok) throw new Error('unpriced');
  const amount = worstCaseMicros(resolved.entry, { inputTokens: countChatInputTokens('chat', body, 'gpt-4o-mini').tokens, maxOutputTokens: 50 });
  const token = await h.mint({ limitMicros: 37 * amount });
  const client = new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: token.secret, maxRetries: 0 });
  // The mock reports exactly the reserved usage, so no settlement frees room for another call.
  const results = await Promise.allSettled(Array.from({ length: 200 }, () => client.chat.completions.create(body, { headers: { 'x-mock-output-tokens': 'max', 'x-mock-latency-ms': '20' } })));
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected').map((r) => (r).reason as InstanceType<typeof OpenAI.APIError>);
  expect(ok).toHaveLength(37);
  expect(refused).toHaveLength(163);
  expect(refused.every((e) => e.status === 402 && e.code === 'budget_exceeded')).toBe(true);
  const settles = await h.entries(['settle']);
  expect(settles.map((e) => e.amountMicros)).toEqual(new Array<number>(37).fill(amount));
  const envelope = await h.server.store.getBudget(token.envelope);
  expect([envelope?.spentMicros, envelope?.reservedMicros]).toEqual([37 * amount, 0]);
  const report = await h.server.store.audit();
  expect(report.problems).toEqual([]);
});
