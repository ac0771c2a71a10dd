import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/** A model id the catalog does not price is refused with the nearest priced ids suggested. */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

async function refusal(call: () => Promise<unknown>): Promise<{ status: number | undefined; message: string; code: string | undefined }> {
  try {
    await call();
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status as number | undefined, message: error.message, code: error.code ?? undefined };
    if (error instanceof Anthropic.APIError) return { status: error.status as number | undefined, message: error.message, code: (error.error as { error?: { code?: string } } | undefined)?.error?.code };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('model_unpriced', () => {
  it('suggests the nearest priced model to the OpenAI SDK, and forwards nothing', async () => {
    // Proves a typo in the model id is answered with the catalog's spelling, before anything is reserved.
    const before = h.server.mock?.requests.length;
    const e = await refusal(() => h.openai.chat.completions.create({ model: 'gpt-4o-mni', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }));
    expect(e.status).toBe(403);
    expect(e.code).toBe('model_unpriced');
    expect(e.message).toContain('model gpt-4o-mni has no price in the catalog, so its cost cannot be bounded; did you mean gpt-4o-mini? (`bursar pricing list` lists every priced model)');
    expect(h.server.mock?.requests.length).toBe(before);
    expect(await h.entries(['reserve'])).toEqual([]);
  });

  it('suggests Anthropic model ids to the Anthropic SDK, and only points to the list when nothing is near', async () => {
    // Proves the suggestion reaches the other provider's shape, and is left out when it would be a guess.
    const near = await refusal(() => h.anthropic.messages.create({ model: 'claude-haiku-4.5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }));
    expect(near.code).toBe('model_unpriced');
    expect(near.message).toContain('did you mean claude-haiku-4-5?');
    const far = await refusal(() => h.openai.chat.completions.create({ model: 'my-own-finetune', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }));
    expect(far.message).toContain('model my-own-finetune has no price in the catalog, so its cost cannot be bounded; see `bursar pricing list`');
  });
});
