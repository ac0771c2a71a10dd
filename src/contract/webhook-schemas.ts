import { z } from 'zod';
import { webhookEventKinds, type WebhookStats } from '../core/index.js';
import { isoOrNull } from './codecs.js';
import { contractLimits } from './limits.js';
import { isoTime, queryInt } from './schemas.js';

/**
 * The webhook routes' shapes (`/api/webhooks…`) and the payload every delivery carries. The
 * fields of a new webhook are only checked for type and size here: what makes a URL, an event
 * name or a secret acceptable is decided once, by the operations (`src/ops/webhooks.ts`), so the
 * CLI on a local database refuses exactly what the API refuses.
 */

export const webhookIdPattern = /^wh_[A-Za-z0-9]{8,40}$/;

export const WebhookParams = z.strictObject({ id: z.string().regex(webhookIdPattern, { error: 'is not a webhook id (wh_…)' }).describe('webhook id (wh_…)') });

const eventNames = `${webhookEventKinds.join(', ')}`;

export const AddWebhookBody = z.strictObject({
  url: z.string().max(contractLimits.webhookUrlCharsMax * 2).describe(`where events are POSTed: an http or https URL of at most ${contractLimits.webhookUrlCharsMax} characters, without user:password@`),
  events: z.array(z.string().max(64)).max(32).optional().describe(`the event kinds to send (${eventNames}); every kind, including ones added later, when left out`),
  secret: z
    .string()
    .max(contractLimits.webhookSecretCharsMax * 2)
    .optional()
    .describe(`the secret deliveries are signed with (HMAC-SHA256), ${contractLimits.webhookSecretCharsMin} to ${contractLimits.webhookSecretCharsMax} printable characters; generated (whsec_…) when left out`),
});

export const WebhookJson = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()).nullable().describe('the event kinds it receives; null: every kind'),
    secret_prefix: z.string().describe('the start of its signing secret, to tell secrets apart; the secret itself is shown once, when the webhook is added'),
    created_at: isoTime,
    pending: z.int().describe('deliveries waiting for their first or next attempt'),
    delivered: z.int(),
    failed: z.int().describe('deliveries given up after too many attempts or too long'),
    last_attempt_at: isoTime.nullable(),
    last_status: z.int().nullable().describe('HTTP status the receiver answered the last attempt with; null when it did not answer'),
    last_error: z.string().nullable().describe('why the last attempt failed; null when it succeeded'),
    last_delivered_at: isoTime.nullable(),
  })
  .meta({ id: 'Webhook', description: 'A URL that receives Bursar\'s events, signed with its own secret.' });

export const deliveryStateNames = ['pending', 'delivered', 'failed'] as const;

export const DeliveryJson = z
  .object({
    id: z.int(),
    event_id: z.string().describe('the event\'s stable id, sent as Idempotency-Key'),
    kind: z.string(),
    state: z.enum(deliveryStateNames),
    attempts: z.int(),
    created_at: isoTime,
    next_attempt_at: isoTime.nullable().describe('when a pending delivery is tried next; null once it is done'),
    last_status: z.int().nullable(),
    last_error: z.string().nullable(),
    done_at: isoTime.nullable().describe('when it was delivered or given up'),
  })
  .meta({ id: 'WebhookDelivery' });

export const DeliveriesQuery = z.strictObject({
  state: z.enum(deliveryStateNames).optional().describe('only deliveries in this state'),
  limit: queryInt(1, contractLimits.webhookDeliveriesMax).optional().describe(`how many, newest first (default ${contractLimits.webhookDeliveriesDefault})`),
});

export const WebhookTestJson = z.object({
  event_id: z.string(),
  delivered: z.boolean().describe('true when the receiver answered with a 2xx status'),
  status: z.int().nullable().describe('the receiver\'s HTTP status; null when it did not answer'),
  error: z.string().nullable().describe('why it failed: the status, or what kept the request from an answer'),
  duration_ms: z.int(),
});

const nullableUsd = z.string().nullable();

/** Facts of a breaker event: why it opened, for how long, or how it closed. */
export const WebhookBreakerJson = z.object({
  code: z.string().describe('what tripped it: burn_limit, or another guard sharing the breaker'),
  state: z.enum(['open', 'closed']),
  trips: z.int().describe('trips in a row; each doubles the cool-down'),
  until: isoTime.nullable().describe('when the breaker lets one call through again (open only)'),
  cooldown_ms: z.int().nullable(),
  burn_limit_micros: z.int().nullable(),
  burn_limit_usd: nullableUsd,
  window_ms: z.int().nullable(),
  committed_micros: z.int().nullable().describe('what the window would have held: what tripped it'),
  committed_usd: nullableUsd,
  manual: z.boolean().nullable().describe('closed by hand (bursar budgets reset-breaker)'),
});

export const WebhookPayloadJson = z
  .object({
    text: z.string().describe('one line for people: Slack and compatible incoming webhooks show it as the message'),
    id: z.string().describe('the event\'s stable id, also sent as Idempotency-Key: a retry of a delivery carries the same id'),
    kind: z.string().describe(`${eventNames}, or test`),
    time: isoTime.describe('when the event happened'),
    test: z.boolean().describe('true for bursar webhooks test'),
    budget_id: z.int().nullable(),
    budget_path: z.string().nullable().describe('the budget\'s path when the event happened'),
    threshold_pct: z.int().nullable().describe('alerts: the percentage of limit + granted that was reached'),
    basis: z.enum(['spent', 'committed']).nullable().describe('alerts: spent, or committed (spent + reserved)'),
    spent_micros: z.int().nullable(),
    spent_usd: nullableUsd,
    reserved_micros: z.int().nullable(),
    reserved_usd: nullableUsd,
    limit_micros: z.int().nullable(),
    limit_usd: nullableUsd,
    granted_micros: z.int().nullable(),
    period: z.string().nullable().describe('none, hour, day, week or month'),
    period_start: isoTime.nullable(),
    period_end: isoTime.nullable(),
    reason: z.string().nullable(),
    ledger_seq: z.int().nullable().describe('the ledger entry that raised the event'),
    breaker: WebhookBreakerJson.nullable().describe('breaker events only'),
  })
  .meta({ id: 'WebhookEvent', description: 'The JSON body of a webhook delivery. Amounts are integer micro-USD (_micros) and exact USD strings with six decimals (_usd).' });

export type WebhookPayload = z.output<typeof WebhookPayloadJson>;

/** The headers every delivery carries (documented in the OpenAPI document's `webhooks`). */
export const WebhookDeliveryHeaders = z.object({
  'idempotency-key': z.string().describe('the event id: the same on every retry of the delivery'),
  'bursar-signature': z.string().describe('t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the webhook\'s secret>'),
  'bursar-event': z.string().describe('the event kind'),
  'bursar-delivery-attempt': z.string().describe('1 for the first attempt, 2 for the first retry, …'),
});

/** A webhook as the doors show it: never its secret, only the secret's first characters. */
export interface WebhookView {
  id: string;
  url: string;
  events: string[] | null;
  secretPrefix: string;
  createdMs: number;
  stats: WebhookStats;
}

/** One delivery as the doors show it. */
export interface DeliveryView {
  id: number;
  eventId: string;
  kind: string;
  state: (typeof deliveryStateNames)[number];
  attempts: number;
  createdMs: number;
  nextAttemptMs: number;
  lastStatus: number | null;
  lastError: string | null;
  doneMs: number | null;
}

/** What `webhooks test` found: the receiver's answer to one signed test event. */
export interface WebhookTestResult {
  eventId: string;
  delivered: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const msOrNull = (text: string | null): number | null => (text === null ? null : Date.parse(text));

/**
 * A webhook on the wire.
 *
 * @example
 * webhookToJson(view).secret_prefix // 'whsec_AbCd'
 */
export function webhookToJson(w: WebhookView): z.output<typeof WebhookJson> {
  const s = w.stats;
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    secret_prefix: w.secretPrefix,
    created_at: iso(w.createdMs),
    pending: s.pending,
    delivered: s.delivered,
    failed: s.failed,
    last_attempt_at: isoOrNull(s.lastAttemptMs),
    last_status: s.lastStatus,
    last_error: s.lastError,
    last_delivered_at: isoOrNull(s.lastDeliveredMs),
  };
}

/** A webhook read back from the wire (the CLI's remote backend). */
export function webhookFromJson(j: z.output<typeof WebhookJson>): WebhookView {
  return {
    id: j.id,
    url: j.url,
    events: j.events,
    secretPrefix: j.secret_prefix,
    createdMs: Date.parse(j.created_at),
    stats: {
      pending: j.pending,
      delivered: j.delivered,
      failed: j.failed,
      lastAttemptMs: msOrNull(j.last_attempt_at),
      lastStatus: j.last_status,
      lastError: j.last_error,
      lastDeliveredMs: msOrNull(j.last_delivered_at),
    },
  };
}

/** A delivery on the wire. */
export function deliveryToJson(d: DeliveryView): z.output<typeof DeliveryJson> {
  return {
    id: d.id,
    event_id: d.eventId,
    kind: d.kind,
    state: d.state,
    attempts: d.attempts,
    created_at: iso(d.createdMs),
    next_attempt_at: d.state === 'pending' ? iso(d.nextAttemptMs) : null,
    last_status: d.lastStatus,
    last_error: d.lastError,
    done_at: isoOrNull(d.doneMs),
  };
}

/** A delivery read back from the wire (the CLI's remote backend). */
export function deliveryFromJson(j: z.output<typeof DeliveryJson>): DeliveryView {
  return {
    id: j.id,
    eventId: j.event_id,
    kind: j.kind,
    state: j.state,
    attempts: j.attempts,
    createdMs: Date.parse(j.created_at),
    nextAttemptMs: j.next_attempt_at === null ? Date.parse(j.done_at ?? j.created_at) : Date.parse(j.next_attempt_at),
    lastStatus: j.last_status,
    lastError: j.last_error,
    doneMs: msOrNull(j.done_at),
  };
}

/** A test's result on the wire. */
export function webhookTestToJson(r: WebhookTestResult): z.output<typeof WebhookTestJson> {
  return { event_id: r.eventId, delivered: r.delivered, status: r.status, error: r.error, duration_ms: r.durationMs };
}

/** A test's result read back from the wire. */
export function webhookTestFromJson(j: z.output<typeof WebhookTestJson>): WebhookTestResult {
  return { eventId: j.event_id, delivered: j.delivered, status: j.status, error: j.error, durationMs: j.duration_ms };
}
