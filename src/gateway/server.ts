import type { Server } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errorBody, gatewayError, type GatewayError, type Provider } from './errors.js';
import { limits } from './limits.js';
import { anthropicMessages } from './providers/anthropic-messages.js';
import { openaiChat } from './providers/openai-chat.js';
import { openaiEmbeddings } from './providers/openai-embeddings.js';
import { openaiResponses } from './providers/openai-responses.js';
import { registerAgentRoutes, type AgentRouteOptions } from './agent-routes.js';
import { proxyCall, type Gateway } from './proxy.js';
import { sendError } from './respond.js';
import { balance, modelsRoute } from './routes.js';

export const adapters = [openaiChat, openaiResponses, openaiEmbeddings, anthropicMessages];

function providerOf(url: string): Provider {
  return url.startsWith('/v1/messages') ? 'anthropic' : 'openai';
}

/**
 * Gateway routes called without their `/v1` prefix, which is what a client given the server's
 * bare URL as its base URL sends: each with the provider whose error shape it expects.
 */
const unprefixed: Record<string, { method: 'GET' | 'POST'; provider: Provider }> = {
  '/messages': { method: 'POST', provider: 'anthropic' },
  '/chat/completions': { method: 'POST', provider: 'openai' },
  '/responses': { method: 'POST', provider: 'openai' },
  '/embeddings': { method: 'POST', provider: 'openai' },
  '/models': { method: 'GET', provider: 'openai' },
};

/** The 404 for a request no route answers, saying where the route is when only `/v1` is missing. */
function notFound(req: FastifyRequest): { provider: Provider; error: GatewayError } {
  const path = req.url.split('?')[0] ?? '';
  const origin = typeof req.headers.host === 'string' ? `http://${req.headers.host}` : 'http://<host>:<port>';
  if (path === '/v1/v1/messages' && req.method === 'POST') {
    return { provider: 'anthropic', error: gatewayError('not_found', `no route POST ${path}: the official @anthropic-ai/sdk adds /v1 itself, so give it the base URL ${origin} (without /v1)`) };
  }
  const route = unprefixed[path];
  if (route === undefined || route.method !== req.method) return { provider: providerOf(req.url), error: gatewayError('not_found', `no route ${req.method} ${path}`) };
  const provider = path === '/models' && typeof req.headers['anthropic-version'] === 'string' ? 'anthropic' : route.provider;
  const sdks =
    route.provider === 'anthropic'
      ? `give clients that append /messages themselves (@ai-sdk/anthropic) the base URL ${origin}/v1; the official @anthropic-ai/sdk takes ${origin} and adds /v1 itself`
      : `give OpenAI clients (openai, @ai-sdk/openai, LangChain, the OpenAI Agents SDK) the base URL ${origin}/v1`;
  return { provider, error: gatewayError('not_found', `no route ${req.method} ${path}: the gateway's routes are under /v1/, so call ${req.method} /v1${path}; ${sdks}`) };
}

/** Maps framework errors (body too large, wrong content type, unparseable) to provider-shaped refusals. */
function frameworkError(error: { code?: string; statusCode?: number; message: string }): GatewayError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return gatewayError('payload_too_large', `the request body is larger than ${limits.bodyBytesMax} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return gatewayError('unsupported_media_type', 'send the request body as JSON with "Content-Type: application/json"');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return gatewayError('bad_request', 'the request body is empty or its length is wrong');
    default:
      return error.statusCode !== undefined && error.statusCode < 500 ? gatewayError('bad_request', error.message) : gatewayError('upstream_error', 'internal error');
  }
}

/**
 * The Bursar HTTP server: the gateway routes, and whatever `plugins` add (the admin API, the
 * dashboard). Bodies of gateway routes arrive as raw bytes; the proxy parses them itself so
 * every refusal keeps the provider's error shape.
 */
export async function buildServer(g: Gateway, plugins: ((app: FastifyInstance) => Promise<void>)[] = [], agent: AgentRouteOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: limits.bodyBytesMax,
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
  for (const adapter of adapters) {
    app.post(adapter.route, async (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      await proxyCall(g, adapter, req.headers, req.body as Buffer, reply.raw);
    });
  }
  app.get('/v1/models', async (req, reply) => {
    reply.hijack();
    await modelsRoute(g, req.headers, reply.raw);
  });
  app.get('/v1/bursar/balance', async (req, reply) => {
    reply.hijack();
    await balance(g, req.headers, reply.raw);
  });
  registerAgentRoutes(app, g, agent);
  app.setErrorHandler((error: { code?: string; statusCode?: number; message: string }, req, reply) => {
    const e = frameworkError(error);
    void reply.code(e.status).header('x-bursar-code', e.code).send(errorBody(providerOf(req.url), e));
  });
  app.setNotFoundHandler((req, reply) => {
    const { provider, error } = notFound(req);
    void reply.code(404).header('x-bursar-code', error.code).send(errorBody(provider, error));
  });
  for (const plugin of plugins) await plugin(app);
  return app;
}

export { sendError };
export type { Server };
