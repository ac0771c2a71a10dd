import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * This package's version, from its package.json (read once; '0.0.0' if it cannot be read).
 *
 * @example
 * packageVersion() // '0.1.0'
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const parsed = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof parsed.version === 'string' ? parsed.version : '0.0.0';
  } catch {
    cached = '0.0.0';
  }
  return cached;
}
