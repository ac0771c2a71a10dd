import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { limits as coreLimits } from '../core/index.js';
import { pricingLimits } from './limits.js';

/** A price in integer micro-USD per million tokens. */
const priceMicros = z
  .number()
  .int('must be a whole number of micros per million tokens (e.g. 2500000 for $2.50/M)')
  .nonnegative('must not be negative')
  .max(pricingLimits.priceMicrosPerMillionMax, `must be at most ${pricingLimits.priceMicrosPerMillionMax}`);

const source = z.strictObject({
  url: z.url('must be a URL'),
  readOn: z.iso.date('must be a date like 2026-11-22'),
  note: z.string().max(2_000).optional(),
});

/** Prices that replace the standard ones for the whole request above an input-size threshold. */
const longContext = z.strictObject({
  inputTokensAbove: z.number().int().positive().max(coreLimits.tokensPerRequestMax),
  input: priceMicros,
  output: priceMicros,
  cachedInput: priceMicros.nullable(),
  cacheWrite: priceMicros.nullable(),
  cacheWrite1h: priceMicros.nullable().optional(),
});

/**
 * One model's prices, exactly as stored in catalog.json or an override file.
 *
 * @example
 * priceEntrySchema.safeParse({ provider: 'openai', kind: 'chat', input: 150_000, output: 600_000, cachedInput: 75_000, cacheWrite: null, maxOutputTokens: 16_384 }).success // true
 */
export const priceEntrySchema = z.strictObject({
  provider: z.enum(['openai', 'anthropic']),
  kind: z.enum(['chat', 'embedding']),
  input: priceMicros,
  output: priceMicros,
  /** OpenAI cached input, Anthropic cache read; null when the model gives no discount. */
  cachedInput: priceMicros.nullable(),
  /** Anthropic 5-minute cache write or OpenAI cache-write surcharge; null when writes bill as input. */
  cacheWrite: priceMicros.nullable(),
  /** Anthropic 1-hour cache write. */
  cacheWrite1h: priceMicros.nullable().optional(),
  maxOutputTokens: z.number().int().nonnegative().max(pricingLimits.maxOutputTokensMax),
  longContext: longContext.optional(),
  source: source.optional(),
});

const modelName = z.string().min(1).max(pricingLimits.modelNameCharsMax);

/**
 * The bundled catalog: a date, optional aliases and sources, and the models.
 *
 * @example
 * catalogFileSchema.parse(bundledJson).readOn // '2026-11-22'
 */
export const catalogFileSchema = z.strictObject({
  $comment: z.string().optional(),
  readOn: z.iso.date('must be a date like 2026-11-22'),
  aliases: z.record(modelName, modelName).optional(),
  sources: z.record(z.string(), source).optional(),
  models: z.record(modelName, priceEntrySchema),
});

/**
 * A user's override file: the same shape, every part optional. A model set to null is removed
 * (so it is refused as unpriced); `defaultPrice` prices unknown models when present.
 *
 * @example
 * overrideFileSchema.parse({ models: { 'gpt-4o': null } }) // removes gpt-4o from the catalog
 */
export const overrideFileSchema = z.strictObject({
  $comment: z.string().optional(),
  readOn: z.iso.date('must be a date like 2026-11-22').optional(),
  aliases: z.record(modelName, modelName.nullable()).optional(),
  sources: z.record(z.string(), source).optional(),
  models: z.record(modelName, priceEntrySchema.nullable()).optional(),
  defaultPrice: priceEntrySchema.optional(),
});

/** One model's prices in integer micros per million tokens (see `priceEntrySchema`). */
export type PriceEntry = z.infer<typeof priceEntrySchema>;
/** The bundled catalog.json, validated. */
export type CatalogFile = z.infer<typeof catalogFileSchema>;
/** A user's override file, validated. */
export type OverrideFile = z.infer<typeof overrideFileSchema>;

/**
 * The first problem zod found, as `path.to.field: what is wrong`.
 *
 * @example
 * describeIssue(error) // { field: 'models.gpt-4o.input', message: 'models.gpt-4o.input: must not be negative' }
 */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '', message: 'invalid' };
  const field = issue.path.map(String).join('.');
  return { field, message: field ? `${field}: ${issue.message}` : issue.message };
}

/**
 * A JSON file read whole, when it is no larger than `bytesMax`: the parsed value, or why not
 * (`unreadable`: missing or not permitted; `invalid`: too large or not JSON), with a message
 * naming the file.
 *
 * @example
 * const read = readJsonFile('./prices.json', 1024 * 1024);
 * if (!read.ok) console.error(read.message);
 */
export function readJsonFile(path: string, bytesMax: number): { ok: true; json: unknown } | { ok: false; why: 'unreadable' | 'invalid'; message: string } {
  let text: string;
  try {
    if (statSync(path).size > bytesMax) return { ok: false, why: 'invalid', message: `${path}: larger than ${bytesMax} bytes` };
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, why: 'unreadable', message: `${path}: ${(error as Error).message}` };
  }
  try {
    return { ok: true, json: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, why: 'invalid', message: `${path}: not valid JSON (${(error as Error).message})` };
  }
}
