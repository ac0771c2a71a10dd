import { limits } from './limits.js';

/** An amount of money in micro-USD (1 USD = 1,000,000 micros). Always a safe integer. */
export type Micros = number;

export const microsPerUsd = 1_000_000;

/** True when `value` is an integer amount in `[0, amountMicrosMax]`. */
export function isMicros(value: unknown): value is Micros {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= limits.amountMicrosMax;
}

/** True when `value` is a positive integer amount. */
export function isPositiveMicros(value: unknown): value is Micros {
  return isMicros(value) && value > 0;
}

const usdPattern = /^\$?(\d{1,12})(?:\.(\d{1,6}))?$/;

/**
 * Parses a USD amount typed by a person ("5", "5.00", "$0.000001") into micros without
 * touching floating point. Returns undefined for anything else (negative, more than six
 * decimals, thousands separators, exponents).
 *
 * @example
 * parseUsd('5.00') // 5_000_000
 */
export function parseUsd(text: string): Micros | undefined {
  const match = usdPattern.exec(text.trim());
  if (!match) return undefined;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(6, '0'));
  const micros = whole * microsPerUsd + fraction;
  return isMicros(micros) ? micros : undefined;
}

/**
 * Formats micros as USD with at least two decimals and as many more as needed (up to six).
 *
 * @example
 * formatUsd(1_234_500) // '$1.2345'
 */
export function formatUsd(micros: Micros, options: { symbol?: boolean } = {}): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / microsPerUsd);
  let fraction = String(abs % microsPerUsd).padStart(6, '0');
  while (fraction.length > 2 && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  const body = `${groupThousands(whole)}.${fraction}`;
  return `${sign}${options.symbol === false ? '' : '$'}${body}`;
}

/**
 * Cost of `tokens` at a price of `microsPerMillion` micros per million tokens, rounded up
 * to a whole micro. Computed in BigInt so large counts cannot lose precision.
 *
 * @example
 * costMicros(1_000, 150_000) // 150  (1k tokens at $0.15 per million)
 */
export function costMicros(tokens: number, microsPerMillion: number): Micros {
  if (tokens <= 0 || microsPerMillion <= 0) return 0;
  const product = BigInt(tokens) * BigInt(microsPerMillion);
  const million = 1_000_000n;
  return Number((product + million - 1n) / million);
}

/**
 * A whole number with commas between groups of three digits, as `toLocaleString('en-US')`
 * writes it, without Intl (whose number data would be mapped into the process for it).
 *
 * @example
 * groupThousands(1234567) // '1,234,567'
 */
export function groupThousands(n: number): string {
  const digits = String(Math.abs(n));
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return n < 0 ? `-${out}` : out;
}
