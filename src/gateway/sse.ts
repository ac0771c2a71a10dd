import { gatewayLimits } from './limits.js';

/** One server-sent event: its `event:` name (if any), its joined `data:` lines, and its exact text. */
export interface SseEvent {
  event: string | undefined;
  data: string;
  /** The event as received, including its terminating blank line. */
  raw: string;
  /** True when a line is neither a comment nor an SSE field (`data`, `event`, `id`, `retry`): not a stream a provider sends. */
  malformed: boolean;
}

/**
 * Thrown by `SseParser.push` when an event grows past `sseEventBytesMax` without ending: the
 * stream cannot be relayed further without holding more than that.
 */
export class SseEventTooLargeError extends Error {
  override name = 'SseEventTooLargeError';
}

const sseFields = new Set(['data', 'event', 'id', 'retry']);

/**
 * Incremental SSE parser, written once for every provider: feed it chunks as they arrive and
 * it returns the events completed so far, keeping the unfinished tail. Lines may end in `\n`
 * or `\r\n`. A tail longer than `sseEventBytesMax` is an error (`SseEventTooLargeError`; a
 * provider never sends one).
 *
 * @example
 * const parser = new SseParser();
 * for (const e of parser.push('data: {"a":1}\n\n')) console.log(e.data); // '{"a":1}'
 */
export class SseParser {
  private buffer = '';

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    for (;;) {
      const end = eventEnd(this.buffer);
      if (end < 0) break;
      const raw = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end);
      events.push(parseEvent(raw));
    }
    if (this.buffer.length > gatewayLimits.sseEventBytesMax) throw new SseEventTooLargeError(`a stream event is larger than ${gatewayLimits.sseEventBytesMax} bytes`);
    return events;
  }

  /** Whatever arrived after the last complete event (a truncated stream leaves some). */
  rest(): string {
    return this.buffer;
  }
}

/** Index just past the blank line that ends the first event, or -1. */
function eventEnd(text: string): number {
  const lf = text.indexOf('\n\n');
  const crlf = text.indexOf('\r\n\r\n');
  if (lf < 0 && crlf < 0) return -1;
  if (crlf < 0 || (lf >= 0 && lf < crlf)) return lf + 2;
  return crlf + 4;
}

function parseEvent(raw: string): SseEvent {
  let event: string | undefined;
  let malformed = false;
  const data: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (!sseFields.has(field)) malformed = true;
  }
  return { event, data: data.join('\n'), raw, malformed };
}

/** Formats an event the way providers do. */
export function formatSse(data: string, event?: string): string {
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${data}\n\n`;
}
