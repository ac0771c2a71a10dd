import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApi, viewerKey, type ApiServer } from './api-harness.js';

/** One Server-Sent Event block as the test reads it. */
interface Block {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** A minimal SSE reader over fetch, written here so the test checks the wire format itself. */
async function openStream(s: ApiServer, options: { headers?: Record<string, string>; query?: string } = {}) {
  const controller = new AbortController();
  const res = await fetch(`${s.url}/api/events${options.query ?? ''}`, { headers: { authorization: `Bearer ${viewerKey}`, ...options.headers }, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const blocks: Block[] = [];
  const parse = () => {
    let at = buffer.indexOf('\n\n');
    while (at >= 0) {
      const block: Block = {};
      for (const line of buffer.slice(0, at).split('\n')) {
        if (line.startsWith(':')) block.comment = line.slice(1).trim();
        const m = /^(id|event|data|retry): ?(.*)$/.exec(line);
        if (m) block[m[1] as 'id' | 'event' | 'data' | 'retry'] = m[2];
      }
      blocks.push(block);
      buffer = buffer.slice(at + 2);
      at = buffer.indexOf('\n\n');
    }
  };
  /** Waits for the next block that matches, skipping others. */
  const next = async (match: (b: Block) => boolean, timeoutMs = 3_000): Promise<Block> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = blocks.findIndex(match);
      if (i >= 0) return blocks.splice(0, i + 1)[i] as Block;
      if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(blocks)}`);
      const chunk = await Promise.race([reader.read(), new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now())))]);
      if (chunk === 'timeout') continue;
      if (chunk.done) throw new Error('the stream ended');
      buffer += decoder.decode(chunk.value, { stream: true });
      parse();
    }
  };
  const ledger = async () => {
    const b = await next((x) => x.event === 'ledger');
    return { id: Number(b.id), entry: JSON.parse(b.data ?? '{}') as { seq: number; kind: string; budget: string; amount_micros: number } };
  };
  return { next, ledger, close: () => controller.abort() };
}

describe('GET /api/events', () => {
  let s: ApiServer;
  beforeEach(async () => {
    s = await startApi({ heartbeatMs: 50 });
  });
  afterEach(async () => s.close());

  it('sends every committed entry as it happens, with its sequence as the event id', async () => {
    // Proves live delivery: a write through the API arrives on an open stream, in commit order, with the budget's path.
    const stream = await openStream(s);
    await stream.next((b) => b.retry !== undefined);
    await s.call('POST', '/api/budgets', { body: { path: 'acme', limit_micros: 5_000_000 } });
    await s.call('POST', '/api/budgets/acme/grant', { body: { amount_micros: 1_000_000 } });
    const first = await stream.ledger();
    const second = await stream.ledger();
    expect(first.entry).toMatchObject({ kind: 'budget_created', budget: 'acme', amount_micros: 5_000_000 });
    expect(first.id).toBe(first.entry.seq);
    expect(second.entry).toMatchObject({ kind: 'grant', amount_micros: 1_000_000 });
    expect(second.id).toBeGreaterThan(first.id);
    stream.close();
  });

  it('sends threshold alerts and breaker trips as events, right after the entry that crossed', async () => {
    // Proves guards need no feed of their own: an alert and a trip are ledger entries, so they arrive like any other.
    const stream = await openStream(s);
    await s.call('POST', '/api/budgets', { body: { path: 'acme', kind: 'agent', limit_micros: 1_000, policy: { burn_limits: [{ amount_micros: 1_000, window_ms: 60_000 }] } } });
    await s.call('POST', '/api/reservations', { body: { budget: 'acme', amount_micros: 600 } });
    const tripped = await s.call('POST', '/api/reservations', { body: { budget: 'acme', amount_micros: 600 } });
    expect(tripped.status).toBe(429);
    const kinds: string[] = [];
    for (let i = 0; i < 4; i += 1) kinds.push((await stream.ledger()).entry.kind);
    expect(kinds).toEqual(['budget_created', 'reserve', 'alert', 'breaker_tripped']);
    stream.close();
  });

  it('resumes after Last-Event-ID from the ledger, then goes live, without gaps or repeats', async () => {
    // Proves resume: entries written while disconnected are replayed first, then live ones follow, each once.
    const stream = await openStream(s);
    await s.call('POST', '/api/budgets', { body: { path: 'acme', limit_micros: 5_000_000 } });
    const seen = await stream.ledger();
    stream.close();
    for (const amount of [1, 2, 3]) await s.call('POST', '/api/budgets/acme/grant', { body: { amount_micros: amount } });

    for (const viaHeader of [true, false]) {
      const resumed = await openStream(s, viaHeader ? { headers: { 'last-event-id': String(seen.id) } } : { query: `?last_event_id=${seen.id}` });
      const replayed = [await resumed.ledger(), await resumed.ledger(), await resumed.ledger()];
      expect(replayed.map((e) => e.entry.amount_micros)).toEqual([1, 2, 3]);
      expect(replayed.map((e) => e.id)).toEqual([seen.id + 1, seen.id + 2, seen.id + 3]);
      await s.call('POST', '/api/budgets/acme/pause');
      const live = await resumed.ledger();
      expect(live.entry.kind).toBe('pause');
      await s.call('POST', '/api/budgets/acme/resume');
      seen.id = (await resumed.ledger()).id;
      resumed.close();
      // The next round resumes from what this one saw last.
      for (const amount of [1, 2, 3]) await s.call('POST', '/api/budgets/acme/grant', { body: { amount_micros: amount } });
    }
  });

  it('answers HEAD with the stream\'s head and ends at once', async () => {
    // Proves a HEAD (health checkers, curl -I) never holds a stream open.
    const res = await fetch(`${s.url}/api/events`, { method: 'HEAD', headers: { authorization: `Bearer ${viewerKey}` }, signal: AbortSignal.timeout(2_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await s.call('GET', '/metrics')).text).toMatch(/^bursar_event_streams 0$/m);
  });

  it('keeps an idle stream alive with heartbeat comments', async () => {
    // Proves heartbeats: with nothing written, a comment line still arrives every heartbeatMs.
    const stream = await openStream(s);
    const beat = await stream.next((b) => b.comment === 'heartbeat', 2_000);
    expect(beat.comment).toBe('heartbeat');
    stream.close();
  });

  it('counts open streams in /metrics and forgets a stream when its client leaves', async () => {
    // Proves the stream gauge and cleanup: one open stream shows as 1, and 0 once the client has gone.
    const stream = await openStream(s);
    await stream.next((b) => b.retry !== undefined);
    expect((await s.call('GET', '/metrics')).text).toMatch(/^bursar_event_streams 1$/m);
    stream.close();
    for (let i = 0; i < 50; i += 1) {
      if (/^bursar_event_streams 0$/m.test((await s.call('GET', '/metrics')).text)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the closed stream is still counted');
  });
});
