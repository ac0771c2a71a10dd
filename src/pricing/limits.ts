/**
 * Bounds the pricing module enforces, in one place (the ledger's own are in src/core/limits.ts).
 * Units come last in each name.
 *
 * @example
 * if (text.length > limits.tokenizeCharsMax) countTheRestByBytes();
 */
export const limits = {
  /** Largest price accepted in a catalog: 10,000 USD per million tokens. */
  priceMicrosPerMillionMax: 10_000_000_000,
  /** Largest output cap a catalog entry may declare. */
  maxOutputTokensMax: 10_000_000,
  /** Largest user override file read. */
  overrideFileBytesMax: 1024 * 1024,
  /** Most models one catalog (bundled plus override) may hold. */
  catalogModelsMax: 10_000,
  /** Longest model name resolved; longer names are unpriced. */
  modelNameCharsMax: 256,
  /**
   * Text tokenized exactly per call; past this, each further UTF-8 byte counts as one token.
   * Ordinary text tokenizes at tens of MB/s, adversarial text (long random letter runs) at about
   * 1 MB/s, so this bounds one request's counting to roughly a second in the worst case.
   */
  tokenizeCharsMax: 1_000_000,
  /**
   * Text is tokenized in segments of at most this many characters, cut before a space that sits
   * between two non-space characters (which leaves the count exact). BPE is quadratic in the
   * length of a run without such a space, so longer runs are cut here regardless.
   */
  tokenizeSegmentCharsMax: 1_024,
  /** JSON nodes visited while collecting a request's text; past this the rest is not read. */
  collectNodesMax: 200_000,
  /** Largest token count any request may report or be estimated at. */
  tokensPerRequestMax: 100_000_000,
} as const;
