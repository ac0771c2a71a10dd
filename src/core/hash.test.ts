import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryHash, entryHashText, genesisHash, isBareEntry } from './hash.js';
import type { EntryDraft } from './types.js';

const fields = (prevHash: string, seq: number, e: EntryDraft): unknown[] => [
  prevHash, seq, e.tsMs, e.kind, e.budgetId, e.amountMicros, e.reservationSeq, e.model, e.tokensIn, e.tokensOut, e.tokensCached,
  e.tokensCacheWrite, e.requestId, e.session, e.task, e.actor, e.reason, e.data,
];

const text = fc.oneof(fc.constant(null), fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', '\ud800', '\udc00', 'é', '😀') }));
const int = fc.oneof(fc.constant(null), fc.integer(), fc.maxSafeInteger());
const draftArb: fc.Arbitrary<EntryDraft> = fc.record({
  tsMs: fc.maxSafeNat(),
  kind: fc.constantFrom<EntryDraft['kind']>('reserve', 'settle', 'void', 'grant'),
  budgetId: fc.nat(),
  amountMicros: fc.maxSafeInteger(),
  reservationSeq: int,
  model: text,
  tokensIn: int,
  tokensOut: int,
  tokensCached: int,
  tokensCacheWrite: int,
  requestId: text,
  session: text,
  task: text,
  actor: text,
  reason: text,
  data: text,
});

describe('entry hash', () => {
  it('hashes exactly the JSON array of the previous hash and every field, for any text and any integer', () => {
    fc.assert(
      fc.property(fc.string(), fc.maxSafeNat(), draftArb, (prev, seq, e) => {
        expect(entryHashText(prev, seq, e)).toBe(JSON.stringify(fields(prev, seq, e)));
      }),
      { numRuns: 500 },
    );
  });

  it('hashes exactly the JSON array for an entry with no usage, request or attribution field (the common shape)', () => {
    const bare = { tokensIn: null, tokensOut: null, tokensCached: null, tokensCacheWrite: null, requestId: null, session: null, task: null, actor: null, reason: null };
    fc.assert(
      fc.property(fc.string(), fc.maxSafeNat(), draftArb, (prev, seq, drawn) => {
        const e: EntryDraft = { ...drawn, ...bare };
        expect(isBareEntry(e)).toBe(true);
        expect(entryHashText(prev, seq, e)).toBe(JSON.stringify(fields(prev, seq, e)));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes each entry of a chain, after the hash just computed, exactly as the JSON array', () => {
    fc.assert(
      fc.property(fc.array(draftArb, { minLength: 2, maxLength: 8 }), (drafts) => {
        let prev = genesisHash;
        drafts.forEach((e, i) => {
          expect(entryHashText(prev, i + 1, e)).toBe(JSON.stringify(fields(prev, i + 1, e)));
          prev = entryHash(prev, i + 1, e);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('gives a settlement without usage written before the text was built field by field the same hash', () => {
    const e: EntryDraft = { tsMs: 1764763200000, kind: 'settle', budgetId: 3, amountMicros: 900, reservationSeq: 7, model: 'gpt-4o-mini', tokensIn: null, tokensOut: null, tokensCached: null, tokensCacheWrite: null, requestId: null, session: null, task: null, actor: null, reason: null, data: '{"reservedMicros":1000}' };
    expect(entryHash(genesisHash, 8, e)).toBe('5e6ae7ff5ad01e40fc96e0a3021da0202710c1e28614216c81012fe6c8951eef');
  });

  it('gives a ledger written before the text was built field by field the same hashes', () => {
    const e: EntryDraft = { tsMs: 1764763200000, kind: 'reserve', budgetId: 3, amountMicros: 1_000, reservationSeq: 7, model: 'gpt-4o-mini', tokensIn: null, tokensOut: null, tokensCached: null, tokensCacheWrite: null, requestId: 'req_1', session: 's "1"', task: null, actor: null, reason: null, data: '{"expiresMs":1764763800000,"onExpiry":"charge"}' };
    expect(entryHash(genesisHash, 7, e)).toBe('216f78e20a5691baefc7feb030e1839bb69bdc1adf24264dbc902e226e3807f1');
  });
});
