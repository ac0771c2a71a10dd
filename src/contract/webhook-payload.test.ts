import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry, WebhookFacts } from '../core/index.js';
import { verifyWebhookSignature, webhookPayload, webhookSignature, webhookTestPayload } from './webhook-payload.js';
import { WebhookPayloadJson } from './webhook-schemas.js';

const tsMs = Date.UTC(2026, 10, 18, 3, 13, 25);

function facts(kind: LedgerEntry['kind'], data: Record<string, unknown>, extra: Partial<LedgerEntry> = {}): WebhookFacts {
  const entry: LedgerEntry = {
    seq: 6,
    tsMs,
    kind,
    budgetId: 3,
    amountMicros: 2_600_000,
    reservationSeq: null,
    model: null,
    tokensIn: null,
    tokensOut: null,
    tokensCached: null,
    tokensCacheWrite: null,
    requestId: null,
    session: null,
    task: null,
    actor: null,
    reason: 'would commit $2.60 within 1m, over the burn limit of $2.00 per 1m',
    data: JSON.stringify(data),
    hash: 'ab'.repeat(32),
    ...extra,
  };
  const budget = { id: 3, path: 'acme/bot', period: 'month' as const, periodStartMs: Date.UTC(2026, 10, 1), periodEndMs: Date.UTC(2026, 11, 1), limitMicros: 50_000_000, grantedMicros: 0, spentMicros: 1_300_000, reservedMicros: 0 };
  return { entry, budget };
}

describe('webhook payloads', () => {
  it('describes a breaker trip and a manual close in words and fields, in the declared shape', () => {
    // Proves breaker events carry their cause, cool-down and limit, with exact USD strings, and match the schema.
    const tripped = webhookPayload('evt_6_abababab', facts('breaker_tripped', { limitMicros: 2_000_000, windowMs: 60_000, burnMicros: 1_300_000, requestedMicros: 1_300_000, trips: 1, cooldownMs: 60_000, untilMs: tsMs + 60_000 }));
    expect(WebhookPayloadJson.parse(tripped)).toEqual(tripped);
    expect(tripped.text).toBe('Bursar: acme/bot tripped its breaker: would commit $2.60 within 1m, over the burn limit of $2.00 per 1m. New calls are refused until 2026-11-18T03:14:25.000Z.');
    expect(tripped).toMatchObject({ kind: 'breaker_tripped', budget_path: 'acme/bot', spent_usd: '1.300000', limit_usd: '50.000000', threshold_pct: null, ledger_seq: 6 });
    expect(tripped.breaker).toEqual({ code: 'burn_limit', state: 'open', trips: 1, until: '2026-11-18T03:14:25.000Z', cooldown_ms: 60_000, burn_limit_micros: 2_000_000, burn_limit_usd: '2.000000', window_ms: 60_000, committed_micros: 2_600_000, committed_usd: '2.600000', manual: null });

    const loop = webhookPayload('evt_7_abababab', facts('breaker_tripped', { code: 'loop_detected', trips: 1, cooldownMs: 60_000, untilMs: tsMs + 60_000 }, { reason: 'the same request 21 times in 10m' }));
    expect(loop.text).toBe('Bursar: acme/bot tripped its breaker (loop_detected): the same request 21 times in 10m. New calls are refused until 2026-11-18T03:14:25.000Z.');

    const closed = webhookPayload('evt_8_abababab', facts('breaker_closed', { trips: 2, manual: true }, { reason: 'looked at it', amountMicros: 0 }));
    expect(closed.text).toBe('Bursar: acme/bot\'s breaker closed (looked at it); calls go through again.');
    expect(closed.breaker).toMatchObject({ state: 'closed', trips: 2, manual: true, until: null, committed_micros: null });
  });

  it('renders a kind without its own renderer from the common fields, and a test event without a budget', () => {
    // Proves a guard that adds an event kind gets a sensible payload before anyone writes a renderer for it.
    const other = webhookPayload('evt_9_abababab', facts('pause', {}, { reason: 'runaway' }));
    expect(WebhookPayloadJson.parse(other)).toEqual(other);
    expect(other).toMatchObject({ text: 'Bursar: acme/bot: pause: runaway.', kind: 'pause', breaker: null, budget_id: 3 });
    const test = webhookTestPayload('evt_test_x', 'wh_1', tsMs);
    expect(WebhookPayloadJson.parse(test)).toMatchObject({ kind: 'test', test: true, budget_path: null, ledger_seq: null });
  });
});

describe('webhook signatures', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 and verifies only the same body, secret and a recent time', () => {
    // Proves the documented scheme (checked against Node's crypto directly) and what a receiver must refuse.
    const secret = 'whsec_0123456789abcdefghijklmnopqrstuv';
    const body = '{"id":"evt_1_abababab","text":"Bursar: ünïcode"}';
    const header = webhookSignature(secret, body, 1_790_000_000);
    expect(header).toBe(`t=1790000000,v1=${createHmac('sha256', secret).update(`1790000000.${body}`).digest('hex')}`);
    const check = (o: Partial<Parameters<typeof verifyWebhookSignature>[0]>) => verifyWebhookSignature({ secret, body, header, nowS: 1_790_000_100, ...o });
    expect(check({})).toBe(true);
    expect(check({ body: body.replace('1', '2') })).toBe(false);
    expect(check({ secret: `${secret}x` })).toBe(false);
    expect(check({ nowS: 1_790_000_301 })).toBe(false);
    expect(check({ header: 't=1790000000,v1=zz' })).toBe(false);
    expect(check({ header: undefined })).toBe(false);
  });
});
