/**
 * Money on the page. Amounts arrive from the API as integer micro-USD and stay integers here;
 * only the text shown is decimal. Inputs are parsed from text straight to integer micros,
 * never through a float.
 */

export const microsPerUsd = 1_000_000;

/** How amounts are shown: US dollars, or credits worth `microsPerCredit` micros each. */
export interface Unit {
  kind: 'usd' | 'credits';
  microsPerCredit: number;
}

export const usd: Unit = { kind: 'usd', microsPerCredit: 10_000 };

const grouping = /\B(?=(\d{3})+(?!\d))/g;

/** `abs / scale` rounded half up, in integers. */
function roundDiv(abs: number, scale: number): number {
  const q = Math.floor(abs / scale);
  return (abs - q * scale) * 2 >= scale ? q + 1 : q;
}

/** A non-negative integer count of `10^-decimals` units as text with grouped thousands. */
function decimalText(units: number, decimals: number): string {
  const text = String(units).padStart(decimals + 1, '0');
  const whole = text.slice(0, text.length - decimals).replace(grouping, ',');
  return decimals === 0 ? whole : `${whole}.${text.slice(text.length - decimals)}`;
}

/** Drops trailing zeros after the second decimal: 0.1200 → 0.12, 0.008000 → 0.008. */
function trimZeros(text: string): string {
  return text.replace(/(\.\d\d\d*?)0+$/, '$1');
}

/**
 * Micros as US dollars: cents from $1; below a dollar three significant digits, so small
 * costs stay readable ($0.00257), with trailing zeros dropped down to cents.
 *
 * @example
 * formatUsd(1_234_500_000) // '$1,234.50'
 * formatUsd(8_000)         // '$0.008'
 */
export function formatUsd(micros: number): string {
  const abs = Math.abs(micros);
  // Cents from a dollar; below, three significant digits (six decimals at most).
  const decimals = abs >= microsPerUsd ? 2 : abs >= 100_000 ? 3 : abs >= 10_000 ? 4 : abs >= 1_000 ? 5 : 6;
  const text = trimZeros(decimalText(roundDiv(abs, 10 ** (6 - decimals)), decimals));
  return `${micros < 0 ? '-' : ''}$${text}`;
}

/**
 * Micros as credits (two decimals at most).
 *
 * @example
 * formatCredits(12_345_000, 10_000) // '1,234.50 cr'
 */
export function formatCredits(micros: number, microsPerCredit: number): string {
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / microsPerCredit);
  const hundredths = whole * 100 + roundDiv((abs - whole * microsPerCredit) * 100, microsPerCredit);
  const text = decimalText(hundredths, 2).replace(/\.00$/, '');
  return `${micros < 0 ? '-' : ''}${text} cr`;
}

/**
 * Micros in the chosen unit.
 *
 * @example
 * formatMoney(5_000_000, { kind: 'credits', microsPerCredit: 10_000 }) // '500 cr'
 */
export function formatMoney(micros: number, unit: Unit): string {
  return unit.kind === 'credits' ? formatCredits(micros, unit.microsPerCredit) : formatUsd(micros);
}

export type Parsed = { ok: true; micros: number } | { ok: false; message: string };

/**
 * An amount typed by a person, to integer micros: `12.50`, `$1,000`, `0.000001` in USD; in
 * credits, a number of credits with at most as many decimals as the credit rate allows.
 *
 * @example
 * parseMoney('12.50', usd) // { ok: true, micros: 12_500_000 }
 */
export function parseMoney(text: string, unit: Unit): Parsed {
  const cleaned = text.trim().replace(/^\$/, '').replace(/,/g, '').replace(/\s*cr$/, '').trim();
  const match = /^(\d{1,12})(?:\.(\d{1,12}))?$/.exec(cleaned);
  const name = unit.kind === 'credits' ? 'credits' : 'US dollars';
  if (!match) return { ok: false, message: `type an amount in ${name}, like ${unit.kind === 'credits' ? '500' : '12.50'}` };
  if ((match[2] ?? '').length > 6) return { ok: false, message: 'too many decimals: six at most' };
  const whole = Number(match[1]);
  const fraction = match[2] ?? '';
  const perUnit = unit.kind === 'credits' ? unit.microsPerCredit : microsPerUsd;
  const scale = 10 ** fraction.length;
  const fractionMicros = (Number(fraction || '0') * perUnit) / scale;
  if (!Number.isInteger(fractionMicros)) return { ok: false, message: `too many decimals: the smallest step is ${unit.kind === 'credits' ? `1 micro-USD (${formatCredits(1, perUnit)})` : '$0.000001'}` };
  const micros = whole * perUnit + fractionMicros;
  if (!Number.isSafeInteger(micros)) return { ok: false, message: 'that amount is too large' };
  return { ok: true, micros };
}

/**
 * A token count with grouped thousands; millions shortened.
 *
 * @example
 * formatTokens(4_234)      // '4,234'
 * formatTokens(12_400_000) // '12.4M'
 */
export function formatTokens(n: number): string {
  if (n >= 10_000_000) return `${decimalText(roundDiv(n, 100_000), 1)}M`;
  return String(n).replace(grouping, ',');
}
