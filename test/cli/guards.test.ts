import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDb, type TempDb } from './cli-harness.js';

/** The CLI's side of the guards: burn-limit and alert-threshold flags, the breaker reset, the alert list. */

interface AlertJson {
  budget: string;
  threshold_pct: number;
  basis: string;
  value_micros: number;
}

describe('bursar guards', () => {
  let t: TempDb;
  beforeEach(() => {
    t = tempDb();
  });
  afterEach(() => t.remove());

  it('refuses a zero window, a zero amount, an unreadable limit and thresholds over 1000 % as usage errors naming the flag', async () => {
    // Proves edge validation before the ledger: exit 2, code invalid_policy, nothing created.
    for (const args of [['--burn-limit', '0/1m'], ['--burn-limit', '1/0m'], ['--burn-limit', 'fast'], ['--burn-limit', '1/1m', '--burn-limit', '2/60s'], ['--alert-thresholds', '50,1001'], ['--alert-thresholds', 'half']]) {
      const run = await t.cli('agents', 'create', 'acme/bot', '--parents', ...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(new RegExp(`^bursar: invalid_policy: ${args[args.length - 2]}: `));
    }
    expect(existsSync(t.db)).toBe(false);
  });

  it('sets and replaces burn limits and thresholds, trips, lists alerts, and resets the breaker by hand', async () => {
    // Proves the flags reach the policy, the breaker and alerts show up, and reset-breaker writes one entry.
    await t.ok('agents', 'create', 'acme/bot', '--budget-limit', '0.01', '--burn-limit', '0.01/1m', '--alert-thresholds', '50,100', '--parents');
    const store = t.store();
    expect((await store.reserve({ path: 'acme/bot', amountMicros: 6_000 })).ok).toBe(true);
    const refused = await store.reserve({ path: 'acme/bot', amountMicros: 6_000 });
    expect(refused.ok ? 'ok' : refused.code).toBe('burn_limit');
    await store.close();

    const alerts = await t.json<{ alerts: AlertJson[] }>('alerts', 'list', '--budget', 'acme');
    expect(alerts.alerts).toEqual([expect.objectContaining({ budget: 'acme/bot', threshold_pct: 50, basis: 'committed', value_micros: 6_000 })]);
    expect((await t.json<{ alerts: AlertJson[] }>('alerts', 'list', '--basis', 'spent')).alerts).toEqual([]);
    expect((await t.ok('budgets', 'show', 'acme/bot')).stdout).toMatch(/Breaker: open until .*reset-breaker acme\/bot/);
    const missing = await t.cli('alerts', 'list', '--budget', 'acme/none');
    expect([missing.code, missing.stderr]).toEqual([1, 'bursar: unknown_budget: no budget at acme/none\n']);

    const reset = await t.json<{ was: string; budget: { breaker: string; burn: { burn_micros: number }[] } }>('budgets', 'reset-breaker', 'acme/bot', '--reason', 'checked');
    expect([reset.was, reset.budget.breaker, reset.budget.burn[0]?.burn_micros]).toEqual(['open', 'closed', 0]);
    expect((await t.ok('budgets', 'reset-breaker', 'acme/bot')).stdout).toContain('it was not tripped; nothing changed');
    const ledger = JSON.parse((await t.ok('ledger', 'export', '--format', 'json')).stdout) as { kind: string; reason: string | null }[];
    expect(ledger.filter((e) => e.kind.startsWith('breaker_')).map((e) => [e.kind, e.reason])).toEqual([['breaker_tripped', expect.stringContaining('over the burn limit') as unknown], ['breaker_closed', 'checked']]);

    const updated = await t.json<{ budget: { policy: Record<string, unknown> } }>('agents', 'update', 'bot', '--burn-limit', '5/1h', '--burn-limit', '1/1m', '--no-alert-thresholds');
    expect(updated.budget.policy).toMatchObject({ burn_limits: [{ amount_micros: 5_000_000, window_ms: 3_600_000 }, { amount_micros: 1_000_000, window_ms: 60_000 }] });
    expect(updated.budget.policy.alert_thresholds_pct).toBeUndefined();
    const off = await t.json<{ budget: { policy: Record<string, unknown> } }>('agents', 'update', 'bot', '--burn-limit', 'none');
    expect(off.budget.policy.burn_limits).toEqual([]);
  });
});
