import { afterAll, describe, expect, inject, it } from 'vitest';
import type { BudgetView } from '../../src/core/index.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { OffsetClock } from '../support/offset-clock.js';
import { dropSchemas, forkScript, freshSchema, nextMessage, sleep, stopChild, withinLimit } from './support.js';
import type { WorkerConfig, WorkerReport } from './worker.js';

const url = inject('pgUrl');
const schemas = new Set<string>();
afterAll(() => dropSchemas(url, schemas));

const processes = 4;
const callersPerProcess = 30;
const expireTtlMs = 1_000;
const workerTimeoutMs = 60_000;
const tagLimitMicros = 600_000;
const agents = ['alpha/ops/bot', 'beta/ops/bot'];


describe('a tag budget on postgres across OS processes', () => {
  it('holds a tag budget shared by agents of two orgs while 4 processes race for it, and the audit replays it', { timeout: 120_000 }, async () => {
    // Proves a cross-cutting budget keeps the invariant across processes: held in each reservation's transaction under the head lock.
    const schema = freshSchema('tagrace');
    schemas.add(schema);
    const clock = new OffsetClock();
    const store = await openPostgresStore({ url, schema, clock });
    for (const path of agents) expect((await store.createBudget({ path, kind: 'agent', createParents: true, policy: { inflightMax: 10_000, burnLimits: [] } })).ok).toBe(true);
    expect((await store.createBudget({ path: 'tags/shared', kind: 'tag', limitMicros: tagLimitMicros })).ok).toBe(true);
    const workers = Array.from({ length: processes }, (_, i) => {
      const config: WorkerConfig = { url, schema, path: agents[0] ?? '', paths: agents, tags: ['shared', 'unbudgeted'], callers: callersPerProcess, expireTtlMs, seed: 11 + i };
      return forkScript(new URL('./worker.ts', import.meta.url), { BURSAR_WORKER: JSON.stringify(config) });
    });
    try {
      await Promise.all(workers.map((w) => nextMessage(w, 'ready', workerTimeoutMs)));
      const done = Promise.all(workers.map((w) => nextMessage<WorkerReport>(w, 'report', workerTimeoutMs)));
      for (const w of workers) w.send({ type: 'go' });
      let finished = false;
      void done.then(() => (finished = true), () => (finished = true));
      const breaches: (BudgetView | undefined)[] = [];
      while (!finished) {
        const tag = await store.getBudget('tags/shared');
        if (!withinLimit(tag)) breaches.push(tag);
        await sleep(20);
      }
      const reports = await done;
      expect(breaches).toEqual([]);
      for (const r of reports) expect(r.refusals.budget_exceeded).toBeGreaterThan(0);
      clock.advance(expireTtlMs + 100);
      for (let i = 0; i < 100 && (await store.sweep()) > 0; i += 1);
      const made = reports.flatMap((r) => r.made);
      const settled = made.filter((m) => m.outcome === 'ok' && m.actualMicros !== undefined).reduce((n, m) => n + (m.actualMicros ?? 0), 0);
      const [tag, root, alpha, beta] = await Promise.all(['tags/shared', 'tags', 'alpha', 'beta'].map((p) => store.getBudget(p)));
      expect([tag?.spentMicros, tag?.reservedMicros, tag?.inflight]).toEqual([settled, 0, 0]);
      expect(root?.spentMicros).toBe(settled);
      expect((alpha?.spentMicros ?? 0) + (beta?.spentMicros ?? 0)).toBe(settled);
      expect([alpha?.spentMicros, beta?.spentMicros].every((s) => (s ?? 0) > 0)).toBe(true);
      expect(withinLimit(tag)).toBe(true);
      const report = await store.audit();
      expect(report.problems).toEqual([]);
    } finally {
      await Promise.all(workers.map((w) => stopChild(w, 10_000)));
      await store.close();
    }
  });
});
