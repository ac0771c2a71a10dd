import { describe, expect, it } from 'vitest';
import type { BudgetView, LedgerEntry, TokenView } from '../core/index.js';
import { budgetFromJson, budgetToJson, entryFromJson, entryToJson, tokenFromJson, tokenToJson } from './codecs.js';
import { BudgetJson, LedgerEntryJson, TokenJson } from './schemas.js';

describe('API JSON', () => {
  it('round-trips budgets and ledger entries exactly, and matches the declared schemas', () => {
    // Proves the remote CLI sees what a local one does: view → JSON → view is the identity, to the millisecond.
    const view: BudgetView = { id: 7, parentId: 3, name: 'bot', path: 'acme/bot', kind: 'agent', status: 'paused', limitMicros: 5_000_001, period: 'month', timezone: 'Europe/Amsterdam', periodStartMs: Date.UTC(2026, 0, 1) - 3_600_000, periodEndMs: Date.UTC(2026, 1, 1) - 3_600_000, spentMicros: 1, reservedMicros: 2, grantedMicros: 3, overrunMicros: 4, remainingMicros: 4_999_999, inflight: 1, policy: { models: ['gpt-4o'], requestCapMicros: 9, inflightMax: 4, maxOutputTokens: 100, alertThresholdsPct: [50], loopLimit: { repeats: 20, windowMs: 600_000 } }, createdMs: 1_767_225_600_123, alertSpentPct: 0, alertCommittedPct: 0, breaker: 'open', trippedUntilMs: 1_767_225_660_123, breakerCode: 'loop_detected', burn: [], loop: { repeats: 20, windowMs: 600_000, tracked: 2, mostRepeated: { fingerprint: 'q1w2e3r4t5y6u7i8', count: 20, firstSeq: 12, lastSeq: 40 } } };
    const json = budgetToJson(view);
    expect(BudgetJson.parse(json)).toEqual(json);
    expect(budgetFromJson(json)).toEqual(view);
    const entry: LedgerEntry = { seq: 9, tsMs: 1_767_225_600_999, kind: 'settle', budgetId: 7, amountMicros: 123_456_789_012, reservationSeq: 8, model: 'gpt-4o', tokensIn: 1, tokensOut: 2, tokensCached: null, tokensCacheWrite: 0, requestId: 'req_1', session: 's', task: null, actor: 'cli:x', reason: 'a, "b"', data: '{"reservedMicros":1}', hash: 'ab'.repeat(32) };
    const e = entryToJson(entry, 'acme/bot');
    expect(LedgerEntryJson.parse(e)).toEqual(e);
    expect(entryFromJson(e)).toEqual({ ...entry, budget: 'acme/bot' });
    const token: TokenView = { id: 'tok_abcdefgh', budget: 'acme/bot/tok_abcdefgh', parentTokenId: null, status: 'revoked', scopes: ['delegate'], expiresMs: 1_767_225_600_001, labels: { session: 's', requestId: 'r' }, createdMs: 1_767_225_600_000, revokedMs: 1_767_225_600_002 };
    const t = tokenToJson(token);
    expect(TokenJson.parse(t)).toEqual(t);
    expect(tokenFromJson(t)).toEqual(token);
  });
});
