/**
 * Bounds the pricing module enforces, in one place (the ledger's own, such as the largest token
 * count of a request, are core's `limits`). Units come last in each name.
 *
 * @example
 * if (text.length > pricingLimits.tokenizeCharsMax) countTheRestByBytes();
 */
export const pricingLimits = {
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
  /**
   * Characters of counted segments kept, per encoding, for requests that send them again (an
   * agent resends its conversation on every call; see `SegmentCounts`): about 4 MB at most.
   */
  segmentCountsCharsMax: 2_000_000,
  /** Segments shorter than this are counted every time: a lookup would cost about as much. */
  segmentCountsSegmentCharsMin: 256,
  /** JSON nodes visited while collecting a request's text; past this the rest is not read. */
  collectNodesMax: 200_000,
} as const;

/**
 * Bounds of tool price tables, units last.
 *
 * @example
 * if (size > toolLimits.fileBytesMax) refuse();
 */
export const toolLimits = {
  /** Largest override file read. */
  fileBytesMax: 256 * 1024,
  /** Most tools one table may list. */
  toolsMax: 1_000,
  /** Highest price of one call of a tool: 10,000 USD. */
  priceMicrosMax: 10_000_000_000,
  /** Largest markup on the standard cost for an unknown tool. */
  unknownMarkupPctMax: 1_000,
} as const;
