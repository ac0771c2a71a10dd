import { afterAll, describe, expect, inject, it } from 'vitest';
import { startServer } from '../../src/server/index.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { raceOnModelBudget } from '../gateway/model-budget-race.js';
import { dropSchemas, freshSchema } from './support.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

describe('a model sub-budget through the gateway on PostgreSQL', () => {
  it('admits exactly 37 of 200 concurrent SDK calls on a model sub-budget that holds 37, while another model of the team runs', { timeout: 60_000 }, async () => {
    // Proves the sub-limit end to end on PostgreSQL: held in the chain's transaction under the head lock, other models untouched.
    const schema = freshSchema('gw_model');
    schemas.add(schema);
    const store = await openPostgresStore({ url, schema });
    const server = await startServer({ port: 0, store, mockUpstream: true, env: {} });
    try {
      for (const [path, kind, limitMicros] of [['acme', 'org', 100_000_000], ['acme/research', 'team', 50_000_000]] as const) {
        expect((await store.createBudget({ path, kind, limitMicros })).ok).toBe(true);
      }
      expect((await store.createBudget({ path: 'acme/research/bot', kind: 'agent', policy: { inflightMax: 1_000, burnLimits: [], loopLimit: 'off' } })).ok).toBe(true);
      await raceOnModelBudget(server);
    } finally {
      await server.close();
    }
  });
});
