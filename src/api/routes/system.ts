import { route, type Route } from '../deps.js';
import { adminRoutes, auditToJson } from '../../contract/index.js';
import { liveness, metricsContentType, readiness } from '../probes.js';
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

const healthz = route(adminRoutes.healthz, async () => liveness());

const readyz = route(adminRoutes.readyz, async ({ deps }) => readiness(deps.store));

const metrics = route(adminRoutes.metrics, async ({ deps, reply }) => {
  void reply.code(200).header('content-type', metricsContentType).send(deps.metrics.render());
  return sent;
});

export const systemRoutes: Route[] = [events, audit, openapi, healthz, readyz, metrics];
