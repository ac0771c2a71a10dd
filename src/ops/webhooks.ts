import { base62, webhookEventKinds, type RandomBytes } from '../core/index.js';
import { contractLimits, failure, webhookTestPayload, type DeliveryView, type Failure, type WebhookTestResult, type WebhookView } from '../contract/index.js';
import type { DeliveryState, StoredWebhook, Store } from '../store/index.js';
import { didYouMean } from '../suggest.js';
import { sendWebhook } from './webhook-delivery.js';

/**
 * Managing webhooks, the same from every door (admin API, CLI on a local database): what URL,
 * event names and secret are accepted, the secret shown once, the listing with delivery stats,
 * removal, and a test event sent at once.
 */

export interface AddWebhookInput {
  url: string;
  /** Event kinds; undefined for every kind. */
  events?: string[];
  /** The signing secret; generated when undefined. */
  secret?: string;
}

const badRequest = (field: string, message: string): Failure => failure('bad_request', message, { field });
const urlExample = 'like https://hooks.slack.com/services/… or https://example.com/bursar';

/**
 * Why a webhook URL is refused, or undefined when it is fine: an http or https URL of bounded
 * length, with a host, without spaces or `user:password@` (fetch refuses those; put a token in
 * the path or query instead).
 *
 * @example
 * checkWebhookUrl('ftp://example.com')?.message // 'url: must be http:// or https://, …'
 */
export function checkWebhookUrl(url: string): Failure | undefined {
  if (url.length === 0) return badRequest('url', `url: give the URL events are sent to, ${urlExample}`);
  if (url.length > contractLimits.webhookUrlCharsMax) return badRequest('url', `url: is ${url.length} characters long; at most ${contractLimits.webhookUrlCharsMax} are accepted`);
  if (!/^[\x21-\x7e\u00a0-\uffff]+$/.test(url)) return badRequest('url', 'url: contains spaces or control characters; percent-encode them');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return badRequest('url', `url: ${JSON.stringify(url.slice(0, 80))} is not a URL; give an http:// or https:// URL, ${urlExample}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return badRequest('url', `url: must be http:// or https://, not ${parsed.protocol}//`);
  if (parsed.hostname === '') return badRequest('url', `url: names no host; ${urlExample}`);
  if (parsed.username !== '' || parsed.password !== '') return badRequest('url', 'url: must not carry user:password@; put a token in the path or query instead');
  return undefined;
}

/**
 * The event kinds asked for, without repeats, or why they are refused (an unknown name gets a
 * suggestion). Undefined asks for every kind: null.
 *
 * @example
 * checkWebhookEvents(['alrt']) // { ok: false, code: 'bad_request', message: 'events: unknown event "alrt"; did you mean alert? (the events are …)', field: 'events' }
 */
export function checkWebhookEvents(events: readonly string[] | undefined): { ok: true; events: string[] | null } | Failure {
  if (events === undefined) return { ok: true, events: null };
  const known: readonly string[] = webhookEventKinds;
  if (events.length === 0) return badRequest('events', `events: name at least one of ${known.join(', ')}, or leave events out for every kind`);
  for (const name of events) {
    if (!known.includes(name)) return badRequest('events', `events: unknown event ${JSON.stringify(name)}${didYouMean(name, known)} (the events are ${known.join(', ')})`);
  }
  return { ok: true, events: [...new Set(events)] };
}

/**
 * The secret to sign with: the one given, if it is long enough and printable, or a new one.
 *
 * @example
 * secretFor(undefined, random) // { ok: true, secret: 'whsec_…' }
 */
export function secretFor(secret: string | undefined, random: RandomBytes): { ok: true; secret: string } | Failure {
  if (secret === undefined) return { ok: true, secret: `whsec_${base62(random, contractLimits.webhookSecretCharsGenerated)}` };
  const { webhookSecretCharsMin: min, webhookSecretCharsMax: max } = contractLimits;
  if (secret.length === 0) return badRequest('secret', 'secret: cannot be empty; leave it out to have one generated');
  if (secret.length < min || secret.length > max) return badRequest('secret', `secret: must be ${min} to ${max} characters (it is ${secret.length}); leave it out to have one generated`);
  if (!/^[\x21-\x7e]+$/.test(secret)) return badRequest('secret', 'secret: may hold only printable ASCII characters without spaces');
  return { ok: true, secret };
}

/** A stored webhook as the doors show it: the secret's first characters only. */
export function viewWebhook(w: StoredWebhook): WebhookView {
  return { id: w.id, url: w.url, events: w.events, secretPrefix: `${w.secret.slice(0, contractLimits.webhookSecretPrefixChars)}…`, createdMs: w.createdMs, stats: w.stats };
}

/**
 * The refusal for a webhook id that names none.
 *
 * @example
 * unknownWebhook('wh_nope').code // 'unknown_webhook'
 */
export function unknownWebhook(id: string): Failure {
  return failure('unknown_webhook', `no webhook ${id}; bursar webhooks list shows them`, { field: 'id' });
}

/**
 * Adds a webhook. The answer carries its secret: the only time it is shown.
 *
 * @example
 * const added = await addWebhook(store, random, { url: 'https://example.com/hook', events: ['alert'] });
 * if (added.ok) console.log(added.secret); // whsec_…
 */
export async function addWebhook(store: Pick<Store, 'webhooks' | 'now'>, random: RandomBytes, input: AddWebhookInput): Promise<{ ok: true; webhook: WebhookView; secret: string } | Failure> {
  const badUrl = checkWebhookUrl(input.url);
  if (badUrl) return badUrl;
  const events = checkWebhookEvents(input.events);
  if (!events.ok) return events;
  const secret = secretFor(input.secret, random);
  if (!secret.ok) return secret;
  const record = { id: `wh_${base62(random, 16)}`, url: input.url, events: events.events, secret: secret.secret, createdMs: store.now() };
  if (!(await store.webhooks.add(record, contractLimits.webhooksMax))) {
    return failure('webhook_limit', `there are ${contractLimits.webhooksMax} webhooks already, the most Bursar keeps; remove one first`);
  }
  const stats = { pending: 0, delivered: 0, failed: 0, lastAttemptMs: null, lastStatus: null, lastError: null, lastDeliveredMs: null };
  return { ok: true, webhook: viewWebhook({ ...record, stats }), secret: secret.secret };
}

/** Every webhook, oldest first, with what became of its deliveries. */
export async function listWebhooks(store: Pick<Store, 'webhooks'>): Promise<WebhookView[]> {
  return (await store.webhooks.list()).map(viewWebhook);
}

/** Removes a webhook and what was still queued for it. */
export async function removeWebhook(store: Pick<Store, 'webhooks'>, id: string): Promise<{ ok: true; dropped: number } | Failure> {
  const removed = await store.webhooks.remove(id);
  return removed ? { ok: true, dropped: removed.dropped } : unknownWebhook(id);
}

/** A webhook's deliveries, newest first. */
export async function webhookDeliveries(store: Pick<Store, 'webhooks'>, id: string, q: { state?: DeliveryState; limit?: number }): Promise<{ ok: true; deliveries: DeliveryView[] } | Failure> {
  if (!(await store.webhooks.get(id))) return unknownWebhook(id);
  const limit = Math.min(q.limit ?? contractLimits.webhookDeliveriesDefault, contractLimits.webhookDeliveriesMax);
  return { ok: true, deliveries: await store.webhooks.deliveries({ webhookId: id, state: q.state, limit }) };
}

/**
 * Sends a signed test event (kind `test`) to a webhook at once, outside the outbox, and says
 * what the receiver answered.
 *
 * @example
 * const t = await testWebhook(store, { random, fetch }, 'wh_…');
 * if (t.ok) console.log(t.result.status); // 200
 */
export async function testWebhook(store: Pick<Store, 'webhooks' | 'now'>, o: { random: RandomBytes; fetch?: typeof fetch }, id: string): Promise<{ ok: true; result: WebhookTestResult } | Failure> {
  const webhook = await store.webhooks.get(id);
  if (!webhook) return unknownWebhook(id);
  const eventId = `evt_test_${base62(o.random, 16)}`;
  const nowMs = store.now();
  const body = JSON.stringify(webhookTestPayload(eventId, id, nowMs));
  const startedMs = performance.now();
  const sent = await sendWebhook({ url: webhook.url, secret: webhook.secret, eventId, kind: 'test', body, attempt: 1, nowMs, fetch: o.fetch ?? fetch });
  return { ok: true, result: { eventId, ...sent, durationMs: Math.round(performance.now() - startedMs) } };
}
