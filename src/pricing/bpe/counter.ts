import { lookupAsciiRank, lookupRank, noRank, notAscii, type RankTable } from './table.js';

/** Pairs of parts whose joined bytes are not a token. */
const never = 0x7fffffff;

/** Pieces of more than this many bytes merge with a heap (n log n) instead of by scanning (n²). */
export const heapMergeMinBytes = 160;

/** Pieces of at most this many characters are first looked up straight from the string, if ASCII. */
const asciiFastPathCharsMax = 64;

/** Pieces of more than this many characters are encoded into a buffer that is not kept. */
const keptBufferCharsMax = 16_384;

/**
 * Counts the tokens a byte-pair encoding gives text, without building the tokens: the text is
 * pre-split with the encoding's regular expression, each piece is UTF-8 encoded, and a piece that
 * is not a token itself is merged pair by pair (the lowest-ranked adjacent pair first, the
 * leftmost on ties) until no adjacent pair is a token; the parts left are its tokens.
 *
 * Special-token text such as `<|endoftext|>` is counted as plain text. Counts equal
 * gpt-tokenizer's `countTokens(text, { disallowedSpecial: new Set() })`, including its handling
 * of lone surrogates (encoded as U+FFFD, never a whole-piece token) and of a byte-order mark
 * (U+FEFF) at the start of a byte run, which gpt-tokenizer looks up without the mark.
 */
export class BpeCounter {
  private readonly encoder = new TextEncoder();
  private buffer = new Uint8Array(1024);
  private partStarts = new Int32Array(heapMergeMinBytes + 1);
  private pairRanks = new Int32Array(heapMergeMinBytes + 1);

  constructor(
    private readonly table: RankTable,
    private readonly splitPattern: RegExp,
    /** Exposed for tests: pieces of more than this many bytes use the heap merge. */
    private readonly heapFromBytes = heapMergeMinBytes,
  ) {
    if (!splitPattern.global) throw new Error('the split pattern needs the g flag');
  }

  /** Tokens in `text`. */
  count(text: string): number {
    const pattern = this.splitPattern;
    pattern.lastIndex = 0;
    let tokens = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) tokens += this.countPiece(match[0]);
    return tokens;
  }

  /** Tokens in one piece of the pre-split. */
  countPiece(piece: string): number {
    if (piece.length === 1 && piece.charCodeAt(0) < 0x80) return 1; // every byte is a token
    if (piece.length <= asciiFastPathCharsMax) {
      const rank = lookupAsciiRank(this.table, piece);
      if (rank !== notAscii) return rank === noRank ? this.mergeAscii(piece) : 1;
    }
    let data = this.buffer;
    if (piece.length * 3 > data.length) {
      data = new Uint8Array(piece.length * 3);
      if (piece.length <= keptBufferCharsMax) this.buffer = data;
    }
    const length = this.encoder.encodeInto(piece, data).written;
    if (length === 1) return 1;
    if (lookupRank(this.table, data, 0, length) !== noRank && !startsWithMark(data, 0, length) && wellFormed(piece, data, length)) return 1;
    return length > this.heapFromBytes ? this.mergeWithHeap(data, length) : this.mergeByScan(data, length);
  }

  /** Merges an ASCII piece that is not a token (its bytes are its characters). */
  private mergeAscii(piece: string): number {
    const data = this.buffer;
    for (let i = 0; i < piece.length; i += 1) data[i] = piece.charCodeAt(i);
    return piece.length > this.heapFromBytes ? this.mergeWithHeap(data, piece.length) : this.mergeByScan(data, piece.length);
  }

  /**
   * The rank gpt-tokenizer finds for `data[from .. to)`: a slice that is valid UTF-8 is looked up
   * as a decoded string, and decoding drops a leading byte-order mark, so such a slice gets the
   * rank of what follows the mark (no token is stored as a string starting with one).
   */
  private rank(data: Uint8Array, from: number, to: number): number {
    let rank: number;
    if (startsWithMark(data, from, to) && validUtf8(data, from, to)) {
      rank = from + 3 === to || startsWithMark(data, from + 3, to) ? noRank : lookupRank(this.table, data, from + 3, to);
    } else {
      rank = lookupRank(this.table, data, from, to);
    }
    return rank === noRank ? never : rank;
  }

  /** tiktoken's merge loop: scan for the lowest pair rank, merge, update the two neighbours. */
  private mergeByScan(data: Uint8Array, length: number): number {
    if (this.partStarts.length < length + 1) {
      this.partStarts = new Int32Array(length + 1);
      this.pairRanks = new Int32Array(length + 1);
    }
    const starts = this.partStarts;
    const ranks = this.pairRanks;
    for (let i = 0; i <= length; i += 1) {
      starts[i] = i;
      ranks[i] = i + 2 <= length ? this.rank(data, i, i + 2) : never;
    }
    let parts = length; // starts[0 .. parts] bound the parts
    while (parts > 1) {
      let lowest = never;
      let at = -1;
      for (let i = 0; i < parts - 1; i += 1) {
        const rank = ranks[i] as number;
        if (rank < lowest) {
          lowest = rank;
          at = i;
        }
      }
      if (at < 0) break;
      // Part at+1 joins part at: drop its start, and the pair rank that began at it.
      starts.copyWithin(at + 1, at + 2, parts + 1);
      ranks.copyWithin(at, at + 1, parts + 1);
      parts -= 1;
      ranks[at] = at + 2 <= parts ? this.rank(data, starts[at] as number, starts[at + 2] as number) : never;
      if (at > 0) ranks[at - 1] = this.rank(data, starts[at - 1] as number, starts[at + 1] as number);
    }
    return parts;
  }

  /**
   * The same merges in the same order, for long pieces: parts in a linked list, candidate pairs
   * in a min-heap keyed by (rank, start), stale entries skipped when popped. Each part is named by
   * its first byte; `pairRank[s]` is the rank of the current pair starting at part `s`.
   */
  private mergeWithHeap(data: Uint8Array, length: number): number {
    const next = new Int32Array(length + 1);
    const prev = new Int32Array(length + 1);
    const pairRank = new Int32Array(length + 1);
    const heap = new MinHeap(length * 3);
    for (let i = 0; i < length; i += 1) {
      next[i] = i + 1;
      prev[i] = i - 1;
      const rank = i + 2 <= length ? this.rank(data, i, i + 2) : never;
      pairRank[i] = rank;
      if (rank !== never) heap.push(rank * 0x100000000 + i);
    }
    next[length] = length;
    pairRank[length] = never;
    let parts = length;
    while (heap.size > 0) {
      const key = heap.pop();
      const start = key % 0x100000000;
      const rank = (key - start) / 0x100000000;
      if (pairRank[start] !== rank) continue; // stale: the pair at `start` has changed or gone
      // Merge the part after `start` into it.
      const gone = next[start] as number;
      const after = next[gone] as number;
      next[start] = after;
      if (after < length) prev[after] = start;
      pairRank[gone] = never;
      parts -= 1;
      const newRank = after < length ? this.rank(data, start, next[after] as number) : never;
      pairRank[start] = newRank;
      if (newRank !== never) heap.push(newRank * 0x100000000 + start);
      const before = prev[start] as number;
      if (before >= 0) {
        const beforeRank = this.rank(data, before, after);
        pairRank[before] = beforeRank;
        if (beforeRank !== never) heap.push(beforeRank * 0x100000000 + before);
      }
    }
    return parts;
  }
}

/** A binary min-heap of non-negative integers below 2^53. */
class MinHeap {
  private readonly items: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.items = new Float64Array(Math.max(1, capacity));
  }

  push(value: number): void {
    const items = this.items;
    let at = this.size;
    this.size += 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = items[parent] as number;
      if (above <= value) break;
      items[at] = above;
      at = parent;
    }
    items[at] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0] as number;
    this.size -= 1;
    const last = items[this.size] as number;
    const size = this.size;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && (items[child + 1] as number) < (items[child] as number)) child += 1;
      if ((items[child] as number) >= last) break;
      items[at] = items[child] as number;
      at = child;
    }
    items[at] = last;
    return top;
  }
}

function startsWithMark(data: Uint8Array, from: number, to: number): boolean {
  return to - from >= 3 && data[from] === 0xef && data[from + 1] === 0xbb && data[from + 2] === 0xbf;
}

/**
 * Whether the piece had no lone surrogate (which UTF-8 encoding turned into U+FFFD): checked only
 * when the bytes hold U+FFFD, so ordinary text pays nothing.
 */
function wellFormed(piece: string, data: Uint8Array, length: number): boolean {
  let replacement = false;
  for (let i = 0; i + 2 < length; i += 1) {
    if (data[i] === 0xef && data[i + 1] === 0xbf && data[i + 2] === 0xbd) {
      replacement = true;
      break;
    }
  }
  if (!replacement) return true;
  for (let i = 0; i < piece.length; i += 1) {
    const code = piece.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = piece.charCodeAt(i + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return false;
      i += 1;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** Strict UTF-8 validity of `data[from .. to)`: no overlong forms, surrogates or code points past U+10FFFF. */
export function validUtf8(data: Uint8Array, from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    const first = data[i] as number;
    let extra: number;
    let codePoint: number;
    if (first < 0x80) {
      i += 1;
      continue;
    } else if ((first & 0xe0) === 0xc0) {
      if (first < 0xc2) return false;
      extra = 1;
      codePoint = first & 0x1f;
    } else if ((first & 0xf0) === 0xe0) {
      extra = 2;
      codePoint = first & 0x0f;
    } else if ((first & 0xf8) === 0xf0) {
      if (first > 0xf4) return false;
      extra = 3;
      codePoint = first & 0x07;
    } else {
      return false;
    }
    if (i + extra >= to) return false;
    for (let j = 1; j <= extra; j += 1) {
      const byte = data[i + j] as number;
      if ((byte & 0xc0) !== 0x80) return false;
      codePoint = (codePoint << 6) | (byte & 0x3f);
    }
    if ((extra === 2 && codePoint < 0x800) || (extra === 3 && codePoint < 0x10000)) return false;
    if ((codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff) return false;
    i += extra + 1;
  }
  return true;
}
