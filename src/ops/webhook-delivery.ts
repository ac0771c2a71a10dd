import { base62, isWebhookEventKind, type RandomBytes, type WebhookFacts } from '../core/index.js';
import { contractLimits } from '../contract/limits.js';
import { webhookPayload, webhookSignature } from '../contract/webhook-payload.js';
import type { AttemptRecord, ClaimedDelivery, Store } from '../store/index.js';
import { packageVersion } from '../version.js';
import { opsLimits } from './limits.js';

/**
 * Sending webhook deliveries: one signed POST (`sendWebhook`), and the deliverer that drains the
 * outbox at least once per delivery, with bounded exponential backoff. It only ever reads and
 * writes the outbox: a receiver that is down, slow or refusing never touches a reservation.
 */

/** What one POST to a receiver came to. */
export interface SendResult {
  delivered: boolean;
  status: number | null;
  error: string | null;
}

export interface SendRequest {
  url: string;
  secret: string;
  eventId: string;
  kind: string;
  /** The exact bytes to send and sign. */
  body: string;
  /** 1 for the first attempt. */
  attempt: number;
  nowMs: number;
  fetch: typeof fetch;
  /** Aborts the request (a stopping server). */
  signal?: AbortSignal;
}

/** Why a request got no answer, in words: the system's code when there is one. */
function noAnswer(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${opsLimits.webhookTimeoutMs / 1_000} s`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * POSTs one delivery, signed, and says what the receiver answered. Redirects are not followed
 * (the signature is for the URL that was configured). Never throws.
 *
 * @example
 * const r = await sendWebhook({ url, secret, eventId: 'evt_42_9f3a1c2e', kind: 'alert', body, attempt: 1, nowMs: Date.now(), fetch });
 * r.delivered // true for a 2xx answer
 */
export async function sendWebhook(r: SendRequest): Promise<SendResult> {
  const headers = {
    'content-type': 'application/json',
    'user-agent': `Bursar-Webhooks/${packageVersion()}`,
    'idempotency-key': r.eventId,
    'bursar-event': r.kind,
    'bursar-delivery-attempt': String(r.attempt),
    'bursar-signature': webhookSignature(r.secret, r.body, Math.floor(r.nowMs / 1_000)),
  };
  const timeout = AbortSignal.timeout(opsLimits.webhookTimeoutMs);
  try {
    const res = await r.fetch(r.url, { method: 'POST', headers, body: r.body, redirect: 'manual', signal: r.signal ? AbortSignal.any([timeout, r.signal]) : timeout });
    // The answer's body is not needed: dropping it frees the connection.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { delivered: true, status: res.status, error: null };
    const redirect = res.status >= 300 && res.status < 400 ? ' (redirects are not followed: give the final URL)' : '';
    return { delivered: false, status: res.status, error: `HTTP ${res.status}${redirect}` };
  } catch (error) {
    return { delivered: false, status: null, error: noAnswer(error) };
  }
}

/**
 * How long to wait after the `attempts`-th failed attempt: 1 s, 2 s, 4 s, … up to an hour.
 *
 * @example
 * retryDelayMs(3) // 4_000
 */
export function retryDelayMs(attempts: number): number {
  let ms = opsLimits.webhookRetryMsFirst;
  for (let i = 1; i < attempts && ms < opsLimits.webhookRetryMsMax; i += 1) ms *= 2;
  return Math.min(ms, opsLimits.webhookRetryMsMax);
}

/** What became of one attempt, for metrics: delivered, to be retried, or given up. */
export type AttemptOutcome = 'delivered' | 'retry' | 'failed';

export interface DelivererOptions {
  store: Pick<Store, 'webhooks' | 'subscribe' | 'now'>;
  /** Claim tokens are drawn from it. */
  random: RandomBytes;
  fetch?: typeof fetch;
  /** The time attempts are scheduled by (default the store's). */
  now?: () => number;
  /** How often to look for due deliveries (default `opsLimits.webhookPollMsDefault`). */
  pollMs?: number;
  onAttempt?: (outcome: AttemptOutcome) => void;
  /** Operational events (a delivery given up, the outbox unreachable); default none. */
  log?: (event: Record<string, unknown>) => void;
}

/**
 * Drains the webhook outbox: claims due deliveries under a lease, sends each, and records the
 * answer (delivered, retry at a later time, or given up after `webhookAttemptsMax` attempts or
 * `webhookAgeMsMax`). It wakes when a committed entry raised an event and otherwise polls, which
 * also picks up retries, events other processes queued, and leases a stopped process left.
 *
 * @example
 * const deliverer = new WebhookDeliverer({ store, random: (n) => randomBytes(n) }).start();
 * await deliverer.stop();
 */
export class WebhookDeliverer {
  /** Deliveries waiting in the outbox, as last counted. */
  pending = 0;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private prunedMs = 0;
  private outboxDown = false;

  constructor(private readonly o: DelivererOptions) {
    this.fetch = o.fetch ?? fetch;
    this.now = o.now ?? (() => o.store.now());
  }

  /** Starts polling and listening for events; returns itself. */
  start(): this {
    this.unsubscribe = this.o.store.subscribe((entries) => {
      if (entries.some((e) => isWebhookEventKind(e.kind))) this.poke();
    });
    this.timer = setInterval(() => this.poke(), this.o.pollMs ?? opsLimits.webhookPollMsDefault);
    this.timer.unref();
    this.poke();
    return this;
  }

  /** Runs a pass soon (again after the current one, if one is running). */
  poke(): void {
    if (this.stopping.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopping.signal.aborted);
    })().finally(() => (this.running = undefined));
  }

  /**
   * One pass: claims and sends batches of due deliveries until none is due (or the pass bound),
   * then counts what waits and forgets old finished ones. Returns the attempts made. A store
   * that cannot answer ends the pass; the next poll tries again.
   */
  async pass(): Promise<number> {
    let attempts = 0;
    try {
      for (let batch = 0; batch < opsLimits.webhookBatchesPerPassMax && !this.stopping.signal.aborted; batch += 1) {
        const claimed = await this.o.store.webhooks.claim({ nowMs: this.now(), leaseMs: opsLimits.webhookLeaseMs, max: opsLimits.webhookBatchMax, claim: `cl_${base62(this.o.random, 16)}` });
        await Promise.all(claimed.map((d) => this.attempt(d)));
        attempts += claimed.length;
        if (claimed.length < opsLimits.webhookBatchMax) break;
      }
      await this.housekeeping();
      this.outboxDown = false;
    } catch (error) {
      // Said once per outage, not once per poll.
      if (!this.outboxDown) this.o.log?.({ level: 'warn', event: 'webhook_outbox_unavailable', message: error instanceof Error ? error.message : String(error) });
      this.outboxDown = true;
    }
    return attempts;
  }

  private async housekeeping(): Promise<void> {
    const nowMs = this.now();
    if (nowMs - this.prunedMs >= opsLimits.webhookPruneEveryMs) {
      await this.o.store.webhooks.prune(nowMs - contractLimits.webhookDeliveryRetentionMs);
      this.prunedMs = nowMs;
    }
    this.pending = await this.o.store.webhooks.pendingCount();
  }

  /** Sends one claimed delivery and records what came of it (unless the server is stopping). */
  private async attempt(d: ClaimedDelivery): Promise<void> {
    let body: string;
    try {
      body = JSON.stringify(webhookPayload(d.eventId, JSON.parse(d.facts) as WebhookFacts));
    } catch (error) {
      await this.finish(d, { delivered: false, status: null, error: `the event cannot be read: ${(error as Error).message}` }, true);
      return;
    }
    const sent = await sendWebhook({ url: d.url, secret: d.secret, eventId: d.eventId, kind: d.kind, body, attempt: d.attempts, nowMs: this.now(), fetch: this.fetch, signal: this.stopping.signal });
    // A stopping server leaves the delivery leased: whoever runs next tries it again when the lease ends.
    if (this.stopping.signal.aborted && !sent.delivered) return;
    await this.finish(d, sent, false);
  }

  private async finish(d: ClaimedDelivery, sent: SendResult, hopeless: boolean): Promise<void> {
    const atMs = this.now();
    const giveUp = hopeless || d.attempts >= opsLimits.webhookAttemptsMax || atMs - d.createdMs >= opsLimits.webhookAgeMsMax;
    const state = sent.delivered ? 'delivered' : giveUp ? 'failed' : 'pending';
    const record: AttemptRecord = { id: d.id, claim: d.claim, webhookId: d.webhookId, atMs, state, nextAttemptMs: state === 'pending' ? atMs + retryDelayMs(d.attempts) : atMs, status: sent.status, error: sent.error };
    if (!(await this.o.store.webhooks.record(record))) return;
    this.o.onAttempt?.(state === 'pending' ? 'retry' : state);
    if (state === 'failed') this.o.log?.({ level: 'error', event: 'webhook_given_up', webhook: d.webhookId, event_id: d.eventId, attempts: d.attempts, error: sent.error });
  }

  /** Stops polling, aborts requests in flight, and waits for the pass to end. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    this.stopping.abort();
    await this.running;
  }
}
