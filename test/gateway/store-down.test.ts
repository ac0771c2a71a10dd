import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';
import { expectStoreUnavailableEverywhere } from './store-down.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

describe('the gateway when its SQLite store fails', () => {
  it('answers every token route with 503 store_unavailable in the provider\'s shape, and keeps answering', async () => {
    // Proves fail-closed without a hang: with the store closed under a running server, every proxied route, /v1/models, the balance and the agent routes refuse promptly.
    const before = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
    expect(before.choices.length).toBeGreaterThan(0);
    const forwarded = h.server.mock?.requests.length;
    await h.server.store.close();
    await expectStoreUnavailableEverywhere(h.server.url, h.secret);
    // Twice: a failure must not leave the server unable to answer the next request.
    await expectStoreUnavailableEverywhere(h.server.url, h.secret);
    expect(h.server.mock?.requests.length).toBe(forwarded);
  });
});
