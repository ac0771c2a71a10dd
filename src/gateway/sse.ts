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
    // A blank line may straddle the previous chunk and this one; nothing before that is looked at again.
    let scan = Math.max(0, this.buffer.length - 3);
    this.buffer += chunk;
    const events: SseEvent[] = [];
    let start = 0;
    for (let end = eventEnd(this.buffer, scan); end >= 0; end = eventEnd(this.buffer, scan)) {
      events.push(parseEvent(this.buffer.slice(start, end)));
      start = scan = end;
    }
    if (start > 0) this.buffer = this.buffer.slice(start);
    if (this.buffer.length > gatewayLimits.sseEventBytesMax) throw new SseEventTooLargeError(`a stream event is larger than ${gatewayLimits.sseEventBytesMax} bytes`);
    return events;
  }

  /** Whatever arrived after the last complete event (a truncated stream leaves some). */
  rest(): string {
    return this.buffer;
  }
}

/**
 * Index just past the blank line (`\n\n` or `\r\n\r\n`) that ends the first event at or after
 * `from`, or -1: one pass over the line ends, whichever kind the provider uses.
 */
function eventEnd(text: string, from: number): number {
  for (let i = text.indexOf('\n', from); i >= 0; i = text.indexOf('\n', i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (next === 10) return i + 2;
    if (next === 13 && text.charCodeAt(i + 2) === 10 && text.charCodeAt(i - 1) === 13) return i + 3;
  }
  return -1;
}

function parseEvent(raw: string): SseEvent {
  return parseDataEvent(raw) ?? parseEventLines(raw);
}

/**
 * The two forms providers send nearly every event in, `data: …` alone or after `event: …`, each
 * on a line ending in `\n`, read without splitting the event into lines; undefined for any other.
 */
function parseDataEvent(raw: string): SseEvent | undefined {
  const last = raw.length - 2;
  if (raw.charCodeAt(last - 1) === 13) return undefined;
  if (raw.startsWith('data: ')) return raw.indexOf('\n') === last ? { event: undefined, data: raw.slice(6, last), raw, malformed: false } : undefined;
  if (!raw.startsWith('event: ')) return undefined;
  const lineEnd = raw.indexOf('\n');
  if (raw.charCodeAt(lineEnd - 1) === 13 || !raw.startsWith('data: ', lineEnd + 1) || raw.indexOf('\n', lineEnd + 1) !== last) return undefined;
  return { event: raw.slice(7, lineEnd), data: raw.slice(lineEnd + 7, last), raw, malformed: false };
}

/** Any event, line by line (comments, `id`, `retry`, several `data` lines, `\r\n` line ends). */
function parseEventLines(raw: string): SseEvent {
  let event: string | undefined;
  let malformed = false;
  const data: string[] = [];
  for (const line of raw.includes('\r') ? raw.split(/\r?\n/) : raw.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
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
