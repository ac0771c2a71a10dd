import { describe, expect, it } from 'vitest';
import { checkpointFormat, checkpointFromText, type ReplayBudget, type ReplayCheckpoint } from './replay.js';

const budget: ReplayBudget = {
  id: 1,
  parentId: null,
  path: 'acme',
  status: 'active',
  limitMicros: 1_000,
  period: 'month',
  timezone: 'UTC',
  periodStartMs: 0,
  periodEndMs: null,
  spentMicros: 0,
  reservedMicros: 10,
  grantedMicros: 0,
  overrunMicros: 0,
  inflight: 1,
  policy: { loopLimit: { repeats: 2, windowMs: 60_000 } },
  alertSpentPct: 0,
  alertCommittedPct: 0,
  trippedUntilMs: null,
  breakerTrips: 0,
  probeSeq: null,
  breakerCode: null,
  burn: null,
  loops: { entries: [] },
};

const checkpoint: ReplayCheckpoint = {
  format: checkpointFormat,
  seq: 3,
  hash: 'a'.repeat(64),
  entries: 3,
  budgets: [budget],
  open: [[2, { budgetId: 1, amountMicros: 10, createdMs: 0, also: [4] }]],
  expired: [[3, []]],
  charged: [],
  closed: [],
};

/** The checkpoint's text with `change` applied to a copy of it. */
function edited(change: (c: Record<string, unknown>) => void): string {
  const copy = JSON.parse(JSON.stringify(checkpoint)) as Record<string, unknown>;
  change(copy);
  return JSON.stringify(copy);
}

describe('reading a stored audit checkpoint', () => {
  it('resumes from a checkpoint of the current layout with every field the replay tracks', () => {
    // Proves the round trip: what an audit stores is what the next one reads back.
    expect(checkpointFromText(JSON.stringify(checkpoint))).toEqual(checkpoint);
  });

  it('passes over a checkpoint of another layout or lacking a field, so the audit replays from the first entry', () => {
    // Proves a checkpoint left by a replay that tracked less (no loops, no extra budgets) is never resumed from.
    const lacking = [
      edited((c) => delete c.format),
      edited((c) => (c.format = checkpointFormat - 1)),
      edited((c) => delete (c.budgets as Record<string, unknown>[])[0]?.loops),
      edited((c) => delete (c.budgets as Record<string, unknown>[])[0]?.breakerCode),
      edited((c) => delete ((c.open as [number, Record<string, unknown>][])[0]?.[1] ?? {}).also),
      edited((c) => (c.expired = [3])),
      edited((c) => delete c.charged),
      'not json',
      'null',
    ];
    for (const text of lacking) expect(checkpointFromText(text), text).toBeUndefined();
  });
});
