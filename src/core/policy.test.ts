import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainCap, effectivePolicy, type Policy } from './policy.js';

const cap = fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined });
const policy = fc.record({ maxOutputTokens: cap, requestCapMicros: cap, inflightMax: cap }, { requiredKeys: [] }) as fc.Arbitrary<Policy>;

describe('chainCap', () => {
  it('gives every cap exactly as the effective policy has it, in any chain, whichever end is first', () => {
    // Proves the gateway's per-call shortcut cannot drift from effectivePolicy's rule.
    fc.assert(
      fc.property(fc.array(policy, { maxLength: 6 }), (chain) => {
        const effective = effectivePolicy(chain);
        for (const field of ['maxOutputTokens', 'requestCapMicros', 'inflightMax'] as const) {
          expect(chainCap(chain, field)).toBe(effective[field]);
          expect(chainCap([...chain].reverse(), field)).toBe(effective[field]);
        }
      }),
    );
  });
});
