import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatUsd, groupThousands } from './money.js';

describe('groupThousands', () => {
  it('writes any safe integer as toLocaleString("en-US") does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.integer({ min: -1_000_000, max: 1_000_000 })), (n) => {
        expect(groupThousands(n)).toBe(n.toLocaleString('en-US'));
      }),
      { numRuns: 3_000 },
    );
    for (const n of [0, 7, 999, 1_000, 999_999, 1_000_000, -1_000, Number.MAX_SAFE_INTEGER]) expect(groupThousands(n)).toBe(n.toLocaleString('en-US'));
  });
});

describe('formatUsd', () => {
  it('writes dollars with grouped whole parts and two to six decimals', () => {
    expect(formatUsd(1_234_500)).toBe('$1.2345');
    expect(formatUsd(1_234_567_890_000)).toBe('$1,234,567.89');
    expect(formatUsd(-5_000_000)).toBe('-$5.00');
    expect(formatUsd(1, { symbol: false })).toBe('0.000001');
  });
});
