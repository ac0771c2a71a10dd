import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError } from './errors.js';
import { nestsDeeper, parseJsonText } from './json.js';
import { contractLimits } from './limits.js';

describe('request body JSON', () => {
  it('counts nesting over the text, ignoring brackets inside strings and escaped quotes', () => {
    // Proves the depth bound neither misses real nesting nor counts text that only looks like it.
    expect(nestsDeeper('[[[]]]', 3)).toBe(false);
    expect(nestsDeeper('[[[[]]]]', 3)).toBe(true);
    expect(nestsDeeper(`{"a":"${'['.repeat(500)}","b":"\\"[[[[[["}`, 3)).toBe(false);
    expect(nestsDeeper(`{"a":"\\\\"}${'['.repeat(10)}`, 3)).toBe(true);
  });

  it('finds the depth a character-by-character reading finds, whatever the text', () => {
    // Proves skipping strings by searching for their closing quote reads the same text as
    // reading every character: escaped quotes, runs of backslashes, unclosed strings.
    const reference = (text: string, max: number): boolean => {
      let depth = 0;
      let inString = false;
      for (let i = 0; i < text.length; i += 1) {
        const c = text[i];
        if (inString) {
          if (c === '\\') i += 1;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') {
          depth += 1;
          if (depth > max) return true;
        } else if (c === '}' || c === ']') depth -= 1;
      }
      return false;
    };
    const char = fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', ':', ',', ' ');
    fc.assert(
      fc.property(fc.array(char, { maxLength: 60 }), fc.integer({ min: 0, max: 4 }), (chars, max) => {
        const text = chars.join('');
        expect(nestsDeeper(text, max)).toBe(reference(text, max));
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 6 }), (value, max) => {
        const text = JSON.stringify(value);
        expect(nestsDeeper(text, max)).toBe(reference(text, max));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a body nested 100,000 levels deep with a 400 before any recursive reader sees it', () => {
    // Proves a body built to overflow the stack is a bad request, not a crash.
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const error = (() => {
      try {
        parseJsonText(deep);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(WireError);
    expect((error as WireError).code).toBe('bad_request');
    expect((error as WireError).message).toContain(`${contractLimits.jsonDepthMax} levels`);
    expect(parseJsonText(`${'['.repeat(contractLimits.jsonDepthMax)}${']'.repeat(contractLimits.jsonDepthMax)}`)).toBeInstanceOf(Array);
  });
});
