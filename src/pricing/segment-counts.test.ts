import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pricingLimits } from './limits.js';
import { SegmentCounts } from './segment-counts.js';
import { collectText, countChatInputTokens, countTokens, segmentCountStats } from './tokens.js';

/** Text rich in what decides where the tokenizers' pre-split cuts: spaces, newlines, punctuation, digits, other scripts, lone surrogates. */
const piece = fc.constantFrom('the', ' ', '  ', '\n', '\r\n', '.', '/', "'s", '123', '4', 'Zürich', '日本語', '😀', '\ud800', '{"a":1}', '\t', 'word', 'x');
const text = (maxPieces: number) => fc.array(piece, { maxLength: maxPieces, size: 'max' }).map((parts) => parts.join(''));
const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'tool'), content: text(700) });

describe('SegmentCounts', () => {
  it('gives the counts of counting again, for conversations resent and grown, whatever the text', () => {
    // Proves the kept counts never change a count: each conversation and its longer version count
    // the same from what was kept as from nothing kept.
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), message, fc.constantFrom('gpt-4o', 'gpt-4-turbo'), (messages, next, model) => {
        const body = { model, messages };
        const grown = { model, messages: [...messages, next] };
        segmentCountStats({ reset: true });
        const cold = countChatInputTokens('chat', body, model).tokens;
        segmentCountStats({ reset: true });
        const coldGrown = countChatInputTokens('chat', grown, model).tokens;
        segmentCountStats({ reset: true });
        expect(countChatInputTokens('chat', body, model).tokens).toBe(cold);
        expect(countChatInputTokens('chat', body, model).tokens).toBe(cold);
        expect(countChatInputTokens('chat', grown, model).tokens).toBe(coldGrown);
      }),
      { numRuns: 60 },
    );
  });

  it('counts tools and schemas apart from the conversation to the count of the two joined', () => {
    // Proves that counting the JSON on its own (so that it keeps its segments when the
    // conversation grows) changes no count: the pre-split always cuts between the newline and
    // JSON's first character, whatever the conversation ends with.
    const json = fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== null && JSON.stringify(v).length < pricingLimits.tokenizeSegmentCharsMax / 2);
    fc.assert(
      fc.property(fc.array(message, { maxLength: 4 }), json, fc.constantFrom('gpt-4o', 'gpt-4-turbo'), (messages, tools, model) => {
        const joined = [...collectText(messages).texts, JSON.stringify(tools)].join('\n');
        expect(countChatInputTokens('chat', { messages, tools }, model).textTokens).toBe(countTokens(joined, model));
      }),
      { numRuns: 200 },
    );
  });

  it('tokenizes only what a resent conversation added', () => {
    // Proves an agent's growing conversation is read from the kept counts up to its old end:
    // every segment but the last of the earlier call is found.
    const paragraph = (i: number) => `Step ${i}: the agent read the file, ran the tests and found that case ${i} fails. `.repeat(12);
    const messages = Array.from({ length: 20 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: paragraph(i) }));
    segmentCountStats({ reset: true });
    countChatInputTokens('chat', { messages }, 'gpt-4o');
    const first = segmentCountStats();
    expect(first.hits).toBe(0);
    countChatInputTokens('chat', { messages: [...messages, { role: 'user', content: paragraph(99) }] }, 'gpt-4o');
    const second = segmentCountStats();
    expect(second.hits).toBeGreaterThanOrEqual(first.misses - 1);
    expect(second.misses - first.misses).toBeLessThanOrEqual(3);
    // The agent's tools, sent unchanged after the conversation, are found too.
    const tools = Array.from({ length: 12 }, (_, i) => ({ type: 'function', function: { name: `tool_${i}`, description: paragraph(i).slice(0, 300), parameters: { type: 'object', properties: { path: { type: 'string' } } } } }));
    countChatInputTokens('chat', { messages, tools }, 'gpt-4o');
    const third = segmentCountStats();
    countChatInputTokens('chat', { messages: [...messages, { role: 'user', content: paragraph(98) }], tools }, 'gpt-4o');
    const fourth = segmentCountStats();
    expect(fourth.misses - third.misses).toBeLessThanOrEqual(3);
  });

  it('keeps a large text from being reread once, bounded by the characters it holds', () => {
    // Proves the store holds at most its bound, drops the least recently used first, and keeps a
    // segment with a lone surrogate intact.
    const kept = new SegmentCounts(3_100, 10);
    let counted = 0;
    const count = (s: string) => {
      counted += 1;
      return countTokens(s, 'gpt-4o');
    };
    const a = `${'a b '.repeat(250)}\ud800`;
    const b = 'c d '.repeat(250);
    const c = 'e f '.repeat(250);
    const d = 'g h '.repeat(250);
    for (const s of [a, b, c]) kept.countOf(s, count);
    expect(kept.size).toBe(a.length + b.length + c.length);
    expect(kept.countOf(a, count)).toBe(countTokens(a, 'gpt-4o'));
    expect(counted).toBe(3);
    kept.countOf(d, count); // over the bound: b, the least recently used, goes
    expect(kept.size).toBeLessThanOrEqual(3_100);
    kept.countOf(a, count);
    kept.countOf(c, count);
    expect(counted).toBe(4);
    kept.countOf(b, count);
    expect(counted).toBe(5);
  });

  it('is bounded per encoding by segmentCountsCharsMax', () => {
    // Proves many distinct long requests never hold more characters than the limit.
    segmentCountStats({ reset: true });
    const long = (i: number) => `request ${i} `.repeat(Math.ceil(pricingLimits.tokenizeSegmentCharsMax / 10) * 40);
    let total = 0;
    for (let i = 0; total <= pricingLimits.segmentCountsCharsMax * 1.2; i += 1) {
      const t = long(i);
      total += t.length;
      countTokens(t, 'gpt-4o');
    }
    expect(segmentCountStats().chars).toBeLessThanOrEqual(pricingLimits.segmentCountsCharsMax);
    segmentCountStats({ reset: true });
  });
});
