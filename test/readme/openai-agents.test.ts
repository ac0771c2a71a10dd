import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { FrameworkExample } from './examples.js';
import { itSettlesAnAnswer, itSettlesAStream, itWaitsOutA429, useFrameworkExample } from './harness.js';

/** The README's OpenAI Agents SDK example (`openai-agents.ts`), run as written against the gateway. */
interface AgentsExample extends FrameworkExample {
  streamAnswer(token: string, question: string, onText: (text: string) => void): Promise<void>;
}

const s = useFrameworkExample<AgentsExample>('openai-agents.ts');

describe('the OpenAI Agents SDK through the gateway (README: openai-agents.ts)', () => {
  // A Runner with its own provider (base URL and token).
  itSettlesAnAnswer(s, 'runs an agent over the Responses API, and the ledger settles the call at its cost', '/v1/responses');

  // A streamed run goes through the gateway's Responses stream.
  itSettlesAStream(s, 'streams a run, and the ledger settles the stream at its cost', '/v1/responses', (token, onText) => s.example.streamAnswer(token, 'Name one budget risk', onText));

  it('keeps each runner on its own token: two agents\' runs land on two envelopes', async () => {
    // Proves "one runner per token": the runner's provider carries the key, so each token's spend is its own.
    const [a, b] = [await s.h.mint(), await s.h.mint()];
    await s.example.answer(a.secret, 'Hi');
    await s.example.answer(b.secret, 'Hi');
    await s.example.answer(b.secret, 'Again');
    expect([(await s.settles(a.envelope)).length, (await s.settles(b.envelope)).length]).toEqual([1, 2]);
  });

  it('surfaces a budget refusal as the OpenAI client\'s APIError with status 402 and code budget_exceeded, streamed or not', async () => {
    // Proves the refusal is not retried and reads clearly: the client's typed error, Bursar's code and message; nothing is charged.
    const token = await s.h.mint({ limitMicros: 0 });
    for (const run of [() => s.example.answer(token.secret, 'Hi'), () => s.example.streamAnswer(token.secret, 'Hi', () => undefined)]) {
      const error = await run().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect([(error as InstanceType<typeof OpenAI.APIError>).status, (error as InstanceType<typeof OpenAI.APIError>).code]).toEqual([402, 'budget_exceeded']);
      expect((error as Error).message).toContain(`budget ${token.envelope} has $0.00 (0 micros) left`);
      expect(s.example.overBudget(error)).toBe(true);
    }
    expect(s.calls.slice(-2).map((c) => [c.status, c.code])).toEqual([[402, 'budget_exceeded'], [402, 'budget_exceeded']]);
    expect(await s.settles(token.envelope)).toEqual([]);
  });

  itWaitsOutA429(s);
});
