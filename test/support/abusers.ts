import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * Clients that abuse a server, for the abuse test (test/security/abuse.test.ts) and its
 * full-size benchmark (bench/abuse.ts): connections that trickle a request head byte by byte,
 * event-stream subscribers, and bodies too large to hold.
 */

export interface Trickle {
  /** Connections the server has closed. */
  closed(): number;
  /** Open now. */
  open(): number;
  /** What the server answered the first connection it answered. */
  answer(): string;
  /** Stops trickling and closes what is still open. */
  stop(): void;
}

/**
 * Opens `count` connections that send a request head one byte every `byteEveryMs` and never
 * finish it; with `reopen`, each one the server closes is replaced, so `count` stay open.
 *
 * @example
 * const slow = await trickle(port, 2_000, { byteEveryMs: 200 });
 */
export async function trickle(port: number, count: number, o: { byteEveryMs: number; reopen?: boolean }): Promise<Trickle> {
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: ${'a'.repeat(10_000)}`;
  /** Each open connection and how much of the head it has sent. */
  const sockets = new Map<Socket, number>();
  let closed = 0;
  let answer = '';
  let answering: Socket | undefined;
  let stopped = false;
  const open = () => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    // Read what the server answers (its 408), so its closing is seen.
    socket.on('data', (chunk: Buffer) => {
      answering ??= socket;
      if (answering === socket) answer += chunk.toString('utf8');
    });
    socket.on('close', () => {
      sockets.delete(socket);
      if (stopped) return;
      closed += 1;
      if (o.reopen) open();
    });
    sockets.set(socket, 0);
  };
  for (let i = 0; i < count; i += 1) {
    open();
    if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
  }
  // The next byte of the head on every connection each tick, from one timer.
  const timer = setInterval(() => {
    for (const [s, sent] of sockets) {
      if (s.connecting || s.destroyed) continue;
      s.write(head[sent % head.length] ?? 'a');
      sockets.set(s, sent + 1);
    }
  }, o.byteEveryMs);
  return {
    closed: () => closed,
    open: () => sockets.size,
    answer: () => answer,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      for (const s of sockets.keys()) s.destroy();
    },
  };
}

export interface Subscriber {
  status: number;
  code: string | undefined;
  /** `event: ledger` lines received so far. */
  ledgerEvents: number;
  res: IncomingMessage;
}

/**
 * Opens the admin event stream (`GET /api/events`) and keeps reading it.
 *
 * @example
 * const sub = await subscribe(url, adminKey); // sub.status 200, or 503 too_many_streams
 */
export function subscribe(url: string, key: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/events`, { headers: { authorization: `Bearer ${key}` } }, (res) => {
      const sub: Subscriber = { status: res.statusCode ?? 0, code: res.headers['x-bursar-code'] as string | undefined, ledgerEvents: 0, res };
      res.setEncoding('utf8');
      res.on('data', (text: string) => (sub.ledgerEvents += (text.match(/event: ledger/g) ?? []).length));
      res.on('error', () => undefined);
      resolve(sub);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * POSTs `bytes` of body in 64 KiB pieces of one buffer (so the sender holds almost nothing),
 * declared up front with content-length or chunked; resolves with the status and code, or
 * status 0 when the server cut the connection before answering.
 *
 * @example
 * await flood(`${url}/v1/chat/completions`, { authorization: `Bearer ${token}` }, 40 * 1024 * 1024, true) // { status: 413, code: 'payload_too_large' }
 */
export function flood(url: string, headers: Record<string, string>, bytes: number, declared: boolean): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve) => {
    const piece = Buffer.alloc(64 * 1024, 0x20);
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers, ...(declared ? { 'content-length': String(bytes) } : {}) } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, code: res.headers['x-bursar-code'] as string | undefined });
      req.destroy();
    });
    req.on('error', () => resolve({ status: 0, code: undefined }));
    let sent = 0;
    const more = () => {
      while (sent < bytes && !req.destroyed) {
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', more);
      }
      if (!req.destroyed) req.end();
    };
    more();
  });
}

/** A JSON array nested `depth` levels deep: `[[[…]]]`. */
export function deepJson(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** A chat request of `turns` alternating messages. */
export function longConversation(turns: number): string {
  return JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: Array.from({ length: turns }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` })) });
}
