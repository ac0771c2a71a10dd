import { createHmac, timingSafeEqual } from 'node:crypto';
import { alertOf, formatUsd, formatWindow, type WebhookFacts } from '../core/index.js';
import { isoOrNull, usdExact } from './codecs.js';
import type { WebhookPayload } from './webhook-schemas.js';

/**
 * What a webhook delivery says and how it is signed. The body is rendered from the facts the
 * outbox kept (the entry and its budget at that moment), so every attempt sends the same bytes;
 * the signature header is made per attempt over those bytes.
 */

const periodAdjective: Record<string, string> = { hour: 'hourly ', day: 'daily ', week: 'weekly ', month: 'monthly ' };

type Data = Record<string, unknown>;

function dataOf(facts: WebhookFacts): Data {
  return facts.entry.data === null ? {} : (JSON.parse(facts.entry.data) as Data);
}

const intOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);
const usdOrNull = (micros: number | null): string | null => (micros === null ? null : usdExact(micros));

/** The fields every payload has, with the balances of the budget as the event left it. */
function base(eventId: string, facts: WebhookFacts): WebhookPayload {
  const b = facts.budget;
  const e = facts.entry;
  return {
    text: '',
    id: eventId,
    kind: e.kind,
    time: new Date(e.tsMs).toISOString(),
    test: false,
    budget_id: b.id,
    budget_path: b.path,
    threshold_pct: null,
    basis: null,
    spent_micros: b.spentMicros,
    spent_usd: usdExact(b.spentMicros),
    reserved_micros: b.reservedMicros,
    reserved_usd: usdExact(b.reservedMicros),
    limit_micros: b.limitMicros,
    limit_usd: usdOrNull(b.limitMicros),
    granted_micros: b.grantedMicros,
    period: b.period,
    period_start: new Date(b.periodStartMs).toISOString(),
    period_end: isoOrNull(b.periodEndMs),
    reason: e.reason,
    ledger_seq: e.seq,
    breaker: null,
  };
}

function alertPayload(p: WebhookPayload, facts: WebhookFacts): WebhookPayload {
  const a = alertOf(facts.entry);
  if (!a) return p;
  const allowance = `${formatUsd(a.limitMicros)} ${periodAdjective[facts.budget.period] ?? ''}limit${a.grantedMicros > 0 ? ` (+${formatUsd(a.grantedMicros)} granted)` : ''}`;
  const what = a.basis === 'spent' ? `${formatUsd(a.spentMicros)} spent` : `${formatUsd(a.valueMicros)} committed (spent + reserved)`;
  return {
    ...p,
    text: `Bursar: ${facts.budget.path} reached ${a.thresholdPct}% of its ${allowance}: ${what}.`,
    threshold_pct: a.thresholdPct,
    basis: a.basis,
    spent_micros: a.spentMicros,
    spent_usd: usdExact(a.spentMicros),
    reserved_micros: a.reservedMicros,
    reserved_usd: usdExact(a.reservedMicros),
    limit_micros: a.limitMicros,
    limit_usd: usdExact(a.limitMicros),
    granted_micros: a.grantedMicros,
    period_start: new Date(a.periodStartMs).toISOString(),
  };
}

function breakerPayload(p: WebhookPayload, facts: WebhookFacts): WebhookPayload {
  const d = dataOf(facts);
  const open = facts.entry.kind === 'breaker_tripped';
  const limitMicros = intOrNull(d.limitMicros);
  const windowMs = intOrNull(d.windowMs);
  const committedMicros = open ? facts.entry.amountMicros : null;
  const untilMs = intOrNull(d.untilMs);
  const code = typeof d.code === 'string' ? d.code : 'burn_limit';
  const breaker = {
    code,
    state: open ? ('open' as const) : ('closed' as const),
    trips: intOrNull(d.trips) ?? 0,
    until: isoOrNull(open ? untilMs : null),
    cooldown_ms: open ? intOrNull(d.cooldownMs) : null,
    burn_limit_micros: limitMicros,
    burn_limit_usd: usdOrNull(limitMicros),
    window_ms: windowMs,
    committed_micros: committedMicros,
    committed_usd: usdOrNull(committedMicros),
    manual: open ? null : d.manual === true,
  };
  const why = facts.entry.reason ?? (limitMicros !== null && windowMs !== null ? `over the burn limit of ${formatUsd(limitMicros)} per ${formatWindow(windowMs)}` : code);
  const text = open
    ? `Bursar: ${facts.budget.path} tripped its breaker${code === 'burn_limit' ? '' : ` (${code})`}: ${why}. New calls are refused until ${breaker.until ?? 'it closes'}.`
    : `Bursar: ${facts.budget.path}'s breaker closed (${facts.entry.reason ?? 'closed'}); calls go through again.`;
  return { ...p, text, breaker };
}

/**
 * The payload of a delivery: a Slack-compatible `text` and the event's fields. A kind without a
 * renderer of its own (one a newer guard added) still gets the common fields and its reason.
 *
 * @example
 * const body = JSON.stringify(webhookPayload('evt_42_9f3a1c2e', facts)); // { text: 'Bursar: acme/bot reached 75% of its $10.00 monthly limit: $7.50 spent.', … }
 */
export function webhookPayload(eventId: string, facts: WebhookFacts): WebhookPayload {
  const p = base(eventId, facts);
  if (facts.entry.kind === 'alert') return alertPayload(p, facts);
  if (facts.entry.kind === 'breaker_tripped' || facts.entry.kind === 'breaker_closed') return breakerPayload(p, facts);
  return { ...p, text: `Bursar: ${facts.budget.path}: ${facts.entry.kind.replace(/_/g, ' ')}${facts.entry.reason ? `: ${facts.entry.reason}` : ''}.` };
}

/**
 * The payload `bursar webhooks test` sends: no budget, `test: true`.
 *
 * @example
 * webhookTestPayload('evt_test_AbC…', 'wh_1', Date.now()).kind // 'test'
 */
export function webhookTestPayload(eventId: string, webhookId: string, nowMs: number): WebhookPayload {
  return {
    text: `Bursar: a test event for webhook ${webhookId}. It works: alerts and breaker trips will arrive like this.`,
    id: eventId,
    kind: 'test',
    time: new Date(nowMs).toISOString(),
    test: true,
    budget_id: null,
    budget_path: null,
    threshold_pct: null,
    basis: null,
    spent_micros: null,
    spent_usd: null,
    reserved_micros: null,
    reserved_usd: null,
    limit_micros: null,
    limit_usd: null,
    granted_micros: null,
    period: null,
    period_start: null,
    period_end: null,
    reason: 'bursar webhooks test',
    ledger_seq: null,
    breaker: null,
  };
}

/**
 * The `Bursar-Signature` header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>" keyed with the webhook's secret>`. The time is signed too, so a receiver can
 * refuse an old delivery replayed later.
 *
 * @example
 * webhookSignature('whsec_…', '{"id":"evt_1_ab"}', 1767225600) // 't=1767225600,v1=5d41…'
 */
export function webhookSignature(secret: string, body: string, timeS: number): string {
  const mac = createHmac('sha256', secret).update(`${timeS}.${body}`).digest('hex');
  return `t=${timeS},v1=${mac}`;
}

/**
 * Checks a `Bursar-Signature` header against the raw body, as a receiver does: the MAC must
 * match (compared in constant time) and the time must be within `toleranceS` of `nowS`.
 *
 * @example
 * verifyWebhookSignature({ secret, body: rawBody, header: req.headers['bursar-signature'], nowS: Date.now() / 1000 }) // true
 */
export function verifyWebhookSignature(o: { secret: string; body: string; header: string | undefined; nowS: number; toleranceS?: number }): boolean {
  const parts = new Map((o.header ?? '').split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isSafeInteger(t) || Math.abs(o.nowS - t) > (o.toleranceS ?? 300) || !/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = createHmac('sha256', o.secret).update(`${t}.${o.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}
