import fc from 'fast-check';

/**
 * fast-check arbitraries from the JSON Schemas of an OpenAPI document: values shaped like what a
 * route declares (so the fuzzer gets past the first check and into the handler), mixed with
 * values no schema allows (wrong types, boundaries, huge and odd strings). `known` strings (real
 * budget paths, token and reservation ids, models) are offered wherever a string goes, so some
 * requests reach existing things.
 */

export type JsonSchema = Record<string, unknown>;

export interface SchemaContext {
  /** The document's `components.schemas`, for `$ref`s. */
  components: Record<string, JsonSchema>;
  /** Strings worth trying wherever a string is taken. */
  known: () => readonly string[];
  /** Mix values no schema allows in at every level (else only shaped values, to get deeper). */
  wild: boolean;
}

/** Values that break assumptions: boundaries, wrong types, odd and huge text. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(-1, 0, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e-308, 0.5, '', ' ', '0', 'null', 'true', '-1', '1e400', '\u0000', '\u202e', '🙂', '../..', '%00', 'a'.repeat(5_000), null, true, [], {}),
  fc.jsonValue({ maxDepth: 2 }),
);

function resolve(schema: JsonSchema, ctx: SchemaContext): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  return ctx.components[ref.replace('#/components/schemas/', '')] ?? {};
}

function typesOf(schema: JsonSchema): string[] {
  const t = schema.type;
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return typeof t === 'string' ? [t] : [];
}

function stringArb(schema: JsonSchema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  const known = ctx.known();
  const pieces: fc.WeightedArbitrary<unknown>[] = [{ weight: 1, arbitrary: fc.string({ maxLength: 24 }) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) }];
  if (known.length > 0) pieces.push({ weight: ctx.wild ? 1 : 4, arbitrary: fc.constantFrom(...known) });
  if (schema.format === 'date-time') pieces.push({ weight: 2, arbitrary: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()) });
  return fc.oneof(...pieces);
}

function integerArb(schema: JsonSchema, wild: boolean): fc.Arbitrary<unknown> {
  const min = typeof schema.minimum === 'number' ? schema.minimum : -(2 ** 53) + 1;
  const max = typeof schema.maximum === 'number' ? schema.maximum : 2 ** 53 - 1;
  const small = Math.max(min, -1_000_000) <= Math.min(max, 1_000_000) ? fc.integer({ min: Math.max(min, -1_000_000), max: Math.min(max, 1_000_000) }) : fc.integer({ min, max });
  return wild ? fc.oneof(small, fc.constantFrom(min, max, min - 1, max + 1), fc.double()) : fc.oneof({ weight: 4, arbitrary: small }, { weight: 1, arbitrary: fc.constantFrom(min, max) });
}

function objectArb(schema: JsonSchema, ctx: SchemaContext, depth: number): fc.Arbitrary<unknown> {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const shape = Object.fromEntries(Object.entries(props).map(([name, s]) => [name, valueOf(s, ctx, depth + 1)]));
  const shaped = fc.record(shape, { requiredKeys: [] });
  if (!ctx.wild) return shaped;
  // Sometimes a key the schema does not name.
  return fc.oneof({ weight: 5, arbitrary: shaped }, { weight: 1, arbitrary: fc.tuple(shaped, fc.string({ maxLength: 8 }), oddValue).map(([o, k, v]) => ({ ...(o as object), [k]: v })) });
}

/** Values shaped by `schema`, at most a few levels deep. */
function shapedBy(schema: JsonSchema, ctx: SchemaContext, depth: number): fc.Arbitrary<unknown> {
  const s = resolve(schema, ctx);
  if (Array.isArray(s.enum) && s.enum.length > 0) return fc.constantFrom(...(s.enum as unknown[]));
  if ('const' in s) return fc.constant(s.const);
  const alternatives = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) return fc.oneof(...alternatives.map((a) => valueOf(a, ctx, depth)));
  if (depth > 4) return ctx.wild ? oddValue : fc.constant(null);
  const options = typesOf(s).map((type): fc.Arbitrary<unknown> => {
    if (type === 'string') return stringArb(s, ctx);
    if (type === 'integer') return integerArb(s, ctx.wild);
    if (type === 'number') return ctx.wild ? fc.oneof(fc.double(), integerArb(s, true)) : integerArb(s, false);
    if (type === 'boolean') return fc.boolean();
    if (type === 'null') return fc.constant(null);
    if (type === 'array') return fc.array(valueOf((s.items ?? {}) as JsonSchema, ctx, depth + 1), { maxLength: 4 });
    return objectArb(s, ctx, depth);
  });
  if (options.length === 0) return s.properties ? objectArb(s, ctx, depth) : ctx.wild ? oddValue : fc.jsonValue({ maxDepth: 1 });
  return fc.oneof(...options);
}

/**
 * A value for `schema`: shaped by it, and when `ctx.wild`, sometimes anything at all.
 *
 * @example
 * fc.sample(valueOf({ type: 'integer', minimum: 1 }, ctx, 0), 3) // [1, 7, '\u0000']
 */
export function valueOf(schema: JsonSchema, ctx: SchemaContext, depth = 0): fc.Arbitrary<unknown> {
  if (!ctx.wild) return shapedBy(schema, ctx, depth);
  return fc.oneof({ weight: 6, arbitrary: shapedBy(schema, ctx, depth) }, { weight: 1, arbitrary: oddValue });
}

/** A value as it travels in a URL or a header: strings as they are, anything else as JSON. */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
}
