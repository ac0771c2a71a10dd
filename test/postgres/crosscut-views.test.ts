import { afterAll, describe, expect, inject, it } from 'vitest';
import { balanceAt, BudgetIndex, forecastReport, runPreflight, setScopedLimit, usageReport } from '../../src/ops/index.js';
import { bundledCatalog } from '../../src/pricing/index.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchemas, freshSchema } from './support.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

describe('budgets across the tree in balances, pre-flight, forecast and usage on postgres', () => {
  it('reads the model and provider budgets a chain reaches, and the spend its reservations put on them', async () => {
    // Proves the reads behind the views (every budget, reserve entries with their extra budgets) work on the postgres store as on SQLite.
    const schema = freshSchema('crossviews');
    schemas.add(schema);
    const store = await openPostgresStore({ url, schema });
    try {
      const catalog = bundledCatalog();
      expect((await store.createBudget({ path: 'acme/research/bot', kind: 'agent', createParents: true })).ok).toBe(true);
      expect((await setScopedLimit(store, catalog, { kind: 'model', under: 'acme/research', model: 'gpt-4o*', limitMicros: 3_000_000 })).ok).toBe(true);
      expect((await setScopedLimit(store, catalog, { kind: 'provider', provider: 'openai', limitMicros: 50_000_000 })).ok).toBe(true);
      const held = await store.reserve({ path: 'acme/research/bot', amountMicros: 40_000, labels: { model: 'gpt-4o' }, provider: 'openai' });
      if (!held.ok) throw new Error(held.message);
      expect((await store.settle({ reservationId: held.reservation.id, actualMicros: 25_000 })).ok).toBe(true);

      const balance = await balanceAt(store, 'acme/research/bot');
      expect(balance?.across.map((l) => [l.budget, l.appliesTo, l.remainingMicros])).toEqual([
        ['acme/research/model:gpt-4o*', 'gpt-4o*', 2_975_000],
        ['providers/openai', 'openai', 49_975_000],
      ]);
      const report = await runPreflight(store, catalog, { items: [{ budget: 'acme/research/bot', model: 'gpt-4o', input_tokens: 1_000, max_output_tokens: 1_000, count: 400 }] });
      if ('ok' in report) throw new Error(report.message);
      expect(report.checks.find((c) => c.name === 'budget_availability')?.budget).toBe('acme/research/model:gpt-4o*');
      const forecast = await forecastReport(store, { budget: 'providers/openai' });
      expect(forecast.budgets.map((b) => [b.budget, b.kind, b.windows[2]?.spent_micros])).toEqual([['providers/openai', 'provider', 25_000]]);
      const usage = await usageReport(store, await BudgetIndex.load(store), { groupBy: 'budget', timezone: 'UTC' });
      expect(usage.across.map((r) => [r.key, r.kind, r.cost_micros])).toEqual([
        ['acme/research/model:gpt-4o*', 'model', 25_000],
        ['providers/openai', 'provider', 25_000],
      ]);
    } finally {
      await store.close();
    }
  });
});
