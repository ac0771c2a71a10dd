import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { StreamObserver } from './providers/adapter.js';
import { drained } from './respond.js';
import { SseEventTooLargeError, SseParser } from './sse.js';

/** Relays a stream's events as they arrive, until it ends; true when it was cut for an event too large to hold. */
export async function pipeEvents(upstream: AsyncIterable<Buffer>, observer: Pick<StreamObserver, 'forward'>, res: Writable): Promise<boolean> {
  const parser = new SseParser();
  const decoder = new StringDecoder('utf8');
  // Whether the bytes read so far were all decoded into whole events (the last of them ended a
  // line): the next chunk's text is then exactly its bytes.
  let atEventStart = true;
  try {
    for await (const chunk of upstream) {
      if (chunk.length === 0) continue;
      // The events that arrived together leave together: one write (one system call) per chunk, not per event.
      let out = '';
      let unchanged = true;
      for (const event of parser.push(decoder.write(chunk))) {
        const relayed = observer.forward(event);
        if (relayed !== event.raw) unchanged = false;
        out += relayed ?? '';
      }
      const endsEvent = parser.rest() === '' && chunk[chunk.length - 1] === 0x0a;
      // A chunk of whole events, each relayed as it came, leaves as the bytes that came (not
      // decoded and encoded again).
      const bytes = unchanged && atEventStart && endsEvent ? chunk : out;
      atEventStart = endsEvent;
      if (bytes.length > 0 && !res.destroyed && !res.write(bytes)) await drained(res);
    }
  } catch (error) {
    // The client left (upstream aborted), the timeout fired, the provider broke off, or it sent
    // an event too large to hold (leaving the loop closes the upstream connection).
    return error instanceof SseEventTooLargeError;
  }
  return false;
}
