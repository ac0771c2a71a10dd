import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSse, SseEventTooLargeError, SseParser } from './sse.js';

describe('SseParser', () => {
  it('splits events across arbitrary chunk boundaries and keeps each event exact', () => {
    // Proves relaying is byte-faithful: events come out whole, in order, however the bytes arrived.
    const text = 'event: message_start\ndata: {"a":1}\n\ndata: {"b":\n\n: comment\ndata: x\r\ndata: y\r\n\r\ndata: [DONE]\n\n';
    for (let size = 1; size <= text.length; size += 1) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
      expect(events.map((e) => e.raw).join('')).toBe(text);
      expect(events.map((e) => [e.event, e.data])).toEqual([
        ['message_start', '{"a":1}'],
        [undefined, '{"b":'],
        [undefined, 'x\ny'],
        [undefined, '[DONE]'],
      ]);
      expect(parser.rest()).toBe('');
    }
  });

  it('finds the same events however a stream of mixed line ends is cut, as when it arrives whole', () => {
    // Proves the incremental search for blank lines misses none that straddle two chunks.
    const line = fc.constantFrom('data: {"a":1}', 'data: x', 'event: e', ': c', 'data:', 'id: 7');
    const event = fc.tuple(fc.array(line, { minLength: 1, maxLength: 3 }), fc.constantFrom('\n', '\r\n')).map(([lines, eol]) => `${lines.join(eol)}${eol}${eol}`);
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 40 }), (events, cuts) => {
        const text = events.join('');
        const whole = new SseParser().push(text);
        const parser = new SseParser();
        const pieces = [];
        for (let i = 0, k = 0; i < text.length; k += 1) {
          const size = cuts[k % cuts.length] ?? 1;
          pieces.push(...parser.push(text.slice(i, i + size)));
          i += size;
        }
        expect(pieces).toEqual(whole);
        expect(whole.map((e) => e.raw)).toEqual(events);
        expect(parser.rest()).toBe('');
      }),
    );
  });

  it('reads every event as a line-by-line reading of the SSE fields does, whatever its lines hold', () => {
    // Proves the quick reading of `data:` and `event:`+`data:` events changes no event's name or data.
    const reference = (raw: string): [string | undefined, string, boolean] => {
      let event: string | undefined;
      let malformed = false;
      const data: string[] = [];
      for (const line of raw.split(/\r?\n/)) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (!['id', 'retry'].includes(field)) malformed = true;
      }
      return [event, data.join('\n'), malformed];
    };
    const text = fc.array(fc.constantFrom('a', ' ', ':', '\r', '{', '"', 'é', 'data: ', 'event: '), { maxLength: 12 }).map((units) => units.join(''));
    const line = fc.oneof(text.map((t) => `data: ${t}`), text.map((t) => `event: ${t}`), text.map((t) => `data:${t}`), fc.constantFrom('data:', 'data: ', 'event:', ': c', 'id: 7'), text);
    const event = fc.tuple(fc.array(line, { minLength: 1, maxLength: 3 }), fc.constantFrom('\n', '\r\n')).map(([lines, eol]) => `${lines.join(eol)}${eol}${eol}`);
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), (events) => {
        const text = events.join('');
        const parsed = new SseParser().push(text);
        expect(parsed.length).toBeGreaterThan(0);
        for (const e of parsed) expect([e.event, e.data, e.malformed]).toEqual(reference(e.raw));
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps an unfinished event as the rest of a truncated stream', () => {
    // Proves a stream cut mid-event neither loses nor invents an event.
    const parser = new SseParser();
    expect(parser.push('data: {"x":1}\n\ndata: {"y"')).toHaveLength(1);
    expect(parser.rest()).toBe('data: {"y"');
  });

  it('refuses an event larger than the buffer limit', () => {
    // Proves the relay buffer is bounded even if a provider misbehaves.
    const parser = new SseParser();
    expect(() => parser.push(`data: ${'x'.repeat(2 * 1024 * 1024)}`)).toThrow(SseEventTooLargeError);
  });

  it('marks an event with a line that is neither a comment nor an SSE field as malformed', () => {
    // Proves garbage in a stream is told apart from the fields and comments providers send.
    const parser = new SseParser();
    const events = parser.push(': keep-alive\n\nid: 7\nretry: 100\nevent: ping\ndata: {}\n\n\u0000 not an event\n\n');
    expect(events.map((e) => e.malformed)).toEqual([false, false, true]);
  });

  it('formats events the way providers send them', () => {
    // Proves synthetic streams use the same framing the parser reads.
    expect(formatSse('{"a":1}', 'ping')).toBe('event: ping\ndata: {"a":1}\n\n');
    expect(new SseParser().push(formatSse('[DONE]'))[0]?.data).toBe('[DONE]');
  });
});
