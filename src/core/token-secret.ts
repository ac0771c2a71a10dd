import { timingSafeEqual } from 'node:crypto';
import { sha256Hex } from './hash.js';
import { base62, type RandomBytes } from './ids.js';

/** Spend tokens: `bsr_` and 24 base62 characters (about 143 random bits). */
export const tokenSecretPattern = /^bsr_[A-Za-z0-9]{24,64}$/;

export interface NewToken {
  /** Public identifier, safe to log and list. */
  id: string;
  /** The bearer secret: shown once, never stored. */
  secret: string;
  /** SHA-256 of the secret, the only form the store keeps. */
  hash: string;
}

/** What a token id looks like: `tok_` and base62 (12 characters when Bursar makes it). */
export const tokenIdPattern = /^tok_[A-Za-z0-9]{8,40}$/;

/**
 * A fresh spend token from a random source.
 *
 * @example
 * const { id, secret, hash } = newSpendToken((n) => crypto.randomBytes(n));
 */
export function newSpendToken(random: RandomBytes): NewToken {
  const secret = `bsr_${base62(random, 24)}`;
  return { id: `tok_${base62(random, 12)}`, secret, hash: tokenHash(secret) };
}

/** The stored form of a token secret. */
export function tokenHash(secret: string): string {
  return sha256Hex(secret);
}

/**
 * Compares two hex digests without an early exit. (A lookup by hash already reveals nothing
 * useful about a 143-bit secret; this keeps the final check constant-time as well.)
 */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
