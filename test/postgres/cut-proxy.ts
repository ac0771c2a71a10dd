/**
 * A TCP proxy in front of PostgreSQL that can lose the answer to a COMMIT: it forwards the
 * COMMIT to the server, lets the server commit, and then cuts that connection before the reply
 * reaches the client. This is the "committed, but the caller never heard" case, made exact.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface CutProxy {
  port: number;
  /** The next COMMIT through the proxy commits on the server but its answer is lost. */
  loseNextCommitAnswer(): void;
  /** Resolves once an armed cut has happened. */
  cut(): Promise<void>;
  /** The database goes away: every open connection is cut and new ones are closed at once. */
  down(): void;
  close(): Promise<void>;
}

const commitQuery = Buffer.from('COMMIT\0');
const commitGraceMs = 200;

/**
 * @example
 * const proxy = await startCutProxy(server.port);
 * const store = await openPostgresStore({ url: `postgres://…@127.0.0.1:${proxy.port}/postgres` });
 */
export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  let armed = false;
  let onCut: (() => void) | undefined;
  const cutDone = new Promise<void>((resolve) => (onCut = resolve));
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let cutting = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (!armed || !chunk.includes(commitQuery)) return;
      armed = false;
      cutting = true;
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
        onCut?.();
      }, commitGraceMs);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cutting) client.write(chunk);
    });
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        b.destroy();
        sockets.delete(a);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    loseNextCommitAnswer: () => (armed = true),
    cut: () => cutDone,
    down: () => {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
