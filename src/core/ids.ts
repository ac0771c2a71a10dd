const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Source of random bytes; tests inject a seeded one. */
export type RandomBytes = (size: number) => Uint8Array;

/**
 * `length` uniformly random letters and digits drawn from `random` (rejection sampling, so no
 * character is likelier than another).
 *
 * @example
 * base62(randomBytes, 22) // 'q3XbG0…' (about 131 bits)
 */
export function base62(random: RandomBytes, length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of random(length * 2)) {
      if (byte >= 248) continue; // 248 = 4 * 62: keep the draw uniform
      out += alphabet[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * Wraps a random source so small draws come from one larger buffer refilled as needed:
 * one system call per few hundred secrets instead of one each.
 */
export function pooledRandom(source: (size: number) => Uint8Array, poolBytes = 8_192): RandomBytes {
  let pool = source(poolBytes);
  let offset = 0;
  return (size: number) => {
    if (size > poolBytes) return source(size);
    if (offset + size > pool.length) {
      pool = source(poolBytes);
      offset = 0;
    }
    const out = pool.subarray(offset, offset + size);
    offset += size;
    return out;
  };
}
