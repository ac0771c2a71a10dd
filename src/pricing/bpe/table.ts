import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * A BPE vocabulary in typed arrays: the bytes of every mergeable token concatenated in rank order,
 * where each rank starts, and an open-addressing hash table from byte string to rank. About 4 MB
 * for o200k_base and 2 MB for cl100k_base, instead of a Map of 200k strings.
 */
export interface RankTable {
  /** Every token's bytes, rank 0 first. */
  readonly bytes: Uint8Array;
  /** Token `r` is `bytes[starts[r] .. starts[r + 1])`; `starts.length` is the token count + 1. */
  readonly starts: Uint32Array;
  /** Linear-probing hash table of ranks, -1 for an empty slot; its length is a power of two. */
  readonly slots: Int32Array;
}

/** Sentinel rank of a byte string that is not a token. */
export const noRank = -1;

/** The rank file `name`.tiktoken shipped with gpt-tokenizer (lines of `base64bytes rank`). */
export function rankFilePath(name: string): string {
  const packageJson = createRequire(import.meta.url).resolve('gpt-tokenizer/package.json');
  return join(dirname(packageJson), 'data', `${name}.tiktoken`);
}

/**
 * Loads a `.tiktoken` rank file, read twice in small chunks (once to size the arrays, once to fill
 * them) so no copy of the whole file is ever held. Ranks must run 0, 1, 2, … in file order, as in
 * OpenAI's files.
 */
export function loadRankTable(path: string): RankTable {
  const fd = openSync(path, 'r');
  try {
    const chunk = new Uint8Array(64 * 1024);
    return buildRankTable(function* () {
      let position = 0;
      for (;;) {
        const read = readSync(fd, chunk, 0, chunk.length, position);
        if (read === 0) return;
        position += read;
        yield chunk.subarray(0, read);
      }
    });
  } finally {
    closeSync(fd);
  }
}

/** Parses the whole text of a rank file. */
export function parseRankFile(file: Uint8Array): RankTable {
  return buildRankTable(function* () {
    yield file;
  });
}

const base64Values = (() => {
  const values = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i += 1) values[alphabet.charCodeAt(i)] = i;
  return values;
})();

/** Where parsing stands between chunks; `out` is null on the sizing pass. */
interface ParseState {
  out: { bytes: Uint8Array; starts: Uint32Array } | null;
  inRank: boolean;
  tokenChars: number;
  bits: number;
  buffered: number;
  rank: number;
  digits: number;
  count: number;
  written: number;
  offset: number;
}

function buildRankTable(chunks: () => Iterable<Uint8Array>): RankTable {
  const sizing = parseChunks(chunks, null);
  const out = { bytes: new Uint8Array(sizing.written), starts: new Uint32Array(sizing.count + 1) };
  const filled = parseChunks(chunks, out);
  if (filled.count !== sizing.count || filled.written !== sizing.written) throw new Error('bad rank file: changed while read');
  return withHashTable(out.bytes, out.starts);
}

function parseChunks(chunks: () => Iterable<Uint8Array>, out: ParseState['out']): ParseState {
  const state: ParseState = { out, inRank: false, tokenChars: 0, bits: 0, buffered: 0, rank: 0, digits: 0, count: 0, written: 0, offset: 0 };
  for (const chunk of chunks()) parseChunk(state, chunk);
  if (state.inRank) endLine(state);
  else if (state.tokenChars > 0) throw new Error(`bad rank file: line ${state.count + 1} has no rank`);
  return state;
}

/** Lines of `base64bytes rank`; blank lines are skipped. */
function parseChunk(state: ParseState, chunk: Uint8Array): void {
  const bytes = state.out?.bytes;
  for (let i = 0; i < chunk.length; i += 1) {
    const byte = chunk[i] as number;
    if (state.inRank) {
      if (byte === 10) {
        endLine(state);
      } else {
        const digit = byte - 48;
        if (digit < 0 || digit > 9) throw new Error(`bad rank file: unexpected byte at ${state.offset + i}`);
        state.rank = state.rank * 10 + digit;
        state.digits += 1;
      }
    } else if (byte === 32) {
      state.inRank = true;
    } else if (byte === 10) {
      if (state.tokenChars > 0) throw new Error(`bad rank file: line ${state.count + 1} has no rank`);
    } else {
      state.tokenChars += 1;
      const value = base64Values[byte] as number;
      if (value < 0) continue; // '=' padding
      state.bits = ((state.bits << 6) | value) & 0xffffff;
      state.buffered += 6;
      if (state.buffered >= 8) {
        state.buffered -= 8;
        if (bytes) bytes[state.written] = (state.bits >>> state.buffered) & 0xff;
        state.written += 1;
      }
    }
  }
  state.offset += chunk.length;
}

function endLine(state: ParseState): void {
  if (state.digits === 0 || state.rank !== state.count) {
    throw new Error(`bad rank file: line ${state.count + 1} has rank ${state.digits ? state.rank : 'none'}, expected ${state.count}`);
  }
  state.count += 1;
  if (state.out) state.out.starts[state.count] = state.written;
  state.inRank = false;
  state.tokenChars = 0;
  state.bits = 0;
  state.buffered = 0;
  state.rank = 0;
  state.digits = 0;
}

function withHashTable(bytes: Uint8Array, starts: Uint32Array): RankTable {
  const count = starts.length - 1;
  let capacity = 1;
  while (capacity < count * 2) capacity *= 2;
  const slots = new Int32Array(capacity).fill(noRank);
  const mask = capacity - 1;
  for (let rank = 0; rank < count; rank += 1) {
    const from = starts[rank] as number;
    const to = starts[rank + 1] as number;
    let slot = hashBytes(bytes, from, to) & mask;
    while (slots[slot] !== noRank) {
      if (sameBytes(bytes, from, to, bytes, starts, slots[slot] as number)) throw new Error(`bad rank file: rank ${rank} repeats rank ${slots[slot]}`);
      slot = (slot + 1) & mask;
    }
    slots[slot] = rank;
  }
  return { bytes, starts, slots };
}

/** FNV-1a over `data[from .. to)`. */
export function hashBytes(data: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i += 1) hash = Math.imul(hash ^ (data[i] as number), 0x01000193);
  return hash >>> 0;
}

function sameBytes(data: Uint8Array, from: number, to: number, bytes: Uint8Array, starts: Uint32Array, rank: number): boolean {
  const start = starts[rank] as number;
  if ((starts[rank + 1] as number) - start !== to - from) return false;
  for (let i = from, j = start; i < to; i += 1, j += 1) if (data[i] !== bytes[j]) return false;
  return true;
}

/** The rank of `data[from .. to)`, or `noRank` when it is not a token. */
export function lookupRank(table: RankTable, data: Uint8Array, from: number, to: number): number {
  const { slots, bytes, starts } = table;
  const mask = slots.length - 1;
  let slot = hashBytes(data, from, to) & mask;
  for (;;) {
    const rank = slots[slot] as number;
    if (rank === noRank) return noRank;
    if (sameBytes(data, from, to, bytes, starts, rank)) return rank;
    slot = (slot + 1) & mask;
  }
}

/** What `lookupAsciiRank` returns for a string with a character past U+007F. */
export const notAscii = -2;

/**
 * The rank of an ASCII string's bytes (its character codes), `noRank` when they are not a token,
 * or `notAscii`: saves encoding the many short pieces of ordinary text.
 */
export function lookupAsciiRank(table: RankTable, text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return notAscii;
    hash = Math.imul(hash ^ code, 0x01000193);
  }
  const { slots, bytes, starts } = table;
  const mask = slots.length - 1;
  let slot = (hash >>> 0) & mask;
  for (;;) {
    const rank = slots[slot] as number;
    if (rank === noRank) return noRank;
    const start = starts[rank] as number;
    if ((starts[rank + 1] as number) - start === text.length) {
      let same = true;
      for (let i = 0; i < text.length; i += 1) {
        if (bytes[start + i] !== text.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      if (same) return rank;
    }
    slot = (slot + 1) & mask;
  }
}
