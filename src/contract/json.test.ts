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
