import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledCatalog, listModels, resolveModel, type PriceEntry } from './catalog.js';
import bundledJson from './catalog.json' with { type: 'json' };
import { loadPricing } from './overrides.js';
import { catalogFileSchema } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'bursar-pricing-'));
let counter = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(content: unknown): string {
  const path = join(dir, `override-${(counter += 1)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const cheap: PriceEntry = { provider: 'openai', kind: 'chat', input: 1_000_000, output: 2_000_000, cachedInput: null, cacheWrite: null, maxOutputTokens: 4_096 };

describe('bundled catalog', () => {
  it('is valid, dated, and gives every entry a source read on that date', () => {
    // Proves the shipped catalog passes its own schema (a server reads it without checking) and records where each price came from.
    const parsed = catalogFileSchema.safeParse(bundledJson);
    expect(parsed.success, parsed.error?.issues[0]?.message).toBe(true);
    const catalog = bundledCatalog();
    expect(catalog.readOn).toBe('2026-11-22');
    expect(catalog.models.size).toBeGreaterThan(30);
    for (const [name, entry] of catalog.models) {
      expect(entry.source?.url, name).toMatch(/^https:\/\//);
      expect(entry.source?.readOn, name).toBe('2026-11-22');
      expect(Number.isSafeInteger(entry.input), name).toBe(true);
    }
  });

  it('prices OpenAI and Anthropic chat models and the text-embedding-3 models', () => {
    // Proves the catalog covers both providers and both kinds, with hand-checked prices.
    const mini = bundledCatalog().models.get('gpt-4o-mini');
    expect(mini).toMatchObject({ provider: 'openai', kind: 'chat', input: 150_000, cachedInput: 75_000, output: 600_000, cacheWrite: null });
    expect(bundledCatalog().models.get('claude-sonnet-4-5')).toMatchObject({ provider: 'anthropic', input: 3_000_000, cachedInput: 300_000, cacheWrite: 3_750_000, output: 15_000_000 });
    expect(bundledCatalog().models.get('text-embedding-3-small')).toMatchObject({ kind: 'embedding', input: 20_000, output: 0 });
    expect(bundledCatalog().models.get('text-embedding-3-large')).toMatchObject({ kind: 'embedding', input: 130_000 });
  });

  it('lists models sorted by provider then name', () => {
    // Proves listModels gives a stable order for `bursar pricing list`.
    const names = listModels().map((m) => `${m.entry.provider}/${m.model}`);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });
});

describe('resolveModel', () => {
  it('maps dated snapshots and -latest aliases to their family', () => {
    // Proves providers' dated names price like the family they snapshot.
    const cases: [string, string][] = [
      ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
      ['gpt-4.1-2025-04-14', 'gpt-4.1'],
      ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
      ['claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
      ['claude-opus-4-5-latest', 'claude-opus-4-5'],
    ];
    for (const [name, family] of cases) {
      const resolved = resolveModel(name);
      expect(resolved.ok && [resolved.model, resolved.via], name).toEqual([family, 'family']);
    }
  });

  it('prefers an exact entry over the family', () => {
    // Proves a snapshot priced differently from its family (gpt-4o-2024-05-13) is not under-charged.
    const exact = resolveModel('gpt-4o-2024-05-13');
    expect(exact.ok && [exact.model, exact.via, exact.entry.input]).toEqual(['gpt-4o-2024-05-13', 'exact', 5_000_000]);
    const family = resolveModel('gpt-4o-2024-08-06');
    expect(family.ok && [family.model, family.entry.input]).toEqual(['gpt-4o', 2_500_000]);
  });

  it('follows aliases', () => {
    // Proves `gpt-5.6` (OpenAI's alias for Sol) is priced as gpt-5.6-sol.
    const resolved = resolveModel('gpt-5.6');
    expect(resolved.ok && [resolved.model, resolved.via]).toEqual(['gpt-5.6-sol', 'alias']);
  });

  it('answers model_unpriced for unknown models instead of throwing', () => {
    // Proves fail-closed pricing: an unknown model is a result with a stable code.
    const resolved = resolveModel('my-finetune-v2');
    expect(resolved).toMatchObject({ ok: false, code: 'model_unpriced', requested: 'my-finetune-v2' });
    expect(resolveModel('').ok).toBe(false);
    expect(resolveModel('x'.repeat(300)).ok).toBe(false);
  });

  it('uses the default price for unknown models only when one is configured', () => {
    // Proves defaultPrice is opt-in and never replaces a known model's price.
    const loaded = loadPricing({ defaultPrice: cheap });
    if (!loaded.ok) throw new Error(loaded.message);
    const unknown = resolveModel('my-finetune-v2', loaded.catalog);
    expect(unknown.ok && [unknown.via, unknown.entry.input]).toEqual(['default', 1_000_000]);
    const known = resolveModel('gpt-4o-mini', loaded.catalog);
    expect(known.ok && known.via).toBe('exact');
  });
});

describe('loadPricing with an override file', () => {
  it('merges entries over the bundled catalog, adds new ones and removes nulled ones', () => {
    // Proves operators can correct a price, add a private model and refuse a model they distrust.
    const path = file({
      readOn: '2026-12-01',
      models: {
        'gpt-4o-mini': { ...cheap, input: 200_000 },
        'acme-llm': { ...cheap, provider: 'anthropic' },
        'gpt-4o': null,
      },
      aliases: { acme: 'acme-llm' },
    });
    const loaded = loadPricing({ overridePath: path });
    if (!loaded.ok) throw new Error(loaded.message);
    const { catalog } = loaded;
    expect(catalog.readOn).toBe('2026-12-01');
    expect(catalog.models.get('gpt-4o-mini')?.input).toBe(200_000);
    expect(resolveModel('acme', catalog)).toMatchObject({ ok: true, model: 'acme-llm', via: 'alias' });
    expect(resolveModel('gpt-4o-2024-08-06', catalog).ok).toBe(false);
    expect(catalog.overridden).toEqual(['gpt-4o-mini', 'acme-llm', 'gpt-4o']);
    expect(bundledCatalog().models.get('gpt-4o-mini')?.input).toBe(150_000);
  });

  it('names the bad field when an override entry is invalid', () => {
    // Proves a broken override is refused with a message an operator can act on.
    const path = file({ models: { 'gpt-4o-mini': { ...cheap, input: 1.5 } } });
    const loaded = loadPricing({ overridePath: path });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.code).toBe('pricing_invalid');
    expect(loaded.field).toBe('models.gpt-4o-mini.input');
    expect(loaded.message).toContain('models.gpt-4o-mini.input');
    expect(loaded.message).toContain('whole number of micros');
  });

  it('refuses unknown fields, negative prices and missing fields', () => {
    // Proves the override schema is strict: a typo cannot silently leave a price unset.
    const cases: [unknown, string][] = [
      [{ models: { m: { ...cheap, inptu: 1 } } }, 'models.m'],
      [{ models: { m: { ...cheap, output: -1 } } }, 'models.m.output'],
      [{ models: { m: { ...cheap, provider: 'google' } } }, 'models.m.provider'],
      [{ models: { m: { provider: 'openai' } } }, 'models.m.kind'],
      [{ model: {} }, ''],
    ];
    for (const [content, field] of cases) {
      const loaded = loadPricing({ overridePath: file(content) });
      expect(loaded.ok, JSON.stringify(content)).toBe(false);
      if (!loaded.ok) expect(loaded.field, JSON.stringify(content)).toBe(field);
    }
  });

  it('refuses an alias to a model that is not in the catalog', () => {
    // Proves an alias can never resolve to nothing.
    const loaded = loadPricing({ overridePath: file({ aliases: { fast: 'no-such-model' } }) });
    expect(loaded).toMatchObject({ ok: false, code: 'pricing_invalid', field: 'aliases.fast' });
  });

  it('reports a missing file and invalid JSON as results', () => {
    // Proves file problems are results with codes, not exceptions.
    expect(loadPricing({ overridePath: join(dir, 'missing.json') })).toMatchObject({ ok: false, code: 'pricing_unreadable' });
    expect(loadPricing({ overridePath: file('{ not json') })).toMatchObject({ ok: false, code: 'pricing_invalid' });
  });

  it('validates a configured default price', () => {
    // Proves a bad defaultPrice option is refused and names its field.
    const loaded = loadPricing({ defaultPrice: { ...cheap, input: -5 } });
    expect(loaded).toMatchObject({ ok: false, code: 'pricing_invalid', field: 'defaultPrice.input' });
  });
});
