import type { Period } from './period.js';
import type { BudgetRecord, EntryKind, LedgerEntry } from './types.js';

/**
 * The ledger entry kinds that are also webhook events. When a transaction commits an entry of
 * one of these kinds, the store queues it for every webhook that subscribes to the kind, in that
 * same transaction (the outbox), so an event is never lost and never announced for a change
 * that did not commit. This list is the one place that decides it: a guard that writes a new
 * kind of entry worth announcing adds the kind here.
 *
 * @example
 * isWebhookEventKind('alert') // true
 * isWebhookEventKind('reserve') // false
 */
export const webhookEventKinds = ['alert', 'breaker_tripped', 'breaker_closed'] as const satisfies readonly EntryKind[];
export type WebhookEventKind = (typeof webhookEventKinds)[number];

const eventKinds: ReadonlySet<string> = new Set(webhookEventKinds);

export function isWebhookEventKind(kind: string): kind is WebhookEventKind {
  return eventKinds.has(kind);
}

/** The budget an event is about, as it stood when the event's transaction committed. */
export interface WebhookBudgetFacts {
  id: number;
  path: string;
  period: Period;
  periodStartMs: number;
  periodEndMs: number | null;
  limitMicros: number | null;
  grantedMicros: number;
  spentMicros: number;
  reservedMicros: number;
}

/** What an outbox row keeps of its event: the entry itself and its budget at that moment. */
export interface WebhookFacts {
  entry: LedgerEntry;
  budget: WebhookBudgetFacts;
}

/**
 * The facts of an event-producing entry, taken inside its transaction.
 *
 * @example
 * const facts = webhookFactsOf(entry, tx.budgetById(entry.budgetId));
 */
export function webhookFactsOf(entry: LedgerEntry, b: BudgetRecord): WebhookFacts {
  return {
    entry: { ...entry },
    budget: {
      id: b.id,
      path: b.path,
      period: b.period,
      periodStartMs: b.periodStartMs,
      periodEndMs: b.periodEndMs,
      limitMicros: b.limitMicros,
      grantedMicros: b.grantedMicros,
      spentMicros: b.spentMicros,
      reservedMicros: b.reservedMicros,
    },
  };
}

/**
 * The stable id of the event an entry raised: its sequence number and the start of its hash,
 * so it never changes across retries and restarts, and two ledgers do not share one.
 *
 * @example
 * webhookEventId({ seq: 42, hash: '9f3a1c2e…' }) // 'evt_42_9f3a1c2e'
 */
export function webhookEventId(entry: Pick<LedgerEntry, 'seq' | 'hash'>): string {
  return `evt_${entry.seq}_${entry.hash.slice(0, 8)}`;
}

/** What became of a webhook's deliveries. */
export interface WebhookStats {
  /** Deliveries waiting for their first or next attempt. */
  pending: number;
  delivered: number;
  /** Deliveries given up after too many attempts or too long. */
  failed: number;
  lastAttemptMs: number | null;
  /** HTTP status of the last attempt; null when it got no answer (or none was made). */
  lastStatus: number | null;
  lastError: string | null;
  lastDeliveredMs: number | null;
}
