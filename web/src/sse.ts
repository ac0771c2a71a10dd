/**
 * The live event stream (GET /api/events). The browser's EventSource cannot send an
 * Authorization header, and the key must never go in a URL, so the stream is read with fetch
 * and parsed here; reconnection resumes with Last-Event-ID as EventSource would.
 */

export interface SseEvent {
  /** The `id:` of the event (a ledger sequence number), when it had one. */
  id: string | undefined;
  event: string;
  data: string;
}

/** Longest line kept while waiting for its end; a stream that sends longer is cut off. */
const lineCharsMax = 1_048_576;

/**
 * Parses the text/event-stream format incrementally: feed it chunks as they arrive, get the
 * complete events back.
 *
 * @example
 * const parser = new SseParser();
 * parser.feed('id: 7\nevent: ledger\ndata: {"seq":7}\n\n') // [{ id: '7', event: 'ledger', data: '{"seq":7}' }]
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  /** The last `retry:` the server asked for, in milliseconds. */
  retryMs: number | undefined;

  feed(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    const newline = /\r\n|\r|\n/g;
    let start = 0;
    for (let m = newline.exec(this.buffer); m !== null; m = newline.exec(this.buffer)) {
      // A \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (m[0] === '\r' && m.index + 1 === this.buffer.length) break;
      const dispatched = this.line(this.buffer.slice(start, m.index));
      if (dispatched) out.push(dispatched);
      start = m.index + m[0].length;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > lineCharsMax) throw new Error(`an event stream line is longer than ${lineCharsMax} characters`);
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      const event = this.data.length > 0 ? { id: this.id, event: this.event || 'message', data: this.data.join('\n') } : undefined;
      this.data = [];
      this.event = '';
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}

export type StreamState = 'connecting' | 'live' | 'down' | 'refused';

export interface StreamOptions {
  url: string;
  key: string;
  /** Resume after this event (the newest entry already shown). */
  lastEventId: string | undefined;
  onEvent(event: SseEvent): void;
  onState(state: StreamState, detail?: string): void;
}

/** Waits between reconnections: the server's `retry:` (3 s) doubled per failure, up to 4×. */
const retryMsDefault = 3_000;
const backoffMax = 4;
/** The server sends a comment every 15 s; this long without a byte means the link is dead. */
const silenceMsMax = 45_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Reads one open stream until it ends, feeding events out; aborts when it falls silent. */
async function readStream(body: ReadableStream<Uint8Array>, parser: SseParser, o: StreamOptions, track: (id: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let watchdog = setTimeout(() => void reader.cancel('silent'), silenceMsMax);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      clearTimeout(watchdog);
      if (done) return;
      watchdog = setTimeout(() => void reader.cancel('silent'), silenceMsMax);
      for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
        if (event.id !== undefined) track(event.id);
        o.onEvent(event);
      }
    }
  } finally {
    clearTimeout(watchdog);
  }
}

/**
 * Opens the event stream and keeps it open: after the server closes it or restarts, it
 * reconnects with `Last-Event-ID` so the entries missed meanwhile are replayed. A refused key
 * stops it (`refused`).
 *
 * @example
 * const stream = openEventStream({ url: '/api/events', key, lastEventId: '42', onEvent, onState });
 * stream.close();
 */
export function openEventStream(o: StreamOptions): { close(): void; lastEventId(): string | undefined } {
  const controller = new AbortController();
  let lastId = o.lastEventId;
  async function run(): Promise<void> {
    let failures = 0;
    let retryMs = retryMsDefault;
    while (!controller.signal.aborted) {
      const parser = new SseParser();
      o.onState('connecting');
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${o.key}`, accept: 'text/event-stream' };
        if (lastId !== undefined) headers['last-event-id'] = lastId;
        const res = await fetch(o.url, { headers, signal: controller.signal, cache: 'no-store' });
        if (res.status === 401 || res.status === 403) return o.onState('refused', `the server refused the key (${res.status})`);
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        failures = 0;
        o.onState('live');
        await readStream(res.body, parser, o, (id) => (lastId = id));
      } catch {
        // The server went away or the link broke: wait, then resume from the last id.
      }
      retryMs = parser.retryMs ?? retryMs;
      if (controller.signal.aborted) return;
      failures += 1;
      o.onState('down');
      await sleep(retryMs * Math.min(2 ** (failures - 1), backoffMax), controller.signal);
    }
  }
  void run();
  return { close: () => controller.abort(), lastEventId: () => lastId };
}
