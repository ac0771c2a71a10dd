import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearest, suggestLimits } from './suggest.js';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    // Proves the distance on the textbook cases and on an empty side.
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('gpt-4o-mni', 'gpt-4o-mini')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});

describe('nearest and didYouMean', () => {
  const agents = ['market-researcher', 'code-reviewer', 'test-writer', 'test-writers'];

  it('suggests the nearest names within a third of the input, ignoring case', () => {
    // Proves a typo finds its name, a case slip too, and a far name finds nothing.
    expect(nearest('market-reseacher', agents)).toEqual(['market-researcher']);
    expect(nearest('Code-Reviewer', agents)).toEqual(['code-reviewer']);
    expect(nearest('billing', agents)).toEqual([]);
    expect(nearest('', agents)).toEqual([]);
  });

  it('offers every name at the same smallest distance, at most three', () => {
    // Proves ties are all shown, so the person picks, and the list stays short.
    expect(nearest('test-writer-', agents)).toEqual(['test-writer', 'test-writers']);
    expect(nearest('ab', ['aa', 'bb', 'ac', 'cb', 'ad'])).toHaveLength(suggestLimits.suggestionsMax);
  });

  it('ends a message with one suggestion, several, or nothing', () => {
    // Proves the wording callers append to their refusals.
    expect(didYouMean('market-reseacher', agents)).toBe('; did you mean market-researcher?');
    expect(didYouMean('test-writer-', agents)).toBe('; did you mean test-writer or test-writers?');
    expect(didYouMean('ab', ['aa', 'bb', 'ac'])).toBe('; did you mean aa, bb or ac?');
    expect(didYouMean('billing', agents)).toBe('');
  });

  it('gives no suggestion for an input longer than the bound', () => {
    // Proves the cost of a refusal stays bounded whatever a client sends.
    const long = 'x'.repeat(suggestLimits.inputCharsMax + 1);
    expect(nearest(long, [`${long}y`])).toEqual([]);
  });
});
