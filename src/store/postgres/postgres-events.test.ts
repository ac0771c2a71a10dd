import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../core/index.js';
import { PgEvents } from './postgres-events.js';

/** A ledger of bare entries, a fake LISTEN connection, and what reached the subscriber. */
function harness(options: { failFetches?: number } = {}) {
  const ledger: LedgerEntry[] = [];
  const delivered: number[] = [];
  const listen = new EventEmitter() as EventEmitter & Record<string, unknown>;
  let failures = options.failFetches ?? 0;
  Object.assign(listen, {
    query: async (text: string) => (text.startsWith('LISTEN') ? { rows: [] } : { rows: [{ seq: ledger.length }] }),
    end: async () => undefined,
    escapeIdentifier: (s: string) => `"${s}"`,
  });
  const events = new PgEvents(
    {
      deliver: (entries) => delivered.push(...entries.map((e) => e.seq)),
      fetch: async (after, upto, max) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('connection terminated');
        }
        return ledger.filter((e) => e.seq > after && e.seq <= upto).slice(0, max);
      },
      connect: async () => listen as unknown as pg.Client,
      headSeq: async () => ledger.length,
      channel: 'c',
    },
    0,
  );
  const write = (n: number): LedgerEntry[] => {
    const made = Array.from({ length: n }, (_, i) => ({ seq: ledger.length + i + 1 }) as LedgerEntry);
    ledger.push(...made);
    return made;
  };
  const notify = () => listen.emit('notification', { channel: 'c', payload: String(ledger.length) });
  return { events, delivered, write, notify };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('postgres event feed', () => {
  it('delivers local commits at once and fetches other processes entries first when they come between', async () => {
    // Proves global order without duplicates: remote gaps are filled before later local entries go out.
    const h = harness();
    h.events.subscriberAdded();
    await settle();
    h.events.local(h.write(2));
    expect(h.delivered).toEqual([1, 2]);
    h.write(3); // another process
    h.events.local(h.write(1));
    expect(h.delivered).toEqual([1, 2]);
    await settle();
    expect(h.delivered).toEqual([1, 2, 3, 4, 5, 6]);
    h.notify(); // our own commit's notification, late: nothing new
    h.events.local(h.write(1));
    await settle();
    expect(h.delivered).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await h.events.close();
  });

  it('catches up on notified entries after fetch failures, without skipping or repeating any', async () => {
    // Proves recovery: a failed fetch is retried later and the feed resumes where it stopped.
    const h = harness({ failFetches: 2 });
    h.events.subscriberAdded();
    await settle();
    h.write(4);
    h.notify();
    h.events.local(h.write(1));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(h.delivered).toEqual([1, 2, 3, 4, 5]);
    await h.events.close();
  });

  it('owes nothing committed before the first subscriber listened', async () => {
    // Proves a late subscriber starts from the head it found, not from the start of history.
    const h = harness();
    h.write(50);
    h.events.subscriberAdded();
    await settle();
    h.events.local(h.write(1));
    await settle();
    expect(h.delivered).toEqual([51]);
    await h.events.close();
  });
});
