import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, type CliRun } from './cli-harness.js';

/** Mistyped agent names, model ids and options get a "did you mean" pointing to the right one. */

let dir: string;
let db: string;
const cli = (...args: string[]): Promise<CliRun> => runInProcess(['--db', db, ...args]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-suggest-'));
  db = join(dir, 'bursar.db');
  for (const path of ['acme/research/market-researcher', 'acme/eng/code-reviewer', 'acme/eng/test-writer', 'beta/eng/test-writer']) {
    const run = await cli('agents', 'create', path, '--budget-limit', '5.00', '--parents');
    if (run.code !== 0) throw new Error(run.stderr);
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('unknown agents', () => {
  it('suggest the nearest agent name for a mistyped bare name, on every command that takes one', async () => {
    // Proves update, pause, resume, tokens mint --agent and credits history --agent all help.
    const runs = [
      await cli('agents', 'update', 'market-reseacher', '--budget-limit', '8.00'),
      await cli('agents', 'pause', 'market-reseacher'),
      await cli('agents', 'resume', 'market-reseacher'),
      await cli('tokens', 'mint', '--agent', 'market-reseacher'),
      await cli('credits', 'history', '--agent', 'market-reseacher'),
    ];
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('bursar: unknown_budget: no agent at market-reseacher; did you mean market-researcher?\n');
    }
  });

  it('suggest paths for a mistyped path, and for a name that several agents share', async () => {
    // Proves the suggestion is always something the command accepts: a shared name alone would be ambiguous.
    const path = await cli('agents', 'pause', 'acme/eng/code-reviwer');
    expect(path.stderr).toBe('bursar: unknown_budget: no agent at acme/eng/code-reviwer; did you mean acme/eng/code-reviewer?\n');
    const shared = await cli('agents', 'pause', 'test-witer');
    expect(shared.stderr).toBe('bursar: unknown_budget: no agent at test-witer; did you mean acme/eng/test-writer or beta/eng/test-writer?\n');
  });

  it('say nothing more when no agent is near, and keep the code in --json', async () => {
    // Proves a suggestion is offered only when one is plausible, and that the stable code is unchanged.
    const far = await cli('agents', 'pause', 'billing-bot');
    expect(far.stderr).toBe('bursar: unknown_budget: no agent at billing-bot\n');
    const json = await cli('--json', 'agents', 'pause', 'code-reviwer');
    expect(JSON.parse(json.stderr)).toMatchObject({ ok: false, code: 'unknown_budget', message: 'no agent at code-reviwer; did you mean code-reviewer?' });
  });
});

describe('unknown models and misnamed options', () => {
  it('suggest the nearest priced model in bursar pricing show', async () => {
    // Proves a typo in a model id leads to the catalog's spelling.
    const run = await cli('pricing', 'show', 'gpt-4o-mni');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('bursar: model_unpriced: model "gpt-4o-mni" has no price in the catalog; did you mean gpt-4o-mini? (or add it to the pricing override file)\n');
  });

  it('point --limit to --budget-limit on agents create and update (and budgets create and update), changing nothing', async () => {
    // Proves the option people reach for is answered with the real one, as a usage error (exit 2).
    const cases = [
      ['agents', 'create', 'acme/research/new-bot', '--limit', '5.00'],
      ['agents', 'update', 'market-researcher', '--limit=50'],
      ['budgets', 'create', 'gamma', '--limit', '5'],
      ['budgets', 'update', 'acme', '--limit'],
    ];
    for (const args of cases) {
      const run = await cli(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(new RegExp(`^bursar: usage: --limit is not an option of ${args[0]} ${args[1]}; did you mean --budget-limit <usd>\\? e\\.g\\. --budget-limit \\d+\\.00\\n$`));
    }
    const list = await cli('--json', 'agents', 'list');
    expect((JSON.parse(list.stdout) as { agents: { path: string }[] }).agents.map((a) => a.path)).not.toContain('acme/research/new-bot');
  });
});
