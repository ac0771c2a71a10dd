import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatInputTokens } from '../pricing/tokens.js';
import { generatedText } from './plan.js';
import { startMockUpstream, type MockUpstream } from './server.js';

let upstream: MockUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startMockUpstream({ port: 0 });
  client = new OpenAI({ apiKey: 'sk-upstream-key', baseURL: `${upstream.url}/v1`, maxRetries: 0 });
});
afterAll(() => upstream.close());

const messages = [
  { role: 'system' as const, content: 'You answer in one word.' },
  { role: 'user' as const, content: 'Say hello.' },
];

function expectedPrompt(route: 'chat' | 'responses' | 'embeddings', body: Record<string, unknown>, model: string): number {
  return countChatInputTokens(route, body, model, { margin: false }).tokens;
}

describe('chat completions through the openai SDK', () => {
  it('answers a non-streaming call with usage the gateway can predict', async () => {
    // Proves the JSON shape parses in the SDK and prompt_tokens equals Bursar's own count.
    const body = { model: 'gpt-4o-mini', messages };
    const completion = await client.chat.completions.create(body);
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe(generatedText(16));
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const prompt = expectedPrompt('chat', body, 'gpt-4o-mini');
    expect(completion.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: 16, total_tokens: prompt + 16, prompt_tokens_details: { cached_tokens: 0 } });
  });

  it('streams chunks and ends with a usage chunk only when include_usage is set', async () => {
    // Proves the stream matches OpenAI: deltas, a final chunk with empty choices and usage, then [DONE].
    const body = { model: 'gpt-4o-mini', messages, stream: true as const, stream_options: { include_usage: true } };
    const chunks = [];
    for await (const chunk of await client.chat.completions.create(body, { headers: { 'x-mock-chunks': '4', 'x-mock-cached-tokens': '3' } })) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(generatedText(16));
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: expectedPrompt('chat', body, 'gpt-4o-mini'), completion_tokens: 16, prompt_tokens_details: { cached_tokens: 3 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBe(4);

    const plain = [];
    for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) plain.push(chunk);
    expect(plain.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
    expect(plain.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('honours max_completion_tokens, x-mock-output-tokens and n', async () => {
    // Proves output is capped by the request ("max" = exactly the cap) and multiplied by n.
    const capped = await client.chat.completions.create({ model: 'gpt-5.4-mini', messages, max_completion_tokens: 50 }, { headers: { 'x-mock-output-tokens': 'max' } });
    expect(capped.usage?.completion_tokens).toBe(50);
    expect(capped.choices[0]?.finish_reason).toBe('length');
    const two = await client.chat.completions.create({ model: 'gpt-5.4-mini', messages, n: 2 }, { headers: { 'x-mock-output-tokens': '5' } });
    expect(two.choices.map((c) => c.message.content)).toEqual([generatedText(5), generatedText(5)]);
    expect(two.usage?.completion_tokens).toBe(10);
  });

  it('records the upstream key it received', async () => {
    // Proves the request log shows which credential reached the provider.
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers: { 'x-bursar-session': 's1' } });
    const entry = upstream.requests.at(-1);
    expect(entry).toMatchObject({ path: '/v1/chat/completions', route: 'chat', authorization: 'Bearer sk-upstream-key', outcome: 'completed', status: 200, model: 'gpt-4o-mini' });
    expect(entry?.headers['x-bursar-session']).toBe('s1');
  });
});

describe('responses API through the openai SDK', () => {
  it('answers a non-streaming call with input and output token usage', async () => {
    // Proves the response object parses, output_text is assembled, and usage is exact.
    const body = { model: 'gpt-5.4', instructions: 'Be brief.', input: 'Say hello.' };
    const response = await client.responses.create(body, { headers: { 'x-mock-cached-tokens': '2', 'x-mock-cache-write-tokens': '4' } });
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe(generatedText(16));
    expect(response.usage).toMatchObject({
      input_tokens: expectedPrompt('responses', body, 'gpt-5.4'),
      output_tokens: 16,
      input_tokens_details: { cached_tokens: 2, cache_write_tokens: 4 },
      output_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('streams typed events ending in response.completed with usage', async () => {
    // Proves the event sequence satisfies the SDK's stream accumulator and carries usage.
    const body = { model: 'gpt-5.4', input: [{ role: 'user' as const, content: 'Say hello.' }], max_output_tokens: 64 };
    const stream = client.responses.stream(body, { headers: { 'x-mock-chunks': '3' } });
    const types: string[] = [];
    stream.on('event', (event) => types.push(event.type));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(generatedText(16));
    expect(final.usage?.input_tokens).toBe(expectedPrompt('responses', body, 'gpt-5.4'));
    expect(final.usage?.output_tokens).toBe(16);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(3);
  });

  it('ends with response.incomplete when the output hits max_output_tokens', async () => {
    // Proves a capped response looks like OpenAI's: status incomplete, reason max_output_tokens.
    const stream = client.responses.stream({ model: 'gpt-5.4', input: 'Go on.', max_output_tokens: 20 }, { headers: { 'x-mock-output-tokens': 'max' } });
    const final = await stream.finalResponse();
    expect(final.status).toBe('incomplete');
    expect(final.incomplete_details?.reason).toBe('max_output_tokens');
    expect(final.usage?.output_tokens).toBe(20);
  });
});

describe('embeddings and models through the openai SDK', () => {
  it('returns one vector per input and prompt-token usage, base64 or float', async () => {
    // Proves the SDK's default base64 path decodes, and token arrays count by length.
    const body = { model: 'text-embedding-3-small', input: ['hello world', 'goodbye'] };
    const result = await client.embeddings.create(body);
    expect(result.data).toHaveLength(2);
    expect(result.data[0]?.embedding).toHaveLength(8);
    expect(result.usage).toEqual({ prompt_tokens: expectedPrompt('embeddings', body, 'text-embedding-3-small'), total_tokens: expectedPrompt('embeddings', body, 'text-embedding-3-small') });
    const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: [[1, 2, 3], [4]], encoding_format: 'float', dimensions: 4 });
    expect(floats.data.map((d) => d.embedding.length)).toEqual([4, 4]);
    expect(floats.usage.prompt_tokens).toBe(4);
  });

  it('lists models', async () => {
    // Proves GET /v1/models pages in the SDK.
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o-mini');
    expect(ids).toContain('claude-haiku-4-5');
  });
});
