import { describe, expect, it } from 'vitest';
import { InvariantError } from '../core/assert.js';
import { bundledCatalog, type PriceEntry } from './catalog.js';
import { priceUsage, worstCaseMicros } from './cost.js';

function entry(name: string): PriceEntry {
  const found = bundledCatalog().models.get(name);
  if (!found) throw new Error(`${name} is not in the catalog`);
  return found;
}

describe('priceUsage', () => {
  it('prices uncached input, cached input and output apart, to the micro', () => {
    // Proves the split: gpt-4o-mini at $0.15 in / $0.075 cached / $0.60 out per million.
    // 1,234 input of which 400 cached, 567 output:
    //   834 × 0.15 = 125.1 → 126; 400 × 0.075 = 30; 567 × 0.60 = 340.2 → 341; total 497.
    const cost = priceUsage(entry('gpt-4o-mini'), { inputTokens: 1_234, cachedTokens: 400, outputTokens: 567 });
    expect(cost).toEqual({ costMicros: 497, inputMicros: 126, cachedMicros: 30, cacheWriteMicros: 0, outputMicros: 341, longContext: false });
  });

  it('rounds each part up, so one token still costs at least a micro', () => {
    // Proves rounding is per part and upward: 1 token at $0.02/M is 0.02 micros → 1.
    const cost = priceUsage(entry('text-embedding-3-small'), { inputTokens: 1, outputTokens: 0 });
    expect(cost.costMicros).toBe(1);
    expect(priceUsage(entry('text-embedding-3-small'), { inputTokens: 0, outputTokens: 0 }).costMicros).toBe(0);
  });

  it('prices Anthropic cache reads, 5-minute and 1-hour writes at their own rates', () => {
    // Proves claude-sonnet-4-5 ($3 in, $0.30 read, $3.75 5m write, $6 1h write, $15 out):
    //   input 10,000 total = 2,000 read + 3,000 5m write + 1,000 1h write + 4,000 plain
    //   4,000 × 3 = 12,000; 2,000 × 0.30 = 600; 3,000 × 3.75 = 11,250; 1,000 × 6 = 6,000;
    //   output 500 × 15 = 7,500; total 37,350.
    const cost = priceUsage(entry('claude-sonnet-4-5'), { inputTokens: 10_000, cachedTokens: 2_000, cacheWriteTokens: 3_000, cacheWrite1hTokens: 1_000, outputTokens: 500 });
    expect(cost).toEqual({ costMicros: 37_350, inputMicros: 12_000, cachedMicros: 600, cacheWriteMicros: 17_250, outputMicros: 7_500, longContext: false });
  });

  it('bills cache writes as plain input when the model has no write price', () => {
    // Proves a null cacheWrite (older OpenAI models) means no surcharge, not free tokens.
    const cost = priceUsage(entry('gpt-4.1'), { inputTokens: 1_000, cacheWriteTokens: 1_000, outputTokens: 0 });
    expect(cost.cacheWriteMicros).toBe(2_000);
    expect(cost.costMicros).toBe(2_000);
  });

  it('switches the whole request to long-context prices above the threshold', () => {
    // Proves gpt-5.6-terra over 272K input: $4 in / $0.40 cached / $18 out for every token.
    //   300,000 input (100,000 cached): 200,000 × 4 = 800,000; 100,000 × 0.40 = 40,000;
    //   1,000 output × 18 = 18,000; total 858,000. At exactly 272,000 the standard prices hold.
    const long = priceUsage(entry('gpt-5.6-terra'), { inputTokens: 300_000, cachedTokens: 100_000, outputTokens: 1_000 });
    expect(long).toEqual({ costMicros: 858_000, inputMicros: 800_000, cachedMicros: 40_000, cacheWriteMicros: 0, outputMicros: 18_000, longContext: true });
    const edge = priceUsage(entry('gpt-5.6-terra'), { inputTokens: 272_000, outputTokens: 0 });
    expect(edge).toMatchObject({ costMicros: 544_000, longContext: false });
  });

  it('applies Haiku 5.5 prompt tiers counting cache reads and writes in the prompt', () => {
    // Proves the 100K threshold uses input + cache reads + writes: 60K read + 50K written is over.
    //   standard: 1,000 × 0.10 = 100, 500 × 0.50 = 250 → 350
    //   long: 60,000 × 0.05 = 3,000; 50,000 × 0.625 = 31,250; 500 × 2.50 = 1,250 → 35,500
    expect(priceUsage(entry('claude-haiku-5-5'), { inputTokens: 1_000, outputTokens: 500 }).costMicros).toBe(350);
    const long = priceUsage(entry('claude-haiku-5-5'), { inputTokens: 110_000, cachedTokens: 60_000, cacheWriteTokens: 50_000, outputTokens: 500 });
    expect(long).toMatchObject({ costMicros: 35_500, inputMicros: 0, longContext: true });
  });

  it('still charges every reported cached and written token when they exceed the input', () => {
    // Proves an inconsistent provider report cannot make the uncached part negative or hide cost.
    const cost = priceUsage(entry('gpt-4o-mini'), { inputTokens: 100, cachedTokens: 400, outputTokens: 0 });
    expect(cost).toMatchObject({ inputMicros: 0, cachedMicros: 30, costMicros: 30 });
  });

  it('crashes on token counts that were never validated', () => {
    // Proves programmer errors (negative, fractional) are assertions, not silent prices.
    expect(() => priceUsage(entry('gpt-4o-mini'), { inputTokens: -1, outputTokens: 0 })).toThrow(InvariantError);
    expect(() => priceUsage(entry('gpt-4o-mini'), { inputTokens: 1.5, outputTokens: 0 })).toThrow(InvariantError);
  });
});

describe('worstCaseMicros', () => {
  it('reserves all input at the input price plus the output cap', () => {
    // Proves gpt-4o-mini, 1,000 in and 500 out max: 150 + 300 = 450 micros.
    expect(worstCaseMicros(entry('gpt-4o-mini'), { inputTokens: 1_000, maxOutputTokens: 500, cacheWrite: false })).toBe(450);
  });

  it('assumes the dearest cache write when the request may write the cache', () => {
    // Proves claude-opus-4-6 input is reserved at $6.25 (5m) or $10 (1h, the default) per million.
    //   2,000 in: 12,500 (5m) or 20,000 (1h) or 10,000 (no cache); 100 out × 25 = 2,500.
    const opus = entry('claude-opus-4-6');
    expect(worstCaseMicros(opus, { inputTokens: 2_000, maxOutputTokens: 100, cacheWrite: false })).toBe(12_500);
    expect(worstCaseMicros(opus, { inputTokens: 2_000, maxOutputTokens: 100, cacheWrite: true })).toBe(15_000);
    expect(worstCaseMicros(opus, { inputTokens: 2_000, maxOutputTokens: 100 })).toBe(22_500);
  });

  it('uses the long-context prices when the estimate is over the threshold', () => {
    // Proves gpt-5.4 over 272K input reserves $5 in and $22.50 out per million.
    //   300,000 × 5 = 1,500,000; 10,000 × 22.5 = 225,000.
    expect(worstCaseMicros(entry('gpt-5.4'), { inputTokens: 300_000, maxOutputTokens: 10_000, cacheWrite: false })).toBe(1_725_000);
  });

  it('is never below the settled cost of the same request', () => {
    // Proves the reservation covers any usage within the request's bounds, cache mix included.
    for (const name of ['gpt-5.6-sol', 'claude-sonnet-5-5', 'claude-haiku-5-5', 'gpt-4o-mini']) {
      const e = entry(name);
      for (const [input, cached, written] of [[5_000, 0, 5_000], [5_000, 4_000, 0], [150_000, 0, 150_000], [300_000, 100_000, 200_000]] as const) {
        const settled = priceUsage(e, { inputTokens: input, cachedTokens: cached, cacheWriteTokens: written, outputTokens: 1_000 }).costMicros;
        expect(worstCaseMicros(e, { inputTokens: input, maxOutputTokens: 1_000 }), `${name} ${input}`).toBeGreaterThanOrEqual(settled);
      }
    }
  });
});
