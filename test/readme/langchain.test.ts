import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { FrameworkExample } from './examples.js';
import { itSettlesAnAnswer, itSettlesAStream, itWaitsOutA429, useFrameworkExample } from './harness.js';

/** The README's LangChain example (`langchain.ts`), run as written against the gateway. */
interface LangChainExample extends FrameworkExample {
  draft(token: string, topic: string, onText: (text: string) => void): Promise<void>;
}

const s = useFrameworkExample<LangChainExample>('langchain.ts');

describe('LangChain through the gateway (README: langchain.ts)', () => {
  // @langchain/openai, the base URL in `configuration` and the token as the key.
  itSettlesAnAnswer(s, 'answers with ChatOpenAI over chat completions, and the ledger settles the call at its cost', '/v1/chat/completions');

  // @langchain/anthropic, its base URL without /v1; the stream is settled from its usage events.
  itSettlesAStream(s, 'streams with ChatAnthropic over Anthropic Messages, and the ledger settles the stream at its cost', '/v1/messages', (token, onText) => s.example.draft(token, 'spending limits', onText));

  it('surfaces a budget refusal as the provider client\'s APIError with status 402, at once and uncharged', async () => {
    // Proves LangChain does not retry a 402 and passes Bursar's refusal through: status, code and the budget named.
    const token = await s.h.mint({ limitMicros: 0 });
    const plain = await s.example.answer(token.secret, 'Hi').then(() => undefined, (e: unknown) => e);
    expect(plain).toBeInstanceOf(OpenAI.APIError);
    expect([(plain as InstanceType<typeof OpenAI.APIError>).status, (plain as InstanceType<typeof OpenAI.APIError>).code]).toEqual([402, 'budget_exceeded']);
    expect((plain as Error).message).toContain(`budget ${token.envelope} has $0.00 (0 micros) left`);
    const streamed = await s.example.draft(token.secret, 'limits', () => undefined).then(() => undefined, (e: unknown) => e);
    // ChatAnthropic's own copy of the Anthropic client raises it: its APIError, with the Anthropic error body.
    expect((streamed as Error).constructor.name).toBe('APIError');
    expect((streamed as { status?: number }).status).toBe(402);
    expect((streamed as { error?: { error?: { code?: string } } }).error?.error?.code).toBe('budget_exceeded');
    expect((streamed as Error).message).toContain(`budget ${token.envelope} has $0.00 (0 micros) left`);
    for (const error of [plain, streamed]) expect(s.example.overBudget(error)).toBe(true);
    expect(s.calls.slice(-2).map((c) => [c.status, c.code])).toEqual([[402, 'budget_exceeded'], [402, 'budget_exceeded']]);
    expect(await s.settles(token.envelope)).toEqual([]);
  });

  itWaitsOutA429(s);
});
