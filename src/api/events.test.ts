import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../store/index.js';
import { EventHub, writeSseHead } from './events.js';

/** Reads an event stream until `done(text)` holds; returns the text. */
async function readUntil(url: string, headers: Record<string, string>, done: (text: string) => boolean): Promise<string> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => controller.abort(), 3_000);
  try {
    while (!done(text)) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } catch {
    throw new Error(`the stream did not reach the expected state within 3 s: ${JSON.stringify(text)}`);
  } finally {
    clearTimeout(timer);
  }
  controller.abort();
  return text;
}

function events(text: string): { id: number; data: Record<string, unknown> }[] {
  return [...text.matchAll(/id: (\d+)\nevent: ledger\ndata: (.*)\n\n/g)].map((m) => ({ id: Number(m[1]), data: JSON.parse(m[2] ?? '{}') as Record<string, unknown> }));
}

describe('EventHub', () => {
  let store: Store;
  let server: Server;
  let hub: EventHub;
  let url: string;
  let duringReplay: (() => Promise<void>) | undefined;

  beforeEach(async () => {
    store = openSqliteStore({ path: ':memory:' });
    // A store whose first ledger read (the replay) lets a write commit in the middle of it.
    const racing = new Proxy(store, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (property !== 'ledger' || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (query: Parameters<Store['ledger']>[0]) => {
          const page = await target.ledger(query);
          const hook = duringReplay;
          duringReplay = undefined;
          if (hook) await hook();
          return page;
        };
      },
    });
    hub = new EventHub(racing, { heartbeatMs: 60_000, replayEntriesMax: 2 });
    server = createServer((req, res) => {
      writeSseHead(res);
      const after = req.headers['last-event-id'];
      void hub.open(res, typeof after === 'string' ? Number(after) : undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await store.createBudget({ path: 'acme', limitMicros: 1_000_000 });
  });

  afterEach(async () => {
    hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  it('delivers an entry committed while the backlog is replayed, once, after the backlog', async () => {
    // Proves the hand-over from replay to live: nothing committed mid-replay is lost or repeated.
    await store.grant({ path: 'acme', amountMicros: 1 });
    duringReplay = async () => {
      await store.grant({ path: 'acme', amountMicros: 2 });
    };
    const text = await readUntil(url, { 'last-event-id': '1' }, (t) => events(t).length >= 2);
    expect(events(text).map((e) => [e.id, e.data.amount_micros])).toEqual([
      [2, 1],
      [3, 2],
    ]);
    await store.grant({ path: 'acme', amountMicros: 3 });
  });

  it('replays at most its bound, then names the skipped sequences in a gap event', async () => {
    // Proves the replay bound: two entries, an `event: gap` with from/to, then live entries continue.
    for (const amount of [1, 2, 3, 4, 5]) await store.grant({ path: 'acme', amountMicros: amount });
    const text = await readUntil(url, { 'last-event-id': '1' }, (t) => t.includes('event: gap'));
    expect(events(text).map((e) => e.id)).toEqual([2, 3]);
    const gap = /event: gap\ndata: (.*)\n/.exec(text)?.[1] ?? '{}';
    expect(JSON.parse(gap)).toMatchObject({ from_seq: 4, to_seq: 6 });
  });
});
