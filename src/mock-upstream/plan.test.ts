import { describe, expect, it } from 'vitest';
import { countTokens } from '../pricing/tokens.js';
import { controlsFor, defaultControls } from './controls.js';
import { generatedText, planCall, splitTokens } from './plan.js';
import { parseCall } from './requests.js';

describe('generated text', () => {
  it('has exactly the asked number of tokens in every tokenizer Bursar uses', () => {
    // Proves a gateway counting the mock's output with src/pricing/tokens.ts gets the reported number.
    for (const tokens of [0, 1, 2, 16, 257, 4_096]) {
      const text = generatedText(tokens);
      expect(countTokens(text, 'gpt-4o'), `o200k ${tokens}`).toBe(tokens);
      expect(countTokens(text, 'gpt-4'), `cl100k ${tokens}`).toBe(tokens);
      expect(countTokens(text, 'claude-haiku-4-5', { margin: false }), `claude ${tokens}`).toBe(tokens);
    }
  });

  it('splits into the asked number of chunks on token boundaries', () => {
    // Proves chunking never changes the text and never makes empty chunks.
    expect(splitTokens(5, 2)).toEqual(['hi hi', ' hi hi hi']);
    expect(splitTokens(3, 10)).toEqual(['hi', ' hi', ' hi']);
    expect(splitTokens(0, 4)).toEqual([]);
    for (const [tokens, chunks] of [[16, 4], [17, 5], [1, 1], [100, 7]] as const) {
      const pieces = splitTokens(tokens, chunks);
      expect(pieces.join('')).toBe(generatedText(tokens));
      expect(pieces).toHaveLength(Math.min(tokens, chunks));
      expect(pieces.reduce((n, piece) => n + countTokens(piece, 'gpt-4o'), 0)).toBe(tokens);
    }
  });
});

describe('planCall', () => {
  function call(body: Record<string, unknown>) {
    const parsed = parseCall('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], ...body });
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.call;
  }

  it('caps output at the request maximum and marks it capped', () => {
    // Proves output tokens follow the controls, then the request's max_completion_tokens.
    expect(planCall(call({}), defaultControls, 1, 0)).toMatchObject({ outputTokens: 16, capped: false });
    expect(planCall(call({ max_tokens: 5 }), defaultControls, 1, 0)).toMatchObject({ outputTokens: 5, capped: true });
    expect(planCall(call({ max_completion_tokens: 40 }), { ...defaultControls, outputTokens: 'max' }, 1, 0)).toMatchObject({ outputTokens: 40, capped: true });
    expect(planCall(call({ max_completion_tokens: 40 }), { ...defaultControls, outputTokens: 7 }, 1, 0)).toMatchObject({ outputTokens: 7, capped: false });
  });

  it('clamps cached and cache-write tokens to the prompt', () => {
    // Proves the mock never reports more cached or written tokens than the prompt has.
    const plan = planCall(call({}), { ...defaultControls, cachedTokens: 1_000_000, cacheWriteTokens: 5 }, 1, 0);
    expect(plan.cachedTokens).toBe(plan.promptTokens);
    expect(plan.cacheWriteTokens).toBe(0);
  });
});

describe('controlsFor', () => {
  it('reads every x-mock header over the server defaults', () => {
    // Proves one call can vary any control without touching the server's options.
    const result = controlsFor(defaultControls, {
      'x-mock-latency-ms': '25',
      'x-mock-chunks': '3',
      'x-mock-chunk-delay-ms': '5',
      'x-mock-output-tokens': 'max',
      'x-mock-cached-tokens': '10',
      'x-mock-cache-write-tokens': '20',
      'x-mock-fault': 'no-usage',
    });
    expect(result).toEqual({ ok: true, controls: { latencyMs: 25, chunks: 3, chunkDelayMs: 5, outputTokens: 'max', cachedTokens: 10, cacheWriteTokens: 20, fault: 'no-usage' } });
  });

  it('refuses bad header values with a message naming the header', () => {
    // Proves a typo in a test's header is a clear 400, not a silently ignored control.
    const message = (headers: Record<string, string>) => {
      const result = controlsFor(defaultControls, headers);
      return result.ok ? 'accepted' : result.message;
    };
    expect(message({ 'x-mock-chunks': '0' })).toContain('x-mock-chunks');
    expect(message({ 'x-mock-output-tokens': '-3' })).toContain('x-mock-output-tokens');
    expect(message({ 'x-mock-latency-ms': '1e3' })).toContain('x-mock-latency-ms');
    expect(message({ 'x-mock-fault': 'explode' })).toContain('x-mock-fault');
  });
});
