/**
 * Token counts of text segments already counted, kept for the next request that sends them
 * again. An agent resends its whole conversation on every call, and the counter cuts text into
 * segments from its start (see `segmentEnd` in tokens.ts), so a conversation that only grew at
 * its end cuts into the same segments as last time up to its old end: those come from here, and
 * only the new text is tokenized. A count read here is the one the counter gave that very text,
 * so counts are the same with or without it.
 *
 * Bounded by the characters it holds (`charsMax`): the least recently used segments go first.
 * Each kept segment is a copy, so that a segment cut out of a large request does not keep the
 * whole request's text alive.
 */
export class SegmentCounts {
  /** Segment text → tokens, least recently used first (a Map keeps insertion order). */
  private readonly counts = new Map<string, number>();
  private chars = 0;
  /** Lookups answered from here, and those that were not (for tests and benchmarks). */
  hits = 0;
  misses = 0;

  constructor(
    /** Most characters held, over all segments. */
    private readonly charsMax: number,
    /** Shorter segments are not kept: counting them costs about what a lookup does. */
    readonly segmentCharsMin: number,
  ) {}

  /** The count of `segment`, counting it with `count` (and keeping it) when it is not here. */
  countOf(segment: string, count: (text: string) => number): number {
    const known = this.counts.get(segment);
    if (known !== undefined) {
      this.hits += 1;
      // Most recently used: moved to the end.
      this.counts.delete(segment);
      this.counts.set(segment, known);
      return known;
    }
    this.misses += 1;
    const tokens = count(segment);
    if (segment.length > this.charsMax) return tokens;
    this.counts.set(ownCopy(segment), tokens);
    this.chars += segment.length;
    for (const [oldest] of this.counts) {
      if (this.chars <= this.charsMax) break;
      this.counts.delete(oldest);
      this.chars -= oldest.length;
    }
    return tokens;
  }

  /** Characters held now. */
  get size(): number {
    return this.chars;
  }

  clear(): void {
    this.counts.clear();
    this.chars = 0;
    this.hits = 0;
    this.misses = 0;
  }
}

/**
 * A copy of `text` that shares no memory with the string it was cut from (V8 keeps a slice of a
 * long string as a view into it). UTF-16 code units go through as they are, lone surrogates included.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}
