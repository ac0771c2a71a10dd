import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/index.js';
import { Upstream, UpstreamCall } from './upstream.js';

let mock: MockUpstream;
let upstream: Upstream;

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0, host: '127.0.0.1' });
  upstream = new Upstream({ openaiBaseUrl: `${mock.url}/v1`, anthropicBaseUrl: mock.url, openaiApiKey: 'sk-test', anthropicApiKey: undefined, timeoutMs: 10_000, passHeaderPrefixes: ['x-mock-'] });
});

afterAll(async () => {
  await upstream.close();
  await mock.close();
});

const chat = (stream: boolean) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 64, stream });

describe('UpstreamCall: a provider answer read from the dispatcher', () => {
  it('reads a 20 MB answer whole, though it arrives in hundreds of chunks and a reader of chunks would pause the connection', async () => {
    const answer = await upstream.send('openai', '/v1/chat/completions', { 'x-mock-fault': 'huge-chunk' }, chat(false), new UpstreamCall());
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const text = await answer.text();
    expect(text.length).toBeGreaterThan(20_000_000);
    expect(JSON.parse(text)).toHaveProperty('usage');
  });

  it('hands a stream over chunk by chunk to a slow reader, every byte in order, and ends', async () => {
    const answer = await upstream.send('openai', '/v1/chat/completions', { 'x-mock-fault': 'huge-chunk' }, chat(true), new UpstreamCall());
    let text = '';
    for await (const chunk of answer) {
      text += chunk.toString('latin1');
      if (text.length % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(text.length).toBeGreaterThan(20_000_000);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('is refused before it is sent when aborted first, and ends a stream being read when aborted, keeping the reason', async () => {
    const early = new UpstreamCall();
    early.abort('stop');
    await expect(upstream.send('openai', '/v1/chat/completions', {}, chat(false), early)).rejects.toMatchObject({ name: 'AbortError' });

    const call = new UpstreamCall();
    const answer = await upstream.send('openai', '/v1/chat/completions', { 'x-mock-chunks': '20', 'x-mock-chunk-delay-ms': '50' }, chat(true), call);
    const reason = new Error('the upstream timeout fired');
    const read = (async () => {
      let chunks = 0;
      for await (const chunk of answer) if (chunk.length > 0 && ++chunks === 2) call.abort(reason);
      return chunks;
    })();
    await expect(read).rejects.toThrow();
    expect(call.aborted).toBe(true);
    expect(call.reason).toBe(reason);
  });

  it('closes the connection when its reader stops early, and the next call on the pool is answered', async () => {
    const call = new UpstreamCall();
    const answer = await upstream.send('openai', '/v1/chat/completions', { 'x-mock-chunks': '20', 'x-mock-chunk-delay-ms': '20' }, chat(true), call);
    for await (const chunk of answer) if (chunk.length > 0) break;
    expect(call.aborted).toBe(true);
    const next = await upstream.send('openai', '/v1/chat/completions', {}, chat(false), new UpstreamCall());
    expect(JSON.parse(await next.text())).toHaveProperty('choices');
  });
});
