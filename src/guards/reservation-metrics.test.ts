import { describe, expect, it } from 'vitest';
import type { EntryKind, LedgerEntry } from '../core/index.js';
import { ReservationAccumulator } from './reservation-metrics.js';

function entry(kind: EntryKind, budgetId: number, model: string | null, amountMicros: number, data: string | null = null): LedgerEntry {
  return { seq: 0, hash: '', tsMs: 0, kind, budgetId, amountMicros, reservationSeq: null, model, tokensIn: null, tokensOut: null, tokensCached: null, tokensCacheWrite: null, requestId: null, session: null, task: null, actor: null, reason: null, data };
}

const paths: Record<number, string> = { 1: 'acme/bot', 2: 'acme/other' };

describe('reservation metrics', () => {
  it('counts every fate of a reservation and derives the reserve-to-settle ratio and estimate accuracy', () => {
    const acc = new ReservationAccumulator((e) => paths[e.budgetId] ?? null);
    for (let i = 0; i < 5; i += 1) acc.add(entry('reserve', 1, 'gpt-4o', 1_000));
    acc.add(entry('settle', 1, 'gpt-4o', 300, '{"reservedMicros":1000}'));
    acc.add(entry('settle', 1, 'gpt-4o', 500, '{"reservedMicros":1000}'));
    acc.add(entry('overrun', 1, 'gpt-4o', 100, '{"reservedMicros":1000,"actualMicros":1100}'));
    acc.add(entry('void', 1, 'gpt-4o', 1_000));
    acc.add(entry('expire', 1, 'gpt-4o', 1_000, '{"expiresMs":5}'));
    acc.add(entry('expire_charged', 1, 'gpt-4o', 1_000, '{"expiresMs":5}'));
    // The charged expiry's settlement arrives: 400 of the 1,000 charged, 600 refunded.
    acc.add(entry('expiry_refund', 1, 'gpt-4o', 600, '{"actualMicros":400,"chargedMicros":1000}'));
    const [row] = acc.rows();
    expect(row).toEqual({
      key: 'acme/bot',
      model: 'gpt-4o',
      reservations: 5,
      reserved_micros: 5_000,
      settled: 3,
      voided: 1,
      expired: 1,
      charged: 1,
      settled_reserved_micros: 3_000,
      settled_actual_micros: 1_200,
      reserve_to_settle: 1.667,
      estimate_accuracy: 0.4,
    });
  });

  it('counts late settlements after either kind of expiry, and a void after a charged one', () => {
    const acc = new ReservationAccumulator(() => 'k');
    acc.add(entry('late_charge', 1, 'm', 700, '{"reservedMicros":1000}'));
    acc.add(entry('late_charge', 1, 'm', 200, '{"actualMicros":1200,"chargedMicros":1000}'));
    acc.add(entry('expiry_refund', 1, 'm', 1_000, '{"actualMicros":0,"chargedMicros":1000,"voided":true}'));
    expect(acc.rows()[0]).toMatchObject({ settled: 2, voided: 1, settled_reserved_micros: 2_000, settled_actual_micros: 1_900, estimate_accuracy: 0.95, reserve_to_settle: 0 });
  });

  it('keeps one row per group and model, the busiest first, and totals across them', () => {
    const acc = new ReservationAccumulator((e) => paths[e.budgetId] ?? null);
    acc.add(entry('reserve', 2, 'claude-haiku-4-5', 10));
    acc.add(entry('reserve', 1, 'gpt-4o', 10));
    acc.add(entry('reserve', 1, 'gpt-4o', 10));
    acc.add(entry('reserve', 1, null, 10));
    expect(acc.rows().map((r) => [r.key, r.model, r.reservations, r.reserve_to_settle])).toEqual([
      ['acme/bot', 'gpt-4o', 2, null],
      ['acme/bot', null, 1, null],
      ['acme/other', 'claude-haiku-4-5', 1, null],
    ]);
    expect(acc.totals).toMatchObject({ reservations: 4, reserved_micros: 40 });
  });
});
