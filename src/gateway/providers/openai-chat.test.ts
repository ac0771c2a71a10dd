import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectText } from '../../pricing/tokens.js';
import { formatSse, SseParser } from '../sse.js';
import { openaiChat } from './openai-chat.js';

/** A chat chunk with the given deltas, as the provider streams it. */
function chunk(deltas: unknown[]): string {
  return formatSse(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: deltas.map((delta, index) => ({ index, delta, finish_reason: null })) }));
}

const text = fc.oneof(fc.constantFrom('assistant', '', ' hi', 'é😀'), fc.string({ maxLength: 6 }));
const delta = fc.oneof(
  text.map((content) => ({ content })),
  fc.record({ role: fc.oneof(fc.constant('assistant'), text), content: text }),
  fc.record({ content: text, tool_calls: fc.array(fc.record({ index: fc.nat(3), function: fc.record({ arguments: text }) }), { maxLength: 2 }) }),
  fc.record({ content: text, refusal: fc.constant(null) }),
  fc.record({ tool_calls: fc.array(fc.record({ index: fc.nat(3), type: fc.constant('function'), function: fc.record({ name: text, arguments: text }) }), { maxLength: 2 }) }),
  fc.record({ content: fc.constant(null) }),
  fc.constant({}),
  fc.constant(null),
);

describe('the chat stream observer', () => {
  it('keeps the same output text as reading every string of every delta', () => {
    // Proves reading a delta's content at once when it is all the delta holds changes nothing that is counted.
    fc.assert(
      fc.property(fc.array(fc.array(delta, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 6 }), (chunks) => {
        const observer = openaiChat.observe({ stream_options: { include_usage: true } });
        const events = new SseParser().push(chunks.map(chunk).join(''));
        for (const event of events) expect(observer.forward(event)).toBe(event.raw);
        const expected = chunks.flatMap((deltas) => deltas.flatMap((d) => collectText(d).texts.filter((piece) => piece !== 'assistant'))).join('');
        expect(observer.outputText()).toBe(expected);
      }),
      { numRuns: 1_000 },
    );
  });
});
