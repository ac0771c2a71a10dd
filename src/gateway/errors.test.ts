import { describe, expect, it } from 'vitest';
import { codeTable, isLedgerCode, wireCodes } from '../contract/index.js';
import { refuse } from '../core/index.js';
import { fromRefusal } from './errors.js';

describe('gateway refusals', () => {
  it('answer every ledger code with the table\'s status, never a default', () => {
    // Proves no ledger code reaches a client of the gateway as a silent 400: each keeps the status every other door gives it.
    for (const code of wireCodes.filter(isLedgerCode)) {
      const e = fromRefusal(refuse(code, 'refused', { budget: 'acme', remainingMicros: 0 }));
      expect([code, e.status]).toEqual([code, codeTable[code].status]);
    }
  });
});
