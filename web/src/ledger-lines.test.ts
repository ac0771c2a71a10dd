import { describe, expect, it } from 'vitest';
import type { Entry } from './api.js';
import { complete, fold, lifeStatus } from './ledger-lines.js';

const e = (seq: number, kind: Entry['kind'], reservation_seq: number | null = null): Entry => ({
  seq, ts: '2026-01-01T00:00:00.000Z', ts_ms: seq, kind, budget: 'acme/bot', budget_id: 1, amount_micros: seq, reservation_seq, model: null, tokens_in: null, tokens_out: null,
  tokens_cached: null, tokens_cache_write: null, request_id: null, session: null, task: null, actor: null, reason: null, data: null, hash: 'h',
});

describe('ledger lines', () => {
  it('folds a reservation\'s entries into one line in page order, others one line each', () => {
    // Proves "a reservation's whole life on one line", newest first as the page reads.
    const lines = fold([e(9, 'grant'), e(8, 'overrun', 5), e(7, 'settle', 5), e(6, 'void', 4), e(5, 'reserve'), e(4, 'reserve')]);
    expect(lines.map((l) => l.key)).toEqual(['e9', 'r5', 'r4']);
    const r5 = lines[1];
    if (r5?.kind !== 'reservation') throw new Error('expected a reservation line');
    expect(r5.reserve?.seq).toBe(5);
    expect(r5.outcomes.map((x) => x.kind)).toEqual(['settle', 'overrun']);
    expect(complete(r5)).toBe(true);
    expect(lifeStatus(r5)).toBe('settled');
    const r4 = lines[2];
    if (r4?.kind !== 'reservation') throw new Error('expected a reservation line');
    expect(lifeStatus(r4)).toBe('voided');
  });

  it('marks a line without its reserve or its end as incomplete, and takes the status the API reports', () => {
    // Proves which lines the page looks up, and that an expired one settled late reads as such.
    const [open] = fold([e(3, 'reserve')]);
    if (open?.kind !== 'reservation') throw new Error('expected a reservation line');
    expect(complete(open)).toBe(false);
    expect(lifeStatus(open)).toBe('open');
    const [expired] = fold([e(12, 'expire', 11)]);
    if (expired?.kind !== 'reservation') throw new Error('expected a reservation line');
    expect(complete(expired)).toBe(false);
    expired.looked = { id: 'rsv_11', budget: 'acme/bot', amount_micros: 11, status: 'late_settled', created_at: '2026-01-01T00:00:00.000Z', expires_at: '2026-01-01T00:00:00.000Z', resolved_at: null, actual_micros: 9, labels: {} };
    expect(lifeStatus(expired)).toBe('late_settled');
  });

  it('shows a hold charged at expiry as charged, and as settled late once its refund arrives', () => {
    // Proves the crash path reads right: expire_charged, then expiry_refund (or a late charge) folds into one line.
    const [charged] = fold([e(21, 'expire_charged', 20), e(20, 'reserve')]);
    if (charged?.kind !== 'reservation') throw new Error('expected a reservation line');
    expect(complete(charged)).toBe(true);
    expect(lifeStatus(charged)).toBe('charged');
    const [reconciled] = fold([e(32, 'expiry_refund', 30), e(31, 'expire_charged', 30), e(30, 'reserve')]);
    if (reconciled?.kind !== 'reservation') throw new Error('expected a reservation line');
    expect(reconciled.outcomes.map((x) => x.kind)).toEqual(['expire_charged', 'expiry_refund']);
    expect(lifeStatus(reconciled)).toBe('late_settled');
  });
});
