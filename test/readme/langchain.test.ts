import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswerSettled, expectRetriedAfter429, expectStreamSettled, importReadmeExample, useFrameworkServer, type FrameworkExample } from './examples.js';

/** The README's LangChain example (`langchain.ts`), run as written against the gateway. */
interface LangChainExample extends FrameworkExample {
  draft(token: string, topic: string, onText: (text: string) => void): Promise<void>;
}

const s = useFrameworkServer();
let example: LangChainExample;

beforeAll(async () => {
  example = await importReadmeExample<LangChainExample>('langchain.ts');
});

describe('LangChain through the gateway (README: langchain.ts)', () => {
  it('answers with ChatOpenAI over chat completions, and the ledger settles the call at its cost', async () => {
    // Proves @langchain/openai works with the base URL in `configuration` and the token as the key: reserved, forwarded, settled at a non-zero cost.
    await expectAnswerSettled(s, example, '/v1/chat/completions');
  });

  it('streams with ChatAnthropic over Anthropic Messages, and the ledger settles the stream at its cost', async () => {
    // Proves @langchain/anthropic (base URL without /v1) streams through the gateway and the stream is settled from its usage events.
    await expectStreamSettled(s, '/v1/messages', (token, onText) => example.draft(token, 'spending limits', onText));
  });

  it('surfaces a budget refusal as the provider client\'s APIError with status 402, at once and uncharged', async () => {
    // Proves LangChain does not retry a 402 and passes Bursar's refusal through: status, code and the budget named.
    const token = await s.h.mint({ limitMicros: 0 });
    const plain = await example.answer(token.secret, 'Hi').then(() => undefined, (e: unknown) => e);
    expect(plain).toBeInstanceOf(OpenAI.APIError);
    expect([(plain as InstanceType<typeof OpenAI.APIError>).status, (plain as InstanceType<typeof OpenAI.APIError>).code]).toEqual([402, 'budget_exceeded']);
    expect((plain as Error).message).toContain(`budget ${token.envelope} has $0.00 (0 micros) left`);
    const streamed = await example.draft(token.secret, 'limits', () => undefined).then(() => undefined, (e: unknown) => e);
    // ChatAnthropic's own copy of the Anthropic client raises it: its APIError, with the Anthropic error body.
    expect((streamed as Error).constructor.name).toBe('APIError');
    expect((streamed as { status?: number }).status).toBe(402);
    expect((streamed as { error?: { error?: { code?: string } } }).error?.error?.code).toBe('budget_exceeded');
    expect((streamed as Error).message).toContain(`budget ${token.envelope} has $0.00 (0 micros) left`);
    for (const error of [plain, streamed]) expect(example.overBudget(error)).toBe(true);
    expect(s.calls.slice(-2).map((c) => [c.status, c.code])).toEqual([[402, 'budget_exceeded'], [402, 'budget_exceeded']]);
    expect(await s.settles(token.envelope)).toEqual([]);
  });

  it('waits out a 429 too_many_inflight for its Retry-After and succeeds on the retry', async () => {
    // Proves LangChain's retry takes Bursar's 429 with Retry-After: the slot frees and the second attempt is admitted.
    await expectRetriedAfter429(s, example);
  });
});
