import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatInputTokens } from '../pricing/tokens.js';
import { generatedText } from './plan.js';
import { startMockUpstream, type MockUpstream } from './server.js';

let upstream: MockUpstream;
let client: Anthropic;

beforeAll(async () => {
  upstream = await startMockUpstream({ port: 0 });
  client = new Anthropic({ apiKey: 'sk-ant-upstream', baseURL: upstream.url, maxRetries: 0 });
});
afterAll(() => upstream.close());

const body = {
  model: 'claude-sonnet-5-5',
  max_tokens: 256,
  system: 'You answer in one word.',
  messages: [{ role: 'user' as const, content: 'Say hello.' }],
};
const prompt = () => countChatInputTokens('messages', body, body.model, { margin: false }).tokens;

describe('messages through the @anthropic-ai/sdk client', () => {
  it('answers a non-streaming call with Anthropic usage fields', async () => {
    // Proves the message parses and input_tokens excludes cache reads and writes, as Anthropic's does.
    const message = await client.messages.create(body, { headers: { 'x-mock-cached-tokens': '3', 'x-mock-cache-write-tokens': '2' } });
    expect(message.type).toBe('message');
    expect(message.content).toEqual([{ type: 'text', text: generatedText(16) }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: prompt() - 5, cache_read_input_tokens: 3, cache_creation_input_tokens: 2, output_tokens: 16 });
  });

  it('streams events whose finalMessage() usage is right', async () => {
    // Proves message_start / deltas / message_delta / message_stop satisfy the SDK's accumulator.
    const stream = client.messages.stream(body, { headers: { 'x-mock-output-tokens': '24', 'x-mock-chunks': '6', 'x-mock-cached-tokens': '4' } });
    const events: string[] = [];
    stream.on('streamEvent', (event) => events.push(event.type));
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: generatedText(24) });
    expect(final.usage).toMatchObject({ input_tokens: prompt() - 4, cache_read_input_tokens: 4, cache_creation_input_tokens: 0, output_tokens: 24 });
    expect(final.stop_reason).toBe('end_turn');
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(events.filter((e) => e === 'content_block_delta')).toHaveLength(6);
  });

  it('sends event: lines and stop_reason max_tokens when capped', async () => {
    // Proves the raw SSE carries Anthropic's event names and a capped stream says max_tokens.
    const res = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-upstream', 'anthropic-version': '2023-06-01', 'x-mock-output-tokens': 'max' },
      body: JSON.stringify({ ...body, max_tokens: 10, stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    const names = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(text).toContain('"stop_reason":"max_tokens"');
    expect(text).toContain('"output_tokens":10');
  });

  it('records the key it received, in whichever header carried it, and lists models in Anthropic shape', async () => {
    // Proves the log shows the upstream key (this SDK version sends it as a Bearer token; raw
    // clients send x-api-key), and GET /v1/models answers the Anthropic SDK.
    await client.messages.create(body);
    expect(upstream.requests.at(-1)).toMatchObject({ provider: 'anthropic', authorization: 'Bearer sk-ant-upstream', outcome: 'completed' });
    await fetch(`${upstream.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'sk-ant-raw', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
    expect(upstream.requests.at(-1)).toMatchObject({ apiKey: 'sk-ant-raw', authorization: undefined, outcome: 'completed' });
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('claude-sonnet-5-5');
  });

  it('refuses a body without max_tokens the way Anthropic does', async () => {
    // Proves validation errors surface as the SDK's typed BadRequestError.
    const { max_tokens: _unused, ...withoutMax } = body;
    await expect(client.messages.create(withoutMax as typeof body)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});
