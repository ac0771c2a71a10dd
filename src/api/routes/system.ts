import { route, type Route } from '../deps.js';
import { adminRoutes, WireError, auditToJson } from '../../contract/index.js';
import { writeSseHead } from '../events.js';
import { sent } from '../registry.js';

const events = route(adminRoutes.events, async ({ query, headers, deps, request, reply }) => {
  // HEAD answers the stream's head and ends; it must not hold a stream open.
  if (request.method === 'HEAD') {
    void reply.code(200).header('content-type', 'text/event-stream; charset=utf-8').send();
    return sent;
  }
  deps.hub.checkCapacity();
  reply.hijack();
  writeSseHead(reply.raw);
  await deps.hub.open(reply.raw, headers['last-event-id'] ?? query.last_event_id);
  return sent;
});

const audit = route(adminRoutes.audit, async ({ query, deps }) => auditToJson(await deps.store.audit({ full: query.full === 'true' })));

const openapi = route(adminRoutes.openapi, async ({ deps }) => deps.openapi());

const healthz = route(adminRoutes.healthz, async () => ({ ok: true as const, status: 'up' as const }));

const readyz = route(adminRoutes.readyz, async ({ deps }) => {
  try {
    await deps.store.ping();
  } catch (error) {
    throw new WireError('store_unavailable', `the store does not answer: ${(error as Error).message}`);
  }
  return { ok: true as const, status: 'ready' as const, store: deps.store.kind };
});

const metrics = route(adminRoutes.metrics, async ({ deps, reply }) => {
  void reply.code(200).header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render());
  return sent;
});

export const systemRoutes: Route[] = [events, audit, openapi, healthz, readyz, metrics];
