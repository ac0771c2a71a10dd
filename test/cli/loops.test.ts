import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDb, type TempDb } from './cli-harness.js';

/** The CLI's side of loop detection: the --loop-limit flag, what show and tree say, the reset. */

interface PolicyJson {
  budget: { policy: Record<string, unknown>; loop: { repeats: number; window_ms: number } | null };
}

describe('bursar loop limits', () => {
  let t: TempDb;
  beforeEach(() => {
    t = tempDb();
  });
  afterEach(() => t.remove());

  it('refuses zero or negative repeats, a zero window and garbage as usage errors naming the flag', async () => {
    // Proves edge validation before the ledger: exit 2, code invalid_policy, nothing created.
    for (const value of ['0/10m', '-1/10m', '20/0m', '20', 'often', '20/10y', '100001/1m']) {
      const run = await t.cli('agents', 'create', 'acme/bot', '--parents', '--loop-limit', value);
      expect(run.code, value).toBe(2);
      expect(run.stderr, value).toMatch(/^bursar: invalid_policy: --loop-limit: /);
    }
    expect(existsSync(t.db)).toBe(false);
  });

  it('sets a loop limit, shows the loop a trip caught, marks the tree, resets, and turns it off', async () => {
    // Proves the flag reaches the policy, budgets show and tree say a loop tripped the breaker, and the update forms work.
    const made = await t.json<PolicyJson>('agents', 'create', 'acme/bot', '--parents', '--loop-limit', '2 per 1h');
    expect(made.budget.policy.loop_limit).toEqual({ repeats: 2, window_ms: 3_600_000 });
    expect((await t.json<PolicyJson>('agents', 'create', 'acme/other')).budget.policy.loop_limit).toEqual({ repeats: 20, window_ms: 600_000 });
    const store = t.store();
    const first = await store.reserve({ path: 'acme/bot', amountMicros: 1, fingerprint: 'fpCli' });
    const second = await store.reserve({ path: 'acme/bot', amountMicros: 1, fingerprint: 'fpCli' });
    const third = await store.reserve({ path: 'acme/bot', amountMicros: 1, fingerprint: 'fpCli' });
    await store.close();
    expect(third.ok ? 'ok' : third.code).toBe('loop_detected');
    const ids = [first, second].map((r) => (r.ok ? r.reservation.id : ''));
    const shown = (await t.ok('budgets', 'show', 'acme/bot')).stdout;
    expect(shown).toContain(`Loops: at most 2 repeats of one request in 1h; 1 request counted now; the most repeated came 2 times (${ids[0]} to ${ids[1]})`);
    expect(shown).toMatch(/Breaker: open until .*: a loop was detected .*reset-breaker acme\/bot/);
    expect(shown).toContain('loop limit 2/1h');
    expect((await t.ok('budgets', 'tree')).stdout).toMatch(/bot .*TRIPPED \(loop\)/);
    expect((await t.ok('budgets', 'reset-breaker', 'acme/bot')).stdout).toContain('its burn windows and loop counts start empty');
    const updated = await t.json<PolicyJson>('agents', 'update', 'bot', '--loop-limit', '1/2h');
    expect(updated.budget.loop).toMatchObject({ repeats: 1, window_ms: 7_200_000 });
    const off = await t.json<PolicyJson>('agents', 'update', 'bot', '--loop-limit', 'off');
    expect([off.budget.policy.loop_limit, off.budget.loop]).toEqual(['off', null]);
    const wide = await t.cli('budgets', 'create', 'acme/other/sub', '--loop-limit', '30/10m');
    expect([wide.code, wide.stderr]).toEqual([1, expect.stringMatching(/^bursar: policy_widens: loop limit of 30 repeats is above the parent's 20/) as unknown]);
  });
});
