/**
 * Bounds the operations layer enforces, in one place; units last. The ledger's own are core's
 * `limits`.
 *
 * @example
 * if (text.length > opsLimits.fingerprintCharsHashedMax) text = headAndTail(text);
 */
export const opsLimits = {
  /**
   * Characters of a request's canonical text that its fingerprint normalises and hashes; a
   * longer text gives its first and last halves of this, and its full length.
   */
  fingerprintCharsHashedMax: 64 * 1024,
  /** Characters of a fingerprint: 96 bits of SHA-256, in base64url. */
  fingerprintChars: 16,
} as const;
