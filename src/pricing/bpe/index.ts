import { BpeCounter } from './counter.js';
import { loadRankTable, rankFilePath } from './table.js';

export { BpeCounter } from './counter.js';
export { loadRankTable, lookupRank, rankFilePath, type RankTable } from './table.js';

/** The encodings a counter can be loaded for. */
export type BpeEncodingName = 'o200k_base' | 'cl100k_base';

// The pre-split patterns, exactly as gpt-tokenizer 4 writes them (src/encodingParams/constants.ts).
const contractionSuffix = String.raw`'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])`;
const optionalContractionSuffix = String.raw`(?:${contractionSuffix})?`;

/** The pre-split pattern (source, used with the `gu` flags) of each encoding. */
export const splitPatterns: Record<BpeEncodingName, string> = {
  cl100k_base: String.raw`${contractionSuffix}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$|\s*[\r\n]|\s+(?!\S)|\s`,
  o200k_base: String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+${optionalContractionSuffix}|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*${optionalContractionSuffix}|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
};

/**
 * A token counter for `encoding`, reading the rank file gpt-tokenizer ships. Each call loads the
 * table afresh (tens of milliseconds, a few MB): keep the counter.
 */
export function loadBpeCounter(encoding: BpeEncodingName): BpeCounter {
  return new BpeCounter(loadRankTable(rankFilePath(encoding)), new RegExp(splitPatterns[encoding], 'gu'));
}
