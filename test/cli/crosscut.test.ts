import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDb, type TempDb } from './cli-harness.js';

/** The CLI's side of budgets across the tree: model, tag and provider limits, and the routing flags. */

interface Shown {
  budget: { path: string; kind: string; limit_micros: number | null; period: string; policy: Record<string, unknown> };
  created?: boolean;
}

describe('bursar limits across the tree and routing flags', () => {
  let t: TempDb;
  beforeEach(async () => {
    t = tempDb();
    await t.ok('agents', 'create', 'acme/research/bot', '--budget-limit', '5', '--parents');
  });
  afterEach(() => t.remove());

  it('sets a model, a tag and a provider limit, creating each budget once and changing it after', async () => {
    // Proves the three commands write ordinary budgets at their paths, list them, and take none for no limit.
    const model = await t.json<Shown>('budgets', 'limit-model', 'acme/research', 'gpt-4o*', '20', '--period', 'day');
    expect([model.created, model.budget.path, model.budget.kind, model.budget.limit_micros, model.budget.period]).toEqual([true, 'acme/research/model:gpt-4o*', 'model', 20_000_000, 'day']);
    const unlimited = await t.json<Shown>('budgets', 'limit-model', 'acme/research', 'gpt-4o*', 'none');
    expect([unlimited.created, unlimited.budget.limit_micros, unlimited.budget.period]).toEqual([false, null, 'day']);
    expect((await t.ok('tags', 'limit', 'customer:42', '3.50')).stdout).toContain('Created tags/customer:42 (tag, active): limit $3.50 per month');
    await t.ok('providers', 'limit', 'anthropic', '100', '--period', 'week');
    expect((await t.json<{ budgets: { path: string }[] }>('tags', 'list')).budgets.map((b) => b.path)).toEqual(['tags/customer:42']);
    expect((await t.ok('providers', 'list')).stdout).toMatch(/anthropic\s+\$0\.00\s+\$0\.00\s+\$100\.00\/week/);
    const store = t.store();
    const r = await store.reserve({ path: 'acme/research/bot', amountMicros: 1_000, labels: { model: 'gpt-4o-mini' }, tags: ['customer:42'], provider: 'anthropic' });
    expect(r.ok).toBe(true);
    expect((await store.getBudget('tags/customer:42'))?.reservedMicros).toBe(1_000);
    await store.close();
    expect((await t.cli('audit', 'verify')).code).toBe(0);
    // budgets show lists the model and provider budgets beside the chain, with what each limits.
    const shown = (await t.ok('budgets', 'show', 'acme/research/bot')).stdout;
    expect(shown).toContain('Calls also reserve on these when their model, tags or provider match:');
    expect(shown).toMatch(/acme\/research\/model:gpt-4o\*\s+model\s+gpt-4o\*\s+active\s+-\s+\$0\.00\s+\$0\.001\s+unlimited/);
    expect(shown).toMatch(/providers\/anthropic\s+provider\s+anthropic\s+active\s+\$100\.00/);
    expect(shown).not.toContain('tags/customer:42');
  });

  it('refuses a bad model glob, tag or provider, and limits that could never apply', async () => {
    // Proves edge validation: usage errors exit 2 before the ledger, what the catalog cannot price exits 1 naming it.
    for (const [args, code] of [
      [['budgets', 'limit-model', 'acme/research', 'gpt/4o', '1'], 'invalid_name'],
      [['tags', 'limit', 'has space', '1'], 'invalid_name'],
      [['providers', 'limit', 'OpenAI', '1'], 'invalid_name'],
      [['tags', 'limit', 'x', '-1'], 'invalid_amount'],
    ] as const) {
      const run = await t.cli(...args);
      expect([run.code, run.stderr.split(':')[1]?.trim()], args.join(' ')).toEqual([2, code]);
    }
    const glob = await t.cli('budgets', 'limit-model', 'acme/research', 'gtp-4o*', '1');
    expect([glob.code, glob.stderr]).toEqual([1, 'bursar: bad_request: no priced model matches gtp-4o*; did you mean gpt-4o?\n']);
    expect((await t.cli('providers', 'limit', 'mistral', '1')).stderr).toBe('bursar: bad_request: the price catalog has no provider mistral; known: anthropic, openai\n');
  });

  it('sets, shows and removes brownout tiers, fallbacks and required tags, and refuses bad ones', async () => {
    // Proves the policy flags on create and update: repeatable, none to remove, checked before and at the ledger.
    await t.ok('budgets', 'create', 'acme/sales', '--brownout', '80:gpt-4o=gpt-4o-mini', '--brownout', '95:gpt-4o-mini=gpt-4.1-nano', '--fallback', 'claude-sonnet-4-5=claude-haiku-4-5', '--require-tags', 'product,env:prod');
    const shown = await t.json<Shown>('budgets', 'show', 'acme/sales');
    expect(shown.budget.policy).toEqual({
      required_tags: ['product', 'env:prod'],
      brownout: [{ at_pct: 80, from: 'gpt-4o', to: 'gpt-4o-mini' }, { at_pct: 95, from: 'gpt-4o-mini', to: 'gpt-4.1-nano' }],
      fallbacks: [{ from: 'claude-sonnet-4-5', to: ['claude-haiku-4-5'] }],
    });
    expect((await t.ok('budgets', 'show', 'acme/sales')).stdout).toContain('brownout 80%:gpt-4o→gpt-4o-mini, 95%:gpt-4o-mini→gpt-4.1-nano');
    const cleared = await t.json<Shown>('agents', 'update', 'acme/research/bot', '--fallback', 'gpt-4o=gpt-4.1-mini');
    expect(cleared.budget.policy.fallbacks).toEqual([{ from: 'gpt-4o', to: ['gpt-4.1-mini'] }]);
    expect((await t.json<Shown>('budgets', 'update', 'acme/sales', '--brownout', 'none', '--fallback', 'none', '--no-require-tags')).budget.policy).toEqual({});
    for (const flag of [['--brownout', '101:gpt-4o=gpt-4o-mini'], ['--brownout', 'gpt-4o=gpt-4o-mini'], ['--fallback', 'gpt-4o'], ['--require-tags', 'a b']]) {
      const run = await t.cli('budgets', 'update', 'acme/sales', ...flag);
      expect([run.code, run.stderr.startsWith(`bursar: invalid_policy: ${flag[0]}: `)], flag.join(' ')).toEqual([2, true]);
    }
    const unpriced = await t.cli('budgets', 'update', 'acme/sales', '--brownout', '90:gpt-4o=my-model');
    expect([unpriced.code, unpriced.stderr]).toEqual([1, 'bursar: invalid_policy: the brownout tier model my-model has no price in the catalog, so a call sent there could not be bounded\n']);
  });
});
