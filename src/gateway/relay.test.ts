import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipeEvents } from './relay.js';
import type { SseEvent } from './sse.js';

/** A stream's bytes as they might arrive, cut at the given byte offsets (multi-byte characters split included). */
async function* arriving(bytes: Buffer, cuts: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= at || cut >= bytes.length) continue;
    yield bytes.subarray(at, cut);
    at = cut;
  }
  yield bytes.subarray(at);
}

/** What a client receives: every write, as written (a Buffer, or a string). */
function client(): { sink: Writable; writes: (Buffer | string)[]; bytes: () => Buffer } {
  const writes: (Buffer | string)[] = [];
  const sink = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      writes.push(chunk);
      done();
    },
  });
  return { sink, writes, bytes: () => Buffer.concat(writes.map((w) => (typeof w === 'string' ? Buffer.from(w) : w))) };
}

/** Relays most events as they came; drops `DROP…` and rewrites `EDIT…`, as observers do with usage Bursar asked for. */
const observer = {
  forward: (event: SseEvent): string | null => {
    if (event.data.startsWith('DROP')) return null;
    if (event.data.startsWith('EDIT')) return `data: {"edited":"é"}\n\n`;
    return event.raw;
  },
};

const text = fc.array(fc.constantFrom('a', ' ', '{', '"', 'é', '日本', '😀', ':'), { maxLength: 8 }).map((units) => units.join(''));
const event = fc.tuple(fc.constantFrom('', 'DROP', 'EDIT'), text, fc.boolean()).map(([kind, body, named]) => `${named ? 'event: delta\n' : ''}data: ${kind}${body}\n\n`);

describe('pipeEvents', () => {
  it('relays exactly what the observer passes, however the bytes are cut, multi-byte characters split included', async () => {
    // Proves relaying the provider's own bytes for unchanged events loses, repeats and alters nothing.
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 8 }), fc.array(fc.nat({ max: 400 }), { maxLength: 12 }), async (events, cuts) => {
        const bytes = Buffer.from(events.join(''));
        const { sink, bytes: received } = client();
        expect(await pipeEvents(arriving(bytes, cuts), observer, sink)).toBe(false);
        const expected = events.map((raw) => (raw.includes('data: DROP') ? '' : raw.includes('data: EDIT') ? `data: {"edited":"é"}\n\n` : raw)).join('');
        expect(received().equals(Buffer.from(expected))).toBe(true);
      }),
      { numRuns: 1_500 },
    );
  });

  it('writes a chunk of whole, unchanged events as the very bytes that arrived', async () => {
    // Proves the relay skips decoding and encoding again when nothing in a chunk changes.
    const events = ['data: {"a":"é"}\n\n', 'event: delta\ndata: {"b":"😀"}\n\n', 'data: [DONE]\n\n'];
    const chunks = [Buffer.from(events[0] ?? ''), Buffer.from((events[1] ?? '') + (events[2] ?? ''))];
    const { sink, writes } = client();
    await pipeEvents((async function* () { yield* chunks; })(), observer, sink);
    expect(writes).toHaveLength(2);
    expect(writes[0]).toBe(chunks[0]);
    expect(writes[1]).toBe(chunks[1]);
  });

  it('writes text once a chunk holds an event it changes or a split character', async () => {
    // Proves the bytes are only reused when they are exactly what the client must get.
    const whole = Buffer.from('data: é\n\ndata: EDIT\n\n');
    const split = whole.indexOf(0xa9); // the second byte of é
    const { sink, writes, bytes } = client();
    await pipeEvents((async function* () { yield whole.subarray(0, split); yield whole.subarray(split); })(), observer, sink);
    expect(writes.every((w) => typeof w === 'string')).toBe(true);
    expect(bytes().toString()).toBe('data: é\n\ndata: {"edited":"é"}\n\n');
  });

  it('never writes the first bytes of a character split after an event twice', async () => {
    // Proves a chunk that ends in part of a character is not reused, even when its events are whole.
    const first = Buffer.from('data: a\n\né\n\ndata: EDIT\n\n');
    const split = first.indexOf(0xa9);
    const { sink, bytes } = client();
    await pipeEvents((async function* () { yield first.subarray(0, split); yield first.subarray(split); })(), observer, sink);
    expect(bytes().toString()).toBe('data: a\n\né\n\ndata: {"edited":"é"}\n\n');
  });
});
