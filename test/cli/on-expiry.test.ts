import { afterAll, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/store/conformance/index.js';
import { tempDb } from './cli-harness.js';

const t = tempDb();
afterAll(() => t.remove());

describe('the on-expiry policy from the CLI', () => {
  it('sets release on an org, narrows it to charge below, refuses a widening and a bad value, and expiry follows it', async () => {
    // Proves the policy reaches the ledger from the CLI and that a tool hold expires by it.
    await t.ok('budgets', 'create', 'o', '--budget-limit', '10.00', '--on-expiry', 'release');
    await t.ok('agents', 'create', 'o/a');
    await t.ok('agents', 'create', 'o/b', '--on-expiry', 'charge');
    const shown = await t.ok('budgets', 'show', 'o');
    expect(shown.stdout).toContain('on expiry release');
    const json = await t.json<{ budget: { policy: { on_expiry?: string } } }>('budgets', 'show', 'o/b');
    expect(json.budget.policy.on_expiry).toBe('charge');
    const wide = await t.cli('budgets', 'create', 'o/b/x', '--on-expiry', 'release');
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain('policy_widens');
    const bad = await t.cli('budgets', 'update', 'o', '--on-expiry', 'later');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/charge, release/);

    const clock = new SimClock(Date.now());
    const store = t.store(clock);
    const released = await store.reserve({ path: 'o/a', amountMicros: 1_000_000, ttlMs: 1_000, labels: { tool: 'web_search' } });
    const charged = await store.reserve({ path: 'o/b', amountMicros: 1_000_000, ttlMs: 1_000, labels: { tool: 'web_search' } });
    clock.advance(1_000);
    await store.sweep();
    if (!released.ok || !charged.ok) throw new Error('reserve failed');
    expect((await store.getReservation(released.reservation.id))?.status).toBe('expired');
    expect((await store.getReservation(charged.reservation.id))?.status).toBe('charged');
    await store.close();
    const audit = await t.cli('audit', 'verify');
    expect(audit.code, audit.stdout).toBe(0);
  });
});
