import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses events split anywhere, with CRLF, comments, multi-line data and retry', () => {
    // Proves the stream reader survives any chunking the network produces.
    const text = ': hello\r\nretry: 3000\r\n\r\nid: 7\r\nevent: ledger\r\ndata: {"seq":7}\r\n\r\nid: 8\nevent: gap\ndata: a\ndata: b\n\n: heartbeat\n\n';
    for (let cut = 0; cut <= text.length; cut += 1) {
      const parser = new SseParser();
      const events = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([
        { id: '7', event: 'ledger', data: '{"seq":7}' },
        { id: '8', event: 'gap', data: 'a\nb' },
      ]);
      expect(parser.retryMs).toBe(3_000);
    }
  });

  it('keeps the last id for events without one, and names unnamed events "message"', () => {
    // Proves the id bookkeeping that Last-Event-ID resumes from.
    const parser = new SseParser();
    expect(parser.feed('id: 3\ndata: x\n\ndata: y\n\n')).toEqual([
      { id: '3', event: 'message', data: 'x' },
      { id: '3', event: 'message', data: 'y' },
    ]);
  });
});
