import { describe, expect, it } from 'vitest';
import { usedPctOf } from '../contract/index.js';
import { csvField, csvLine, failureLine, table, usageBar, usdExact } from './output.js';

describe('cli output', () => {
  it('formats exact USD for machines without floating point or separators', () => {
    // Proves the export's USD column converts back to the same micros, sign and all.
    expect([usdExact(0), usdExact(1), usdExact(1_234_500), usdExact(1_000_000_000_000_000), usdExact(-2_500_000)]).toEqual([
      '0.000000',
      '0.000001',
      '1.234500',
      '1000000000.000000',
      '-2.500000',
    ]);
  });

  it('rounds use down and draws spent, reserved and free cells', () => {
    // Proves the bar never shows 100% before the allowance is gone, and counts grants in the allowance.
    const b = { limitMicros: 1_000, grantedMicros: 0, spentMicros: 500, reservedMicros: 200 };
    expect(usageBar(b)).toBe('█████▒▒░░░  70%');
    expect(usedPctOf({ ...b, spentMicros: 999, reservedMicros: 0 })).toBe(99);
    expect(usedPctOf({ ...b, grantedMicros: 1_000 })).toBe(35);
    expect(usageBar({ ...b, spentMicros: 1_300 })).toBe('██████████ 150%');
    expect(usageBar({ ...b, limitMicros: null })).toBe('');
    expect(usageBar({ limitMicros: 0, grantedMicros: 0, spentMicros: 0, reservedMicros: 0 })).toBe('██████████ 100%');
  });

  it('quotes CSV fields per RFC 4180 and ends records with CRLF', () => {
    // Proves commas, quotes and line breaks survive a CSV round trip; null is an empty field.
    expect(csvField('a "b", c')).toBe('"a ""b"", c"');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvLine([1, null, 'x'])).toBe('1,,x\r\n');
  });

  it('aligns table columns and trims trailing spaces', () => {
    // Proves human tables line up whatever the cell widths, with right-aligned numbers.
    const text = table([{ header: 'PATH' }, { header: 'SPENT', align: 'right' }, { header: 'NOTE' }], [['acme/research', '$1.00', ''], ['a', '$100.00', 'x']]);
    expect(text.split('\n')).toEqual(['PATH             SPENT  NOTE', 'acme/research    $1.00', 'a              $100.00  x']);
  });

  it('reports a failure on one line with the code, the budget and what remains', () => {
    // Proves error lines stay one line and add the refusing budget only when the message lacks it.
    expect(failureLine({ code: 'budget_exceeded', message: 'over the limit\nby far', budget: 'acme', remainingMicros: 0 })).toBe('bursar: budget_exceeded: over the limit by far (budget acme, remaining $0.00)');
    expect(failureLine({ code: 'budget_closed', message: 'budget acme is closed', budget: 'acme' })).toBe('bursar: budget_closed: budget acme is closed');
  });
});
