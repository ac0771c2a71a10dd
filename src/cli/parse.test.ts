import { describe, expect, it } from 'vitest';
import { applyPatch } from '../core/index.js';
import { parentKindAt } from './budget-ops.js';
import { treeLines } from './budget-tree.js';
import { CliError } from './errors.js';
import { parseModelsArg, parseTimeArg, parseUsdArg } from './parse.js';
import type { BudgetView } from '../core/index.js';

function usageCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof CliError && error.exitCode === 2) return error.failure.code;
    throw error;
  }
  return undefined;
}

function budget(id: number, parentId: number | null, path: string): BudgetView {
  const name = path.split('/').pop() ?? path;
  return { id, parentId, name, path, kind: 'budget', status: 'active', limitMicros: null, period: 'none', timezone: 'UTC', periodStartMs: 0, periodEndMs: null, spentMicros: 0, reservedMicros: 0, grantedMicros: 0, overrunMicros: 0, remainingMicros: null, inflight: 0, policy: {}, createdMs: 0, alertSpentPct: 0, alertCommittedPct: 0, breaker: 'closed', trippedUntilMs: null, breakerCode: null, burn: [], loop: null };
}

describe('cli parsing', () => {
  it('reads USD into exact micros and refuses anything else as a usage error', () => {
    // Proves amounts never pass through floating point and bad ones stop before the ledger.
    const limit = parseUsdArg('--budget-limit');
    expect([limit('5'), limit('5.00'), limit('$0.000001'), limit('0.1'), limit(' 19.99 ')]).toEqual([5_000_000, 5_000_000, 1, 100_000, 19_990_000]);
    for (const bad of ['-1', 'abc', '1.2345678', '', '1,000', '1e3', '0x10', '5.']) expect(usageCode(() => limit(bad)), bad).toBe('invalid_amount');
    expect(usageCode(() => parseUsdArg('amount', { positive: true })('0'))).toBe('invalid_amount');
  });

  it('reads spans back from now and ISO dates as UTC', () => {
    // Proves --since accepts 30m/24h/7d/2w and dates, with a date without zone meaning UTC midnight.
    const nowMs = Date.UTC(2026, 0, 8, 12);
    const since = parseTimeArg('--since', () => nowMs);
    expect(since('24h')).toBe(nowMs - 86_400_000);
    expect(since('2w')).toBe(nowMs - 14 * 86_400_000);
    expect(since('2026-01-01')).toBe(Date.UTC(2026, 0, 1));
    expect(since('2026-01-01T10:00:00+02:00')).toBe(Date.UTC(2026, 0, 1, 8));
    for (const bad of ['yesterday', '24', '-1h', '2026-13-01', '99999999999d']) expect(usageCode(() => since(bad)), bad).toBe('invalid_time');
  });

  it('splits model lists and checks them with the policy rules', () => {
    // Proves --models trims and validates each id.
    expect(parseModelsArg('gpt-4o, claude-*')).toEqual(['gpt-4o', 'claude-*']);
    expect(usageCode(() => parseModelsArg(','))).toBe('invalid_policy');
    expect(usageCode(() => parseModelsArg('gpt 4'))).toBe('invalid_policy');
  });

  it('merges a policy patch: values set, null removes, missing keeps', () => {
    // Proves `agents update` narrows or clears one policy field without touching the others.
    expect(applyPatch({ models: ['a'], inflightMax: 4, requestCapMicros: 5 }, { inflightMax: 8, models: null })).toEqual({ inflightMax: 8, requestCapMicros: 5 });
  });

  it('names created parents org, team, then budget, and draws the tree depth first', () => {
    // Proves the --parents kinds and the tree drawing with branches and continuation bars.
    expect([1, 2, 3, 4].map(parentKindAt)).toEqual(['org', 'team', 'budget', 'budget']);
    const all = [budget(1, null, 'acme'), budget(2, 1, 'acme/research'), budget(3, 2, 'acme/research/bot'), budget(4, 1, 'acme/sales'), budget(5, null, 'zeta')];
    expect(treeLines(all).map((l) => l.label)).toEqual(['acme', '├─ research', '│  └─ bot', '└─ sales', 'zeta']);
    expect(treeLines(all, 'acme/research').map((l) => l.label)).toEqual(['research', '└─ bot']);
  });
});
