import type { ZodError } from 'zod';
import bundledJson from './catalog.json' with { type: 'json' };
import { pricingLimits } from './limits.js';
import { catalogFileSchema, describeIssue, overrideFileSchema, priceEntrySchema, readJsonFile, type OverrideFile, type PriceEntry } from './schema.js';

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

/** Why a catalog could not be loaded, with the offending field when there is one. */
export interface PricingLoadError {
  ok: false;
  code: 'pricing_invalid' | 'pricing_unreadable';
  message: string;
  field?: string;
}

/** A loaded catalog, or why it could not be loaded. */
export type PricingLoadResult = { ok: true; catalog: PriceCatalog } | PricingLoadError;

/** Where to find the operator's price corrections, and what to charge for unknown models. */
export interface LoadPricingOptions {
  /** A JSON file of the catalog's shape merged over the bundled catalog. */
  overridePath?: string;
  /** Price for models the catalog does not know; wins over the override file's `defaultPrice`. */
  defaultPrice?: PriceEntry;
}

let bundled: PriceCatalog | undefined;

/**
 * The catalog shipped with Bursar, validated once. An invalid bundled file is a build bug and
 * throws.
 *
 * @example
 * bundledCatalog().models.get('gpt-4o-mini')?.input // 150_000
 */
export function bundledCatalog(): PriceCatalog {
  if (bundled) return bundled;
  const parsed = catalogFileSchema.safeParse(bundledJson);
  if (!parsed.success) throw new Error(`bundled catalog.json is invalid: ${describeIssue(parsed.error).message}`);
  const file = parsed.data;
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

/**
 * Loads the bundled catalog and merges an optional override file over it. Every problem is a
 * result naming the bad field, never an exception.
 *
 * @example
 * const loaded = loadPricing({ overridePath: './prices.json' });
 * if (!loaded.ok) console.error(loaded.message); // e.g. "prices.json: models.gpt-4o.input: must not be negative"
 */
export function loadPricing(options: LoadPricingOptions = {}): PricingLoadResult {
  const base = bundledCatalog();
  let catalog: PriceCatalog = base;
  if (options.overridePath !== undefined) {
    const override = readOverride(options.overridePath);
    if (!override.ok) return override;
    const merged = mergeOverride(base, override.file);
    if (!merged.ok) return { ...merged, message: `${options.overridePath}: ${merged.message}` };
    catalog = merged.catalog;
  }
  if (options.defaultPrice !== undefined) {
    const parsed = priceEntrySchema.safeParse(options.defaultPrice);
    if (!parsed.success) return invalid(parsed.error, 'defaultPrice');
    catalog = { ...catalog, defaultPrice: parsed.data };
  }
  return { ok: true, catalog };
}

function readOverride(path: string): { ok: true; file: OverrideFile } | PricingLoadError {
  const read = readJsonFile(path, pricingLimits.overrideFileBytesMax);
  if (!read.ok) return { ok: false, code: read.why === 'unreadable' ? 'pricing_unreadable' : 'pricing_invalid', message: read.message };
  const json = read.json;
  const parsed = overrideFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = describeIssue(parsed.error);
    return { ok: false, code: 'pricing_invalid', message: `${path}: ${issue.message}`, field: issue.field };
  }
  return { ok: true, file: parsed.data };
}

/** Merges an override over a catalog; a null entry removes the model or alias. */
function mergeOverride(base: PriceCatalog, file: OverrideFile): { ok: true; catalog: PriceCatalog } | PricingLoadError {
  const models = new Map(base.models);
  const aliases = new Map(base.aliases);
  const overridden: string[] = [];
  for (const [name, entry] of Object.entries(file.models ?? {})) {
    overridden.push(name);
    if (entry === null) models.delete(name);
    else models.set(name, entry);
  }
  for (const [name, target] of Object.entries(file.aliases ?? {})) {
    if (target === null) aliases.delete(name);
    else aliases.set(name, target);
  }
  if (models.size > pricingLimits.catalogModelsMax) {
    return { ok: false, code: 'pricing_invalid', message: `more than ${pricingLimits.catalogModelsMax} models`, field: 'models' };
  }
  for (const [name, target] of aliases) {
    if (!models.has(target)) {
      return { ok: false, code: 'pricing_invalid', message: `aliases.${name}: points at "${target}", which is not in the catalog`, field: `aliases.${name}` };
    }
  }
  const catalog: PriceCatalog = {
    readOn: file.readOn ?? base.readOn,
    models,
    aliases,
    defaultPrice: file.defaultPrice ?? base.defaultPrice,
    overridden,
  };
  return { ok: true, catalog };
}

function invalid(error: ZodError, prefix: string): PricingLoadError {
  const issue = describeIssue(error);
  const field = issue.field ? `${prefix}.${issue.field}` : prefix;
  return { ok: false, code: 'pricing_invalid', message: `${prefix}: ${issue.message}`, field };
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
