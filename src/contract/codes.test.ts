import { describe, expect, it } from 'vitest';
import { codeTable, isLedgerCode, isWireCode, statusOf, wireCodes } from './codes.js';
import { readFailure } from './error-schemas.js';
import { errorBody, errorHeaders, WireError, type ErrorShape } from './errors.js';

const shapes: ErrorShape[] = ['bursar', 'openai', 'anthropic'];

describe('the code table', () => {
  it('gives every code one status, used by every error shape and read back by the clients', () => {
    // Proves one status per code whatever the door: the status travels with the code, and each shape names it the same way.
    for (const code of wireCodes) {
      const e = new WireError(code, `refused: ${code}`, { field: 'limit_micros', budget: 'acme', remainingMicros: 5 });
      expect(e.status, code).toBe(codeTable[code].status);
      for (const shape of shapes) {
        const read = readFailure(e.status, errorBody(shape, e));
        expect(read, `${code} in the ${shape} shape`).toMatchObject({ status: statusOf(code), code, message: `refused: ${code}`, budget: 'acme', remainingMicros: 5 });
        if (shape !== 'anthropic') expect(read?.field, `${code} in the ${shape} shape`).toBe('limit_micros');
      }
    }
  });

  it('names each code\'s provider error types, so the official SDKs raise the matching typed error', () => {
    // Proves the providers' shapes come from the table, not from a second status-to-type map.
    for (const code of wireCodes) {
      const e = new WireError(code, 'x');
      expect(errorBody('openai', e), code).toMatchObject({ error: { type: codeTable[code].openai, code } });
      expect(errorBody('anthropic', e), code).toMatchObject({ type: 'error', error: { type: codeTable[code].anthropic, code } });
    }
    expect(codeTable.budget_exceeded).toMatchObject({ status: 402, openai: 'insufficient_quota', anthropic: 'billing_error', retryable: false });
    expect(codeTable.store_unavailable).toMatchObject({ status: 503, anthropic: 'overloaded_error', retryable: true });
  });

  it('decides the codes that once had a status per door: credentials 401, unknowns 404, widening 403', () => {
    // Proves the statuses that used to differ between the admin API and the gateway are one now.
    expect([statusOf('token_expired'), statusOf('token_revoked'), statusOf('token_invalid')]).toEqual([401, 401, 401]);
    expect([statusOf('unknown_budget'), statusOf('unknown_token'), statusOf('unknown_reservation')]).toEqual([404, 404, 404]);
    expect(statusOf('policy_widens')).toBe(403);
    expect([statusOf('budget_exists'), statusOf('budget_busy'), statusOf('invalid_status')]).toEqual([409, 409, 409]);
  });

  it('marks what a retry can fix, with a retry-after for the 503s', () => {
    // Proves clients can tell "try again" from "stop" by code alone.
    for (const code of wireCodes) {
      const spec = codeTable[code];
      if (spec.status === 503) expect([code, spec.retryable, errorHeaders(new WireError(code, 'x'))['retry-after']]).toEqual([code, true, spec.retryAfterSDefault]);
      if (spec.status < 500 && spec.status !== 429 && code !== 'budget_busy') expect([code, spec.retryable]).toEqual([code, false]);
    }
    expect(errorHeaders(new WireError('burn_limit', 'cool down', { retryAfterS: 42 }))['retry-after']).toBe(42);
  });

  it('tells ledger codes from the HTTP layer\'s, and unknown strings from both', () => {
    // Proves remote clients can turn a ledger code back into the refusal a local store gives.
    expect([isLedgerCode('budget_exists'), isLedgerCode('unauthorized'), isWireCode('unauthorized'), isWireCode('no_such_code')]).toEqual([true, false, true, false]);
  });
});
