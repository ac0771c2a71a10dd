import { afterEach, describe, expect, it, vi } from 'vitest';
import { runInProcess } from '../cli/cli-harness.js';
import { importReadmeExample, readmeExampleNames, readmeShellBefore, useFrameworkServer } from './examples.js';

/**
 * The README's delegation example, word for word: the `bursar tokens mint … --delegate` line
 * mints the token, and `delegate.ts` hands a sub-agent part of it, spends, and revokes it.
 */

const s = useFrameworkServer();

afterEach(() => {
  delete process.env.BURSAR_TOKEN;
  vi.restoreAllMocks();
});

describe('the README\'s delegation example (delegate.ts)', () => {
  it('runs as written with the token the README mints: the child spends within its share and is revoked', async () => {
    // Proves the example fits its token: the mint line gives the delegate scope and room for the child, and every step succeeds.
    const made = await s.h.server.store.createBudget({ path: 'acme/research/market-researcher', kind: 'agent', limitMicros: 10_000_000, policy: { burnLimits: [] } });
    expect(made.ok).toBe(true);
    const line = readmeShellBefore('delegate.ts').split('\n').find((l) => l.startsWith('bursar tokens mint')) ?? '';
    const args = line.replace(/#.*$/, '').trim().split(/\s+/).slice(1);
    expect(args).toContain('--delegate');
    const minted = await runInProcess(['--url', s.h.server.url, '--json', ...args], { BURSAR_ADMIN_KEY: s.h.server.generatedAdminKey });
    expect(minted.stderr).toBe('');
    const parent = JSON.parse(minted.stdout) as { id: string; token: string; budget: string; warnings: string[] };
    expect(parent.warnings).toEqual([]);
    process.env.BURSAR_TOKEN = parent.token;
    const printed: unknown[][] = [];
    vi.spyOn(console, 'log').mockImplementation((...values: unknown[]) => void printed.push(values));

    await importReadmeExample('delegate.ts');

    const child = (await s.h.entries(['token_minted'])).at(-1);
    expect(child?.amountMicros).toBe(500_000);
    const childBudget = (await s.h.server.store.listBudgets()).find((b) => b.id === child?.budgetId);
    expect(childBudget?.path.startsWith(`${parent.budget}/`)).toBe(true);
    expect(childBudget?.status).toBe('closed');
    const [settle] = await s.settles(childBudget?.path ?? '');
    expect(settle?.amountMicros).toBeGreaterThan(0);
    expect(String(printed[0]?.[1])).toBe(`(${500_000 - (settle?.amountMicros ?? 0)} micros left to the sub-agent)`);
  });

  it('knows every example the README names, each run by a test file here', () => {
    // Proves no example escapes testing: a new named TypeScript block in the README fails this until a test runs it.
    expect(readmeExampleNames().sort()).toEqual(['ai-sdk.ts', 'delegate.ts', 'langchain.ts', 'openai-agents.ts']);
  });
});
