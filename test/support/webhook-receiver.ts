import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook receiver for tests: a plain node:http server that records every request and answers
 * with the status `answer` picks (it can be switched off, so that connecting is refused, and on
 * again on the same port). Signatures are checked here with Node's crypto alone, as a receiver
 * would, not with Bursar's own code.
 */

export interface Received {
  eventId: string;
  kind: string;
  attempt: number;
  signature: string;
  body: string;
  /** What the receiver answered. */
  status: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** The status to answer the next request with (default 200), and how long to wait first. */
  answer: (r: Omit<Received, 'status'>) => number;
  delayMs: number;
  /** While set, answers wait for it: a receiver that hangs. */
  gate: Promise<void> | undefined;
  /** Requests read and not answered yet. */
  waiting: number;
  /** Event ids answered with a 2xx status, with how many times each. */
  acknowledged(): Map<string, number>;
  /** Stops listening: connections are refused until `listen()`. */
  stop(): Promise<void>;
  listen(): Promise<void>;
}

/** True when `signature` (`t=…,v1=…`) is HMAC-SHA256 of `${t}.${body}` with `secret`. */
export function signatureVerifies(secret: string, signature: string, body: string): boolean {
  const parts = new Map(signature.split(',').map((kv) => kv.split('=') as [string, string]));
  const expected = createHmac('sha256', secret).update(`${parts.get('t')}.${body}`).digest();
  const given = Buffer.from(parts.get('v1') ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startReceiver(): Promise<Receiver> {
  let server: Server | undefined;
  let port = 0;
  const r: Receiver = {
    url: '',
    port: 0,
    received: [],
    answer: () => 200,
    delayMs: 0,
    gate: undefined,
    waiting: 0,
    acknowledged: () => {
      const out = new Map<string, number>();
      for (const x of r.received) if (x.status < 300) out.set(x.eventId, (out.get(x.eventId) ?? 0) + 1);
      return out;
    },
    stop: async () => {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    listen: async () => {
      const s = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => {
          const seen = { eventId: String(req.headers['idempotency-key']), kind: String(req.headers['bursar-event']), attempt: Number(req.headers['bursar-delivery-attempt']), signature: String(req.headers['bursar-signature']), body };
          const status = r.answer(seen);
          r.waiting += 1;
          void Promise.all([r.gate, new Promise((resolve) => setTimeout(resolve, r.delayMs))]).then(() => {
            r.waiting -= 1;
            r.received.push({ ...seen, status });
            res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'failing');
          });
        });
      });
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', () => resolve()));
      server = s;
      port = (s.address() as AddressInfo).port;
      r.port = port;
      r.url = `http://127.0.0.1:${port}/hook`;
    },
  };
  await r.listen();
  return r;
}
