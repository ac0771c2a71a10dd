import bundledJson from './catalog.json' with { type: 'json' };
import { pricingLimits } from './limits.js';
import type { CatalogFile, PriceEntry } from './schema.js';

export type { PriceEntry } from './schema.js';

/** A validated price catalog: the bundled one, possibly with a user's override merged over it. */
export interface PriceCatalog {
  /** Date the prices were read (the override's, when it gives one). */
  readOn: string;
  models: ReadonlyMap<string, PriceEntry>;
  /** Extra names for catalog entries, e.g. `gpt-5.6` → `gpt-5.6-sol`. */
  aliases: ReadonlyMap<string, string>;
  /** Prices unknown models when configured; otherwise they are refused. */
  defaultPrice: PriceEntry | undefined;
  /** Models the override file added, replaced or removed. */
  overridden: readonly string[];
}

let bundled: PriceCatalog | undefined;

/**
 * The catalog shipped with Bursar. It is part of the build: a test checks it against
 * `catalogFileSchema`, so a server reads it without loading the schemas (or zod); an alias
 * pointing at no model still throws.
 *
 * @example
 * bundledCatalog().models.get('gpt-4o-mini')?.input // 150_000
 */
export function bundledCatalog(): PriceCatalog {
  if (bundled) return bundled;
  const file = bundledJson as CatalogFile;
  for (const [alias, target] of Object.entries(file.aliases ?? {})) {
    if (!(target in file.models)) throw new Error(`bundled catalog.json: alias ${alias} points at missing model ${target}`);
  }
  bundled = {
    readOn: file.readOn,
    models: new Map(Object.entries(file.models)),
    aliases: new Map(Object.entries(file.aliases ?? {})),
    defaultPrice: undefined,
    overridden: [],
  };
  return bundled;
}

/** How a model name was matched to a catalog entry. */
export type ResolvedVia = 'exact' | 'alias' | 'family' | 'default';

/** The catalog entry a model name resolved to, or `model_unpriced`. */
export type ResolveResult =
  | { ok: true; requested: string; model: string; entry: PriceEntry; via: ResolvedVia }
  | { ok: false; code: 'model_unpriced'; requested: string; message: string };

// Suffixes a provider adds to a family name: OpenAI dates, Anthropic dates, moving aliases.
const snapshotSuffixes = [/-\d{4}-\d{2}-\d{2}$/, /-\d{8}$/, /-latest$/];

/**
 * Finds the price entry for a model name: an exact entry first, then an alias, then the family
 * the name is a dated snapshot or `-latest` alias of, then the configured default price.
 *
 * @example
 * resolveModel('gpt-4o-mini-2024-07-18') // { ok: true, model: 'gpt-4o-mini', via: 'family', … }
 * resolveModel('claude-sonnet-4-5-20250929') // { ok: true, model: 'claude-sonnet-4-5', … }
 * resolveModel('my-model') // { ok: false, code: 'model_unpriced', … }
 */
export function resolveModel(name: string, catalog: PriceCatalog = bundledCatalog()): ResolveResult {
  if (name.length === 0 || name.length > pricingLimits.modelNameCharsMax) {
    return { ok: false, code: 'model_unpriced', requested: name, message: 'model name is empty or too long' };
  }
  const exact = lookup(catalog, name);
  if (exact) return { ok: true, requested: name, ...exact };
  let family = name;
  // Bounded: each pass strips one suffix, and there are only so many kinds.
  for (let pass = 0; pass < snapshotSuffixes.length; pass += 1) {
    const stripped = stripSuffix(family);
    if (stripped === family) break;
    family = stripped;
    const found = lookup(catalog, family);
    if (found) return { ok: true, requested: name, model: found.model, entry: found.entry, via: 'family' };
  }
  if (catalog.defaultPrice) return { ok: true, requested: name, model: name, entry: catalog.defaultPrice, via: 'default' };
  return { ok: false, code: 'model_unpriced', requested: name, message: `model "${name}" has no price in the catalog; add it to the pricing override file` };
}

function lookup(catalog: PriceCatalog, name: string): { model: string; entry: PriceEntry; via: 'exact' | 'alias' } | undefined {
  const entry = catalog.models.get(name);
  if (entry) return { model: name, entry, via: 'exact' };
  const target = catalog.aliases.get(name);
  const aliased = target === undefined ? undefined : catalog.models.get(target);
  if (target !== undefined && aliased) return { model: target, entry: aliased, via: 'alias' };
  return undefined;
}

function stripSuffix(name: string): string {
  for (const suffix of snapshotSuffixes) {
    if (suffix.test(name)) return name.replace(suffix, '');
  }
  return name;
}

/**
 * Every model in a catalog, sorted by provider then name (for `bursar pricing list` and
 * `GET /v1/models`).
 *
 * @example
 * listModels().filter((m) => m.entry.kind === 'embedding').map((m) => m.model)
 * // ['text-embedding-3-large', 'text-embedding-3-small']
 */
export function listModels(catalog: PriceCatalog = bundledCatalog()): { model: string; entry: PriceEntry }[] {
  return [...catalog.models.entries()]
    .map(([model, entry]) => ({ model, entry }))
    .sort((a, b) => a.entry.provider.localeCompare(b.entry.provider) || a.model.localeCompare(b.model));
}
