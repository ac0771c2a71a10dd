import { APICallError } from 'ai';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswerSettled, expectRetriedAfter429, expectStreamSettled, importReadmeExample, useFrameworkServer, type FrameworkExample } from './examples.js';

/** The README's Vercel AI SDK example (`ai-sdk.ts`), run as written against the gateway. */
interface AiSdkExample extends FrameworkExample {
  draft(token: string, topic: string, onText: (text: string) => void): Promise<void>;
}

const s = useFrameworkServer();
let example: AiSdkExample;

beforeAll(async () => {
  example = await importReadmeExample<AiSdkExample>('ai-sdk.ts');
});

describe('the Vercel AI SDK through the gateway (README: ai-sdk.ts)', () => {
  it('answers with generateText over the Responses API, and the ledger settles the call at its cost', async () => {
    // Proves @ai-sdk/openai works with only the base URL and the token: the call is reserved, forwarded and settled at a non-zero cost.
    await expectAnswerSettled(s, example, '/v1/responses');
  });

  it('streams with streamText over Anthropic Messages, and the ledger settles the stream at its cost', async () => {
    // Proves @ai-sdk/anthropic (base URL with /v1) streams through the gateway and the stream is settled from its usage events.
    await expectStreamSettled(s, '/v1/messages', (token, onText) => example.draft(token, 'spending limits', onText));
  });

  it('surfaces a budget refusal as an APICallError with status 402 and the budget named, streamed or not', async () => {
    // Proves a refusal is not retried and reads clearly in the framework: its own error type, the status, Bursar's message; nothing is charged.
    const token = await s.h.mint({ limitMicros: 0 });
    for (const run of [() => example.answer(token.secret, 'Hi'), () => example.draft(token.secret, 'limits', () => undefined)]) {
      const error = await run().then(() => undefined, (e: unknown) => e);
      expect(APICallError.isInstance(error)).toBe(true);
      expect((error as APICallError).statusCode).toBe(402);
      expect((error as APICallError).message).toContain(`budget ${token.envelope} has $0.00 (0 micros) left`);
      expect(example.overBudget(error)).toBe(true);
    }
    expect(s.calls.slice(-2).map((c) => [c.status, c.code])).toEqual([[402, 'budget_exceeded'], [402, 'budget_exceeded']]);
    expect(await s.settles(token.envelope)).toEqual([]);
  });

  it('waits out a 429 too_many_inflight for its Retry-After and succeeds on the retry', async () => {
    // Proves the framework's own retry honours Bursar's Retry-After: the in-flight slot frees and the second attempt is admitted.
    await expectRetriedAfter429(s, example);
  });
});
