import { APICallError } from 'ai';
import { describe, expect, it } from 'vitest';
import type { FrameworkExample } from './examples.js';
import { itSettlesAnAnswer, itSettlesAStream, itWaitsOutA429, useFrameworkExample } from './harness.js';

/** The README's Vercel AI SDK example (`ai-sdk.ts`), run as written against the gateway. */
interface AiSdkExample extends FrameworkExample {
  draft(token: string, topic: string, onText: (text: string) => void): Promise<void>;
}

const s = useFrameworkExample<AiSdkExample>('ai-sdk.ts');

describe('the Vercel AI SDK through the gateway (README: ai-sdk.ts)', () => {
  // @ai-sdk/openai, with only the base URL and the token.
  itSettlesAnAnswer(s, 'answers with generateText over the Responses API, and the ledger settles the call at its cost', '/v1/responses');

  // @ai-sdk/anthropic, its base URL ending in /v1; the stream is settled from its usage events.
  itSettlesAStream(s, 'streams with streamText over Anthropic Messages, and the ledger settles the stream at its cost', '/v1/messages', (token, onText) => s.example.draft(token, 'spending limits', onText));

  it('surfaces a budget refusal as an APICallError with status 402 and the budget named, streamed or not', async () => {
    // Proves a refusal is not retried and reads clearly in the framework: its own error type, the status, Bursar's message; nothing is charged.
    const token = await s.h.mint({ limitMicros: 0 });
    for (const run of [() => s.example.answer(token.secret, 'Hi'), () => s.example.draft(token.secret, 'limits', () => undefined)]) {
      const error = await run().then(() => undefined, (e: unknown) => e);
      expect(APICallError.isInstance(error)).toBe(true);
      expect((error as APICallError).statusCode).toBe(402);
      expect((error as APICallError).message).toContain(`budget ${token.envelope} has $0.00 (0 micros) left`);
      expect(s.example.overBudget(error)).toBe(true);
    }
    expect(s.calls.slice(-2).map((c) => [c.status, c.code])).toEqual([[402, 'budget_exceeded'], [402, 'budget_exceeded']]);
    expect(await s.settles(token.envelope)).toEqual([]);
  });

  itWaitsOutA429(s);
});
