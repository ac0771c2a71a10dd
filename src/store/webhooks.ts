import { isWebhookEventKind, webhookEventId, webhookFactsOf, type BudgetRecord, type LedgerEntry, type WebhookStats } from '../core/index.js';
import { num, numOrNull, strOrNull, type Row } from './rows.js';

export type { WebhookStats };

/**
 * Webhooks and their outbox. A webhook is a URL with its own signing secret and the event kinds
 * it wants (null: every kind). The outbox holds one row per event and webhook, written in the
 * same transaction as the ledger entry that raised the event (see `outboxEventsOf`); a deliverer
 * claims due rows with a lease, so on a shared database only one process sends each row at a
 * time, and records what became of each attempt.
 */

/** A webhook as stored. The secret signs each delivery, so it is kept (and only ever shown once). */
export interface WebhookRecord {
  id: string;
  url: string;
  /** Event kinds it receives; null for every kind. */
  events: string[] | null;
  secret: string;
  createdMs: number;
}

export interface StoredWebhook extends WebhookRecord {
  stats: WebhookStats;
}

export const deliveryStates = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof deliveryStates)[number];

/** One event on its way to one webhook. */
export interface Delivery {
  id: number;
  webhookId: string;
  eventId: string;
  kind: string;
  /** The event's facts (`WebhookFacts`) as JSON: what the payload is rendered from, every attempt alike. */
  facts: string;
  createdMs: number;
  state: DeliveryState;
  attempts: number;
  nextAttemptMs: number;
  lastStatus: number | null;
  lastError: string | null;
  doneMs: number | null;
}

/** A delivery claimed for one attempt, with where to send it and the secret to sign it with. */
export interface ClaimedDelivery extends Delivery {
  url: string;
  secret: string;
  /** The lease's token: only its holder may record the attempt. */
  claim: string;
}

/** What one attempt did, and what happens next. */
export interface AttemptRecord {
  id: number;
  claim: string;
  webhookId: string;
  atMs: number;
  /** `pending`: try again at `nextAttemptMs`. */
  state: DeliveryState;
  nextAttemptMs: number;
  status: number | null;
  error: string | null;
}

export interface ClaimRequest {
  nowMs: number;
  /** How long the claimed rows stay with this claimant. */
  leaseMs: number;
  max: number;
  claim: string;
}

/**
 * The webhooks part of a store. Changes here are configuration and delivery bookkeeping, not
 * money: they are not ledger entries, and they never wait for the ledger's group commit.
 */
export interface WebhookStore {
  /** Adds a webhook unless `max` exist already; false then. */
  add(record: WebhookRecord, max: number): Promise<boolean>;
  list(): Promise<StoredWebhook[]>;
  get(id: string): Promise<StoredWebhook | undefined>;
  /** Removes a webhook and every delivery still queued for it; undefined when there is none. */
  remove(id: string): Promise<{ dropped: number } | undefined>;
  /** Leases up to `max` due deliveries (oldest first) that no one else holds. */
  claim(request: ClaimRequest): Promise<ClaimedDelivery[]>;
  /** Records an attempt; false when the lease was lost to another claimant (nothing is written). */
  record(attempt: AttemptRecord): Promise<boolean>;
  /** A webhook's deliveries, newest first. */
  deliveries(query: { webhookId: string; state?: DeliveryState; limit: number }): Promise<Delivery[]>;
  /** Deliveries waiting, for every webhook. */
  pendingCount(): Promise<number>;
  /** Forgets finished deliveries that ended before `beforeMs`; returns how many. */
  prune(beforeMs: number): Promise<number>;
}

/** An outbox row as a transaction writes it, before it is fanned out to the subscribed webhooks. */
export interface OutboxEvent {
  eventId: string;
  kind: string;
  facts: string;
  createdMs: number;
}

/**
 * The events among a transaction's entries, with the facts of each (its budget as it stands at
 * the end of the transaction). Cheap when there are none: one set lookup per entry.
 *
 * @example
 * for (const e of outboxEventsOf(tx.entries, (id) => cache.budgets.get(id))) insertOutbox.run(…);
 */
export function outboxEventsOf(entries: readonly LedgerEntry[], budgetOf: (id: number) => BudgetRecord | undefined): OutboxEvent[] {
  const out: OutboxEvent[] = [];
  for (const e of entries) {
    if (!isWebhookEventKind(e.kind)) continue;
    const b = budgetOf(e.budgetId);
    if (!b) continue;
    out.push({ eventId: webhookEventId(e), kind: e.kind, facts: JSON.stringify(webhookFactsOf(e, b)), createdMs: e.tsMs });
  }
  return out;
}

/** A delivery from its row (both stores name the columns alike). */
export function deliveryFromRow(r: Row): Delivery {
  return {
    id: num(r.id),
    webhookId: String(r.webhook_id),
    eventId: String(r.event_id),
    kind: String(r.kind),
    facts: String(r.facts),
    createdMs: num(r.created_ms),
    state: String(r.state) as DeliveryState,
    attempts: num(r.attempts),
    nextAttemptMs: num(r.next_attempt_ms),
    lastStatus: numOrNull(r.last_status),
    lastError: strOrNull(r.last_error),
    doneMs: numOrNull(r.done_ms),
  };
}

export function claimedFromRow(r: Row): ClaimedDelivery {
  return { ...deliveryFromRow(r), url: String(r.url), secret: String(r.secret), claim: String(r.claim) };
}

/** A webhook with its stats from its row; `events` is parsed by the caller's store (JSON or an array). */
export function webhookFromRow(r: Row, events: string[] | null): StoredWebhook {
  return {
    id: String(r.id),
    url: String(r.url),
    events,
    secret: String(r.secret),
    createdMs: num(r.created_ms),
    stats: {
      pending: num(r.pending ?? 0),
      delivered: num(r.delivered_count),
      failed: num(r.failed_count),
      lastAttemptMs: numOrNull(r.last_attempt_ms),
      lastStatus: numOrNull(r.last_status),
      lastError: strOrNull(r.last_error),
      lastDeliveredMs: numOrNull(r.last_delivered_ms),
    },
  };
}
