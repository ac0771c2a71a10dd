import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureVerifies, startReceiver, type Receiver } from '../support/webhook-receiver.js';
import { startApi, viewerKey, type ApiServer, type ErrorAnswer } from './api-harness.js';

/** The webhook routes: adding (secret shown once), listing, testing, deliveries, removal, and clear 400s for bad input. */

interface WebhookJson {
  id: string;
  url: string;
  events: string[] | null;
  secret_prefix: string;
  pending: number;
}

let api: ApiServer;
let receiver: Receiver;

beforeAll(async () => {
  api = await startApi();
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver.stop();
  await api.close();
});

describe('/api/webhooks', () => {
  it('refuses a bad URL, an unknown event, an empty or short secret with 400 bad_request naming the field', async () => {
    // Proves edge validation with a message that says what to fix (a suggestion for a mistyped event), and that nothing is added.
    const cases: [unknown, string, RegExp][] = [
      [{ url: 'ftp://example.com/x' }, 'url', /^url: must be http:\/\/ or https:\/\/, not ftp:\/\//],
      [{ url: 'example.com/hook' }, 'url', /^url: "example.com\/hook" is not a URL; give an http:\/\/ or https:\/\/ URL/],
      [{ url: 'https://user:pw@example.com/x' }, 'url', /^url: must not carry user:password@/],
      [{ url: `https://example.com/${'a'.repeat(2_100)}` }, 'url', /^url: is 2120 characters long; at most 2048/],
      [{ url: 'https://example.com/x', events: ['alrt'] }, 'events', /^events: unknown event "alrt"; did you mean alert\? \(the events are alert, breaker_tripped, breaker_closed/],
      [{ url: 'https://example.com/x', events: [] }, 'events', /^events: name at least one of alert/],
      [{ url: 'https://example.com/x', secret: '' }, 'secret', /^secret: cannot be empty; leave it out to have one generated/],
      [{ url: 'https://example.com/x', secret: 'short' }, 'secret', /^secret: must be 16 to 256 characters \(it is 5\)/],
      [{ url: 'https://example.com/x', secret: 'sixteen chars ok' }, 'secret', /^secret: may hold only printable ASCII characters without spaces/],
      [{ url: 'https://example.com/x', colour: 'red' }, 'colour', /^unknown body field colour/],
      [{ events: ['alert'] }, 'url', /^body field url: .*\(it is missing\)/],
    ];
    for (const [body, field, message] of cases) {
      const res = await api.call('POST', '/api/webhooks', { body });
      expect([res.status, res.json.error.code, res.json.error.field], JSON.stringify(body).slice(0, 80)).toEqual([400, 'bad_request', field]);
      expect(res.json.error.message).toMatch(message);
    }
    const malformed = await api.call('DELETE', '/api/webhooks/nope');
    expect([malformed.status, malformed.json.error.code, malformed.json.error.field]).toEqual([400, 'bad_request', 'id']);
    expect((await api.call<{ webhooks: unknown[] }>('GET', '/api/webhooks')).json.webhooks).toEqual([]);
  });

  it('adds a webhook with its secret shown once, lists it with a prefix only, and keeps it from viewers', async () => {
    // Proves the secret is generated and returned at creation only, and listing needs an admin key.
    const made = await api.call<{ webhook: WebhookJson; secret: string }>('POST', '/api/webhooks', { body: { url: receiver.url, events: ['alert', 'alert', 'breaker_tripped'] } });
    expect(made.status).toBe(201);
    expect(made.headers.get('cache-control')).toBe('no-store');
    expect(made.json.secret).toMatch(/^whsec_[A-Za-z0-9]{32}$/);
    expect(made.json.webhook).toMatchObject({ url: receiver.url, events: ['alert', 'breaker_tripped'], secret_prefix: `${made.json.secret.slice(0, 10)}…`, pending: 0 });
    const listed = await api.call<{ webhooks: WebhookJson[] }>('GET', '/api/webhooks');
    expect(listed.json.webhooks.map((w) => w.id)).toEqual([made.json.webhook.id]);
    expect(listed.text).not.toContain(made.json.secret);
    expect((await api.call('GET', '/api/webhooks', { key: viewerKey })).status).toBe(403);
    const own = await api.call<{ webhook: WebhookJson }>('POST', '/api/webhooks', { body: { url: 'https://example.com/own', secret: 'my-own-secret-0123456789' } });
    expect(own.json.webhook).toMatchObject({ events: null, secret_prefix: 'my-own-sec…' });
    expect((await api.call('DELETE', `/api/webhooks/${own.json.webhook.id}`)).status).toBe(200);
  });

  it('sends a signed test event and reports the receiver\'s answer, or why there was none', async () => {
    // Proves test delivers at once with the webhook's secret, and reports a failing receiver without failing itself.
    const made = await api.call<{ webhook: WebhookJson; secret: string }>('POST', '/api/webhooks', { body: { url: receiver.url } });
    const id = made.json.webhook.id;
    const tested = await api.call<{ delivered: boolean; status: number; event_id: string }>('POST', `/api/webhooks/${id}/test`);
    expect(tested.json).toMatchObject({ delivered: true, status: 200, error: null });
    const got = receiver.received.find((r) => r.eventId === tested.json.event_id);
    expect(got && signatureVerifies(made.json.secret, got.signature, got.body)).toBe(true);
    expect(JSON.parse(got?.body ?? '{}')).toMatchObject({ kind: 'test', test: true, id: tested.json.event_id, text: expect.stringContaining(id) as unknown });

    receiver.answer = () => 410;
    expect((await api.call('POST', `/api/webhooks/${id}/test`)).json).toMatchObject({ delivered: false, status: 410, error: 'HTTP 410' });
    receiver.answer = () => 200;
    await receiver.stop();
    expect((await api.call('POST', `/api/webhooks/${id}/test`)).json).toMatchObject({ delivered: false, status: null, error: 'connection refused (ECONNREFUSED)' });
    await receiver.listen();
    expect((await api.call('DELETE', `/api/webhooks/${id}`)).status).toBe(200);
  });

  it('lists a webhook\'s queued deliveries and drops them when it is removed', async () => {
    // Proves an alert is queued for a subscribed webhook, shows in its deliveries, and goes with it.
    const made = await api.call<{ webhook: WebhookJson }>('POST', '/api/webhooks', { body: { url: 'https://example.com/queue', events: ['alert'] } });
    const id = made.json.webhook.id;
    expect((await api.store.createBudget({ path: 'acme', limitMicros: 100, period: 'month' })).ok).toBe(true);
    expect((await api.store.reserve({ path: 'acme', amountMicros: 60 })).ok).toBe(true);
    const deliveries = await api.call<{ deliveries: { kind: string; state: string; attempts: number; next_attempt_at: string | null }[] }>('GET', `/api/webhooks/${id}/deliveries`);
    expect(deliveries.json.deliveries).toEqual([expect.objectContaining({ kind: 'alert', state: 'pending', attempts: 0 })]);
    expect((await api.call<{ deliveries: unknown[] }>('GET', `/api/webhooks/${id}/deliveries?state=failed`)).json.deliveries).toEqual([]);
    expect((await api.call('GET', `/api/webhooks/${id}/deliveries?limit=0`)).json.error.field).toBe('limit');
    expect((await api.call<{ removed: string; dropped_pending: number }>('DELETE', `/api/webhooks/${id}`)).json).toEqual({ removed: id, dropped_pending: 1 });
    const again = await api.call<ErrorAnswer>('DELETE', `/api/webhooks/${id}`);
    expect([again.status, again.json.error.code]).toEqual([404, 'unknown_webhook']);
    expect((await api.call('GET', `/api/webhooks/${id}/deliveries`)).status).toBe(404);
  });
});
