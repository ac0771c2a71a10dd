import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCredits, formatMoney, formatTokens, formatUsd, parseMoney, usd } from './money.js';

describe('money on the page', () => {
  it('shows cents from a dollar and three significant digits below, rounding half up', () => {
    // Proves the display rules on integer micros, including the seed's examples ($0.12, $0.008).
    expect(formatUsd(1_234_500_000)).toBe('$1,234.50');
    expect(formatUsd(120_000)).toBe('$0.12');
    expect(formatUsd(8_000)).toBe('$0.008');
    expect(formatUsd(2_570)).toBe('$0.00257');
    expect(formatUsd(1)).toBe('$0.000001');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(1_005_000)).toBe('$1.01');
    expect(formatUsd(-2_500_000)).toBe('-$2.50');
  });

  it('shows credits at the configured rate', () => {
    // Proves the credits unit: 1 credit = $0.01 is 10,000 micros; hundredths at most.
    expect(formatCredits(12_345_000, 10_000)).toBe('1,234.50 cr');
    expect(formatCredits(5_000_000, 10_000)).toBe('500 cr');
    expect(formatMoney(5_000_000, { kind: 'credits', microsPerCredit: 10_000 })).toBe('500 cr');
    expect(formatMoney(5_000_000, usd)).toBe('$5.00');
  });

  it('parses what a person types into exact integer micros, and says what is wrong otherwise', () => {
    // Proves inputs never pass through a float: every six-decimal amount parses to its exact micros.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999_999_999 }), (micros) => {
        const text = `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
        expect(parseMoney(text, usd)).toEqual({ ok: true, micros });
      }),
    );
    expect(parseMoney('$1,000', usd)).toEqual({ ok: true, micros: 1_000_000_000 });
    expect(parseMoney('12.5', usd)).toEqual({ ok: true, micros: 12_500_000 });
    expect(parseMoney('500', { kind: 'credits', microsPerCredit: 10_000 })).toEqual({ ok: true, micros: 5_000_000 });
    expect(parseMoney('0.5', { kind: 'credits', microsPerCredit: 3 })).toMatchObject({ ok: false, message: expect.stringMatching(/too many decimals/) as unknown });
    expect(parseMoney('1.0000001', usd)).toMatchObject({ ok: false });
    expect(parseMoney('-3', usd)).toMatchObject({ ok: false, message: expect.stringMatching(/like 12\.50/) as unknown });
    expect(parseMoney('', usd)).toMatchObject({ ok: false });
  });

  it('shows token counts with grouping, and millions short', () => {
    // Proves the tokens display of the cards ("Tokens: 4,234").
    expect(formatTokens(4_234)).toBe('4,234');
    expect(formatTokens(12_400_000)).toBe('12.4M');
  });
});
