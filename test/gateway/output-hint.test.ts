import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { useHarness, type Harness } from './harness.js';

let h: Harness;
useHarness((started) => (h = started), { agentLimitMicros: 1_000 });

describe('a small budget and a request without max_tokens', () => {
  it('is refused with a message in USD that says the default output cap was reserved and to set max_tokens', async () => {
    // Proves the refusal explains itself when the default output allowance is what does not fit.
    const e = (await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(402);
    expect(e.code).toBe('budget_exceeded');
    expect(e.message).toMatch(/has \$0\.001 \(1000 micros\) left; this reservation needs \$0\.00\d+ \(\d+ micros\)/);
    expect(e.message).toMatch(/set no max_tokens, so 4096 output tokens \(\$0\.002458\) were reserved/);
    expect(e.message).toContain('set max_tokens');
    const fits = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    expect(fits.choices[0]?.message.content).toBeTruthy();
    const capped = (await h.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 4_000, messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(capped.code).toBe('budget_exceeded');
    expect(capped.message).not.toContain('max_tokens');
  });
});
