import type { Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { wireErrorOfThrown } from '../contract/index.js';
import { StoreUnavailableError } from '../store/index.js';
import { errorBody, gatewayError, type GatewayError, type Provider } from './errors.js';
import { gatewayLimits } from './limits.js';
import { adapters } from './providers/index.js';
import { proxyCall, type Gateway } from './proxy.js';
import { answering, sendError, stderrLog, type ErrorLog } from './respond.js';
import { modelsRoute } from './routes.js';

function providerOf(url: string): Provider {
  return url.startsWith('/v1/messages') ? 'anthropic' : 'openai';
}

/** Framework errors (body too large, wrong content type, unparseable) as provider-shaped refusals, by the one mapping. */
function frameworkError(error: unknown, log: ErrorLog): GatewayError {
  return wireErrorOfThrown(error, { bodyBytesMax: gatewayLimits.bodyBytesMax, isStoreDown: (e) => e instanceof StoreUnavailableError, log });
}

/**
 * The Bursar HTTP server: the provider-compatible routes, and whatever `plugins` add (the admin
 * API, the agent routes, the dashboard). Bodies of gateway routes arrive as raw bytes; the proxy
 * parses them itself so every refusal keeps the provider's error shape.
 */
export async function buildServer(g: Gateway, plugins: ((app: FastifyInstance) => Promise<void>)[] = [], options: { onError?: ErrorLog } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: gatewayLimits.bodyBytesMax,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: true,
    // Malformed HTTP (CR/LF in a header, bad framing): a JSON 400, never a crash.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const body = JSON.stringify(errorBody('openai', gatewayError('bad_request', `malformed HTTP request (${error.code ?? 'parse error'})`)));
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // Hijacked routes answer through `answering`, so a failure (the store gone) is a refusal, never a hang.
  const log = options.onError ?? stderrLog;
  const hijacked = (route: string, provider: (req: FastifyRequest) => Provider, work: (req: FastifyRequest, res: ServerResponse) => Promise<void>) => async (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    const onRefused = (e: GatewayError) => g.onCall?.({ route, status: e.status, code: e.code });
    await answering(reply.raw, provider(req), () => work(req, reply.raw), { log, onRefused });
  };
  for (const adapter of adapters) {
    app.post(adapter.route, hijacked(adapter.route, () => adapter.provider, (req, res) => proxyCall(g, adapter, req.headers, req.body as Buffer, res)));
  }
  const modelsProvider = (req: FastifyRequest): Provider => (typeof req.headers['anthropic-version'] === 'string' ? 'anthropic' : 'openai');
  app.get('/v1/models', hijacked('/v1/models', modelsProvider, (req, res) => modelsRoute(g, req.headers, res)));
  app.setErrorHandler((error, req, reply) => {
    const e = frameworkError(error, log);
    void reply.code(e.status).header('x-bursar-code', e.code).send(errorBody(providerOf(req.url), e));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = gatewayError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`);
    void reply.code(404).send(errorBody(providerOf(req.url), e));
  });
  for (const plugin of plugins) await plugin(app);
  return app;
}

export { sendError };
export type { Server };
