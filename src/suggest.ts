/**
 * "Did you mean …?" for names people and programs type: agent names, budget paths, model ids.
 * The edit distance is written here rather than taken from a package: it is a dozen lines, and
 * a dependency for it would ship in every install for the sake of one line in a refusal.
 */

/** Bounds of a suggestion, units last. */
export const suggestLimits = {
  /** Longer inputs get no suggestion: the distance costs length × length per candidate. */
  inputCharsMax: 128,
  /** Candidates compared at most (the first ones given). */
  candidatesMax: 10_000,
  /** Suggestions offered at most. */
  suggestionsMax: 3,
} as const;

/**
 * The Levenshtein distance: how many single-character insertions, deletions or substitutions
 * turn `a` into `b`. Two rows of the table, so memory is linear.
 *
 * @example
 * editDistance('gpt-4o-mni', 'gpt-4o-mini') // 1
 */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidates nearest to `input`, ignoring case: those at the smallest distance, if that
 * distance is at most a third of the input's length (and at least 2 edits are allowed), nearest
 * first, at most three. Empty when nothing is near or the input is the candidate itself.
 *
 * @example
 * nearest('market-reseacher', ['market-researcher', 'code-reviewer']) // ['market-researcher']
 */
export function nearest(input: string, candidates: Iterable<string>): string[] {
  if (input.length === 0 || input.length > suggestLimits.inputCharsMax) return [];
  const wanted = input.toLowerCase();
  const allowed = Math.max(2, Math.floor(input.length / 3));
  let best = allowed + 1;
  let found: string[] = [];
  let seen = 0;
  for (const candidate of candidates) {
    seen += 1;
    if (seen > suggestLimits.candidatesMax) break;
    if (candidate === input || Math.abs(candidate.length - input.length) > Math.min(best, allowed) || found.includes(candidate)) continue;
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < best) {
      best = distance;
      found = [candidate];
    } else if (distance === best) {
      found.push(candidate);
    }
  }
  return found.slice(0, suggestLimits.suggestionsMax);
}

/**
 * "; did you mean x?" (or "x or y?") to end a message with, or '' when nothing is near.
 *
 * @example
 * `no agent at market-reseacher${didYouMean('market-reseacher', names)}` // 'no agent at market-reseacher; did you mean market-researcher?'
 */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  return suggestionText(nearest(input, candidates));
}

/**
 * "; did you mean a, b or c?" for names already chosen, or '' for none.
 *
 * @example
 * suggestionText(['test-writer', 'test-writers']) // '; did you mean test-writer or test-writers?'
 */
export function suggestionText(names: readonly string[]): string {
  const last = names.at(-1);
  if (last === undefined) return '';
  return `; did you mean ${names.length === 1 ? last : `${names.slice(0, -1).join(', ')} or ${last}`}?`;
}
