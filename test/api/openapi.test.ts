import { randomBytes } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, apiRoutes } from '../../src/api/index.js';
import { buildServer, createGateway, Upstream } from '../../src/gateway/index.js';
import { bundledCatalog } from '../../src/pricing/index.js';
import { openSqliteStore, type Store } from '../../src/store/index.js';
import { adminKey, viewerKey } from './api-harness.js';

type Json = Record<string, unknown>;

/** Every `$ref` in a document (a loop over a stack). */
function refsIn(doc: unknown): string[] {
  const refs: string[] = [];
  const stack = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...(node as unknown[]));
    else if (node !== null && typeof node === 'object') {
      const obj = node as Json;
      if (typeof obj.$ref === 'string') refs.push(obj.$ref);
      stack.push(...Object.values(obj));
    }
  }
  return refs;
}

function resolve(doc: Json, ref: string): unknown {
  let at: unknown = doc;
  for (const part of ref.replace(/^#\//, '').split('/')) at = (at as Json | undefined)?.[part];
  return at;
}

describe('GET /api/openapi.json', () => {
  let app: FastifyInstance;
  let store: Store;
  let upstream: Upstream;
  let doc: Json;
  const registered: { method: string; url: string }[] = [];

  beforeAll(async () => {
    store = openSqliteStore({ path: ':memory:' });
    upstream = new Upstream({ openaiBaseUrl: 'http://127.0.0.1:9/v1', anthropicBaseUrl: 'http://127.0.0.1:9', openaiApiKey: undefined, anthropicApiKey: undefined, timeoutMs: 1_000 });
    // A first plugin records every route registered after it: the admin API's, as fastify sees them.
    const recorder = async (instance: FastifyInstance) => {
      instance.addHook('onRoute', (r) => {
        for (const method of [r.method].flat()) registered.push({ method, url: r.url });
      });
    };
    app = await buildServer(createGateway({ store, pricing: bundledCatalog(), upstream, mode: 'enforce', now: () => store.now(), random: (n) => randomBytes(n) }), [recorder, adminApi({ store, keys: { admin: [adminKey], viewer: [viewerKey] } })]);
    const res = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<Json>();
  });
  afterAll(async () => {
    await app.close();
    await upstream.close();
    await store.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    // Proves the generated document passes the OpenAPI 3.1 schema, and needs no key to fetch.
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('lists every registered route, and nothing that is not registered', async () => {
    // Proves the document cannot drift from the server: the registry, fastify's routes and the paths agree.
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const documented = Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(apiRoutes.map((r) => `${r.method} ${r.path}`).sort());
    const served = registered
      .filter((r) => r.method !== 'HEAD' && (r.url.startsWith('/api/') || ['/healthz', '/readyz', '/metrics'].includes(r.url)))
      .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
    expect(served.sort()).toEqual(documented.sort());
    const operationIds = documented.map((d) => {
      const [method = '', path = ''] = d.split(' ');
      return paths[path]?.[method.toLowerCase()]?.operationId;
    });
    expect(new Set(operationIds).size).toBe(operationIds.length);
  });

  it('resolves every $ref, and describes auth, parameters and errors on each operation', async () => {
    // Proves the document is usable by clients: references resolve, keys are declared, bodies and errors have schemas.
    for (const ref of refsIn(doc)) expect(resolve(doc, ref), ref).toBeDefined();
    const paths = doc.paths as Record<string, Record<string, { security: unknown[]; parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>>;
    const budget = paths['/api/budgets/{path}']?.patch;
    expect(budget?.security).toEqual([{ adminKey: [] }]);
    expect(budget?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['path:path', 'header:x-bursar-actor', 'header:idempotency-key']);
    expect(Object.keys(budget?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409']));
    expect(paths['/healthz']?.get?.security).toEqual([]);
    const ledger = paths['/api/ledger']?.get;
    expect(ledger?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['budget', 'agent', 'session', 'task', 'model', 'kind', 'since', 'until', 'cursor', 'limit', 'order', 'format']));
    expect(Object.keys((ledger?.responses['200'] as { content: Json }).content)).toEqual(['application/json', 'text/csv']);
    const schemas = (doc.components as { schemas: Json }).schemas;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['Budget', 'LedgerEntry', 'Token', 'Reservation', 'Error', 'BudgetTreeNode']));
  });
});
