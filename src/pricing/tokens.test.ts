import { describe, expect, it } from 'vitest';
import { pricingLimits } from './limits.js';
import {
  anthropicNewTokenizerMarginPercent,
  anthropicTokenMarginPercent,
  countChatInputTokens,
  countTokens,
  encodingForModel,
  fileTokensPerPart,
  imageTokensPerPart,
  messageOverheadTokens,
  replyPrimingTokens,
  tokenMarginPercent,
} from './tokens.js';

describe('countTokens', () => {
  it('counts known strings exactly with the model family encoding', () => {
    // Proves o200k for new OpenAI models and cl100k for GPT-4 / embeddings, on reference strings.
    expect(countTokens('hello world', 'gpt-4o')).toBe(2);
    expect(countTokens('hello world', 'text-embedding-3-small')).toBe(2);
    expect(countTokens('', 'gpt-4o')).toBe(0);
    expect(encodingForModel('gpt-5.6-sol')).toBe('o200k_base');
    expect(encodingForModel('o4-mini')).toBe('o200k_base');
    expect(encodingForModel('gpt-4.1-mini')).toBe('o200k_base');
    expect(encodingForModel('gpt-4-turbo')).toBe('cl100k_base');
    expect(encodingForModel('gpt-3.5-turbo')).toBe('cl100k_base');
    expect(encodingForModel('text-embedding-3-large')).toBe('cl100k_base');
  });

  it('adds the Anthropic margin on top of the o200k count, by tokenizer generation', () => {
    // Proves Claude models are never counted below o200k, and newer ones get the larger margin.
    expect(tokenMarginPercent('gpt-4o')).toBe(0);
    expect(tokenMarginPercent('claude-haiku-4-5')).toBe(anthropicTokenMarginPercent);
    expect(tokenMarginPercent('claude-sonnet-4-5-20250929')).toBe(anthropicTokenMarginPercent);
    expect(tokenMarginPercent('claude-opus-4-6')).toBe(anthropicTokenMarginPercent);
    expect(tokenMarginPercent('claude-3-5-sonnet-latest')).toBe(anthropicTokenMarginPercent);
    expect(tokenMarginPercent('claude-opus-4-7')).toBe(anthropicNewTokenizerMarginPercent);
    expect(tokenMarginPercent('claude-sonnet-5-5')).toBe(anthropicNewTokenizerMarginPercent);
    expect(tokenMarginPercent('claude-fable-5-2')).toBe(anthropicNewTokenizerMarginPercent);
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(10);
    const base = countTokens(text, 'gpt-4o');
    expect(countTokens(text, 'claude-haiku-4-5')).toBe(Math.ceil(base * 1.2));
    expect(countTokens(text, 'claude-haiku-4-5', { margin: false })).toBe(base);
    expect(countTokens(text, 'claude-opus-5')).toBe(Math.ceil(base * 1.6));
  });

  it('treats special-token text as ordinary text instead of throwing', () => {
    // Proves a prompt containing "<|endoftext|>" is counted, never an exception.
    expect(countTokens('a <|endoftext|> b', 'gpt-4o')).toBeGreaterThan(3);
  });

  it('is fast for small prompts and bounded for huge ones', () => {
    // Proves small prompts take well under a millisecond each, and text past the exact-count
    // bound costs one token per byte (an upper bound) rather than unbounded work.
    const started = performance.now();
    for (let i = 0; i < 1_000; i += 1) countTokens(`Say hello to user number ${i}.`, 'gpt-4o-mini');
    expect(performance.now() - started).toBeLessThan(1_000);
    const huge = 'a'.repeat(pricingLimits.tokenizeCharsMax + 1_000);
    const count = countTokens(huge, 'gpt-4o');
    expect(count).toBe(countTokens('a'.repeat(pricingLimits.tokenizeCharsMax), 'gpt-4o') + 1_000);
  });
});

describe('countChatInputTokens', () => {
  it('counts chat messages, tool definitions, overhead and images', () => {
    // Proves every input-side part of a chat request is counted, images at the fixed size.
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      ],
      tools,
    };
    const count = countChatInputTokens('chat', body, 'gpt-4o');
    const text = ['system', 'You are terse.', 'user', 'What is this?', JSON.stringify(tools)].join('\n');
    expect(count.textTokens).toBe(countTokens(text, 'gpt-4o'));
    expect(count.imageParts).toBe(1);
    expect(count.messages).toBe(2);
    expect(count.overheadTokens).toBe(2 * messageOverheadTokens + replyPrimingTokens);
    expect(count.tokens).toBe(count.textTokens + imageTokensPerPart + count.overheadTokens);
    expect(count.exact).toBe(true);
  });

  it('counts an Anthropic body with system, cache markers and documents, with the margin', () => {
    // Proves system text is counted, cache_control is not, documents count at the file size,
    // and the Claude margin applies to the total (and is dropped with margin: false).
    const body = {
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', data: 'JVBERi0=' } }, { type: 'text', text: 'Summarise.' }] }],
    };
    const raw = countChatInputTokens('messages', body, 'claude-haiku-4-5', { margin: false });
    expect(raw.textTokens).toBe(countTokens('Be brief.\nuser\nSummarise.', 'claude-haiku-4-5', { margin: false }));
    expect(raw.fileParts).toBe(1);
    expect(raw.tokens).toBe(raw.textTokens + fileTokensPerPart + 2 * messageOverheadTokens + replyPrimingTokens);
    const withMargin = countChatInputTokens('messages', body, 'claude-haiku-4-5');
    expect(withMargin.tokens).toBe(Math.ceil(raw.tokens * 1.2));
  });

  it('counts Responses API instructions and input, string or items', () => {
    // Proves both input forms of the Responses API are counted.
    const asString = countChatInputTokens('responses', { model: 'gpt-5.4', instructions: 'Be kind.', input: 'Hello there' }, 'gpt-5.4');
    expect(asString.textTokens).toBe(countTokens('Be kind.\nHello there', 'gpt-5.4'));
    expect(asString.messages).toBe(2);
    const asItems = countChatInputTokens('responses', { model: 'gpt-5.4', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hello there' }] }] }, 'gpt-5.4');
    expect(asItems.textTokens).toBe(countTokens('user\nHello there', 'gpt-5.4'));
  });

  it('counts embedding inputs one by one, token arrays by length, with no overhead', () => {
    // Proves embeddings are counted the way OpenAI bills them.
    const model = 'text-embedding-3-small';
    expect(countChatInputTokens('embeddings', { input: 'hello world' }, model).tokens).toBe(2);
    expect(countChatInputTokens('embeddings', { input: ['hello world', 'hello'] }, model).tokens).toBe(3);
    expect(countChatInputTokens('embeddings', { input: [1, 2, 3] }, model).tokens).toBe(3);
    expect(countChatInputTokens('embeddings', { input: [[1, 2], [3]] }, model).tokens).toBe(3);
  });

  it('never throws on strange bodies and falls back to a byte bound past the node limit', () => {
    // Proves counting is total: junk counts as little, a pathological body as its size in bytes.
    expect(countChatInputTokens('chat', null, 'gpt-4o').tokens).toBe(replyPrimingTokens);
    expect(countChatInputTokens('chat', { messages: 'nope' }, 'gpt-4o').tokens).toBeGreaterThan(0);
    const wide = { messages: [{ role: 'user', content: Array.from({ length: pricingLimits.collectNodesMax }, () => ({ type: 'text', text: 'x' })) }] };
    const count = countChatInputTokens('chat', wide, 'gpt-4o', { margin: false });
    expect(count.exact).toBe(false);
    expect(count.textTokens).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(wide.messages)));
  });
});
