import type { ZodError } from 'zod';
import { bundledCatalog, type PriceCatalog } from './catalog.js';
import { pricingLimits } from './limits.js';
import { describeIssue, overrideFileSchema, priceEntrySchema, readJsonFile, type OverrideFile, type PriceEntry } from './schema.js';

// A price override is validated with the schemas (and zod); a server with the bundled prices
// only never loads this module.

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
