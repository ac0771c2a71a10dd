/**
 * Bounds the operations layer enforces, in one place; units last. The ledger's own are core's
 * `limits`.
 *
 * @example
 * if (spent.nodes > opsLimits.fingerprintNodesMax) return;
 */
export const opsLimits = {
  /** Values of a request a fingerprint reads at most (texts, numbers, list and object headers). */
  fingerprintNodesMax: 4_096,
  /** Items of one list a fingerprint reads: the first and last halves of this, and the length. */
  fingerprintItemsMax: 64,
  /** Characters of one text a fingerprint normalises; a longer one gives its first and last halves, and its length. */
  fingerprintTextCharsMax: 8 * 1024,
  /** Characters of text a fingerprint hashes in all; texts after that count by their length. */
  fingerprintCharsHashedMax: 64 * 1024,
  /** Characters of a fingerprint: 96 bits of SHA-256, in base64url. */
  fingerprintChars: 16,
} as const;
