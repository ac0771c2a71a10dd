import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { expect } from 'vitest';
import { newSpendToken } from '../../src/core/index.js';
import { countChatInputTokens, resolveModel, worstCaseMicros } from '../../src/pricing/index.js';
import type { RunningServer } from '../../src/server/index.js';

/** What one chat call reserves for `model` with this body: the gateway's worst case. */
export function reservedFor(model: string, body: { messages: { role: 'user'; content: string }[]; max_tokens: number }): number {
  const resolved = resolveModel(model);
  if (!resolved.ok) throw new Error(`unpriced ${model}`);
  return worstCaseMicros(resolved.entry, { inputTokens: countChatInputTokens('chat', { ...body, model }, model).tokens, maxOutputTokens: body.max_tokens });
}

/**
 * 200 concurrent gpt-4o calls through the OpenAI SDK against `acme/research/model:gpt-4o`, a
 * sub-budget of the team that holds exactly 37 of them, while 20 gpt-4.1-mini calls of the
 * same team run beside them. Needs `acme/research/bot` (an agent with room for all of it, its loop detection off).
 */
export async function raceOnModelBudget(server: RunningServer): Promise<void> {
  const store = server.store;
  const body = { messages: [{ role: 'user' as const, content: 'race for the last gpt-4o dollar' }], max_tokens: 50 };
  const amount = reservedFor('gpt-4o', body);
  const made = await store.createBudget({ path: 'acme/research/model:gpt-4o', kind: 'model', limitMicros: 37 * amount, period: 'day' });
  expect(made.ok).toBe(true);
  const t = newSpendToken((n) => randomBytes(n));
  expect((await store.mintToken({ path: 'acme/research/bot', tokenId: t.id, hash: t.hash, limitMicros: null })).ok).toBe(true);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: t.secret, maxRetries: 0 });
  const teamBefore = (await store.getBudget('acme/research'))?.spentMicros ?? 0;
  // The mock reports exactly the reserved usage, so no settlement frees room for another call.
  const options = { headers: { 'x-mock-output-tokens': 'max', 'x-mock-latency-ms': '20' } };
  const others = Array.from({ length: 20 }, () => client.chat.completions.create({ ...body, model: 'gpt-4.1-mini' }, options));
  const results = await Promise.allSettled(Array.from({ length: 200 }, () => client.chat.completions.create({ ...body, model: 'gpt-4o' }, options)));
  const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason as InstanceType<typeof OpenAI.APIError> & { error?: Record<string, unknown> });
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(37);
  expect(refused).toHaveLength(163);
  for (const e of refused) expect([e.status, e.code, e.error?.budget]).toEqual([402, 'budget_exceeded', 'acme/research/model:gpt-4o']);
  expect((await Promise.allSettled(others)).every((r) => r.status === 'fulfilled')).toBe(true);
  const model = await store.getBudget('acme/research/model:gpt-4o');
  expect([model?.spentMicros, model?.reservedMicros, model?.inflight]).toEqual([37 * amount, 0, 0]);
  const team = await store.getBudget('acme/research');
  expect((team?.spentMicros ?? 0) - teamBefore).toBe(37 * amount + 20 * reservedFor('gpt-4.1-mini', body));
  expect((await store.audit()).problems).toEqual([]);
}
