import { z } from 'zod';
import { route, type Route } from '../deps.js';
import { WireError, auditToJson, AuditProblemJson, EventsHeaders, EventsQuery } from '../../contract/index.js';
import { writeSseHead } from '../events.js';
import { sent } from '../registry.js';

const events = route({
  method: 'GET',
  path: '/api/events',
  operationId: 'events',
  summary: 'Every committed ledger entry, live, as Server-Sent Events',
  description:
    'Each event is `id: <seq>`, `event: ledger`, `data: <entry as in GET /api/ledger>`. Reconnecting with Last-Event-ID (or ?last_event_id=) first replays the entries after it from the ledger. A comment line is sent every 15 s. `event: gap` names sequences skipped when too many were missed.',
  tag: 'events',
  access: 'viewer',
  query: EventsQuery,
  headers: EventsHeaders,
  response: { status: 200, description: 'an endless event stream', schema: z.never(), alt: [{ contentType: 'text/event-stream', description: 'ledger entries as they commit' }] },
  handler: async ({ query, headers, deps, request, reply }) => {
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
  },
});

const audit = route({
  method: 'GET',
  path: '/api/audit',
  operationId: 'audit',
  summary: 'Replay the whole ledger and compare it with the stored balances',
  description: 'Checks the hash chain, every entry against the ones before it, and every balance, closed period and open reservation. Reads the whole ledger, so it is admin only.',
  tag: 'audit',
  access: 'admin',
  response: {
    status: 200,
    description: 'the audit report (ok false lists each problem)',
    schema: z.object({
      ok: z.boolean(),
      entries: z.int(),
      budgets: z.int(),
      closed_periods: z.int(),
      open_reservations: z.int(),
      head_hash: z.string(),
      problems: z.array(AuditProblemJson),
    }),
  },
  handler: async ({ deps }) => auditToJson(await deps.store.audit()),
});

const openapi = route({
  method: 'GET',
  path: '/api/openapi.json',
  operationId: 'openapi',
  summary: 'This API\'s OpenAPI 3.1 document',
  tag: 'system',
  access: 'public',
  response: { status: 200, description: 'the OpenAPI document', schema: z.record(z.string(), z.unknown()) },
  handler: async ({ deps }) => deps.openapi(),
});

const healthz = route({
  method: 'GET',
  path: '/healthz',
  operationId: 'healthz',
  summary: 'Liveness: the process answers',
  tag: 'system',
  access: 'public',
  response: { status: 200, description: 'up', schema: z.object({ ok: z.literal(true), status: z.literal('up') }) },
  handler: async () => ({ ok: true as const, status: 'up' as const }),
});

const readyz = route({
  method: 'GET',
  path: '/readyz',
  operationId: 'readyz',
  summary: 'Readiness: the store answers (503 store_unavailable otherwise)',
  tag: 'system',
  access: 'public',
  response: { status: 200, description: 'ready', schema: z.object({ ok: z.literal(true), status: z.literal('ready'), store: z.enum(['sqlite', 'postgres']) }) },
  handler: async ({ deps }) => {
    try {
      await deps.store.ping();
    } catch (error) {
      throw new WireError('store_unavailable', `the store does not answer: ${(error as Error).message}`);
    }
    return { ok: true as const, status: 'ready' as const, store: deps.store.kind };
  },
});

const metrics = route({
  method: 'GET',
  path: '/metrics',
  operationId: 'metrics',
  summary: 'Prometheus metrics (text exposition format 0.0.4)',
  description: 'Requests and refusals by surface, route and code; reservation and upstream latency histograms; ledger entries by kind; micros settled; open event streams. Needs no key: it holds counts, never amounts per budget or names.',
  tag: 'system',
  access: 'public',
  response: { status: 200, description: 'metrics', schema: z.never(), alt: [{ contentType: 'text/plain; version=0.0.4', description: 'Prometheus text format' }] },
  handler: async ({ deps, reply }) => {
    void reply.code(200).header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render());
    return sent;
  },
});

export const systemRoutes: Route[] = [events, audit, openapi, healthz, readyz, metrics];
