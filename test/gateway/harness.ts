import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, expect } from 'vitest';
import { newSpendToken, type LedgerEntry, type Policy } from '../../src/core/index.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/index.js';
import { bundledCatalog, priceUsage, resolveModel, type TokenUsage } from '../../src/pricing/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { OffsetClock } from '../support/offset-clock.js';

export const usd = (n: number) => Math.round(n * 1_000_000);

export interface Harness {
  server: RunningServer;
  /** The clock of the server's store (and so of the gateway): advance it to let tokens and reservations lapse. */
  clock: OffsetClock;
  secret: string;
  tokenId: string;
  envelope: string;
  openai: OpenAI;
  anthropic: Anthropic;
  /** What the server logged (deferred settlements, implausible usage), oldest first. */
  logs: Record<string, unknown>[];
  /** Mints another token on the agent. */
  mint(options?: { limitMicros?: number | null; models?: string[]; expiresMs?: number; inflightMax?: number; path?: string }): Promise<{ secret: string; id: string; envelope: string }>;
  entries(kinds?: LedgerEntry['kind'][]): Promise<LedgerEntry[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  mode?: ServeOptions['mode'];
  agentLimitMicros?: number | null;
  agentPolicy?: Policy;
  tokenLimitMicros?: number | null;
  upstreamTimeoutMs?: number;
  /** Told of every proxied call's outcome (route, status, code, cost). */
  onCall?: ServeOptions['onCall'];
  /** Client connection bounds over the server's defaults (header and request timeouts). */
  connections?: ServeOptions['connections'];
}

/**
 * A real server on 127.0.0.1 (SQLite file, the mock provider), an org/team/agent tree, a spend
 * token on the agent, and the official OpenAI and Anthropic SDKs pointed at the gateway.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-gw-'));
  const clock = new OffsetClock();
  const store = openSqliteStore({ path: join(dir, 'gw.db'), clock });
  const logs: Record<string, unknown>[] = [];
  const server = await startServer({ port: 0, store, mockUpstream: true, mode: options.mode ?? 'enforce', env: {}, upstreamTimeoutMs: options.upstreamTimeoutMs, onCall: options.onCall, connections: options.connections, log: (event) => logs.push(event) });
  const must = <T extends { ok: boolean }>(r: T) => {
    if (!r.ok) throw new Error(JSON.stringify(r));
    return r;
  };
  must(await store.createBudget({ path: 'acme', kind: 'org', limitMicros: usd(100), period: 'month' }));
  must(await store.createBudget({ path: 'acme/research', kind: 'team', limitMicros: usd(50) }));
  must(await store.createBudget({ path: 'acme/research/bot', kind: 'agent', limitMicros: options.agentLimitMicros === undefined ? usd(10) : options.agentLimitMicros, policy: options.agentPolicy ?? { inflightMax: 1_000 } }));
  async function mint(o: Parameters<Harness['mint']>[0] = {}) {
    const t = newSpendToken((n) => randomBytes(n));
    const made = must(await store.mintToken({ path: o.path ?? 'acme/research/bot', tokenId: t.id, hash: t.hash, limitMicros: o.limitMicros === undefined ? options.tokenLimitMicros ?? usd(5) : o.limitMicros, models: o.models, expiresMs: o.expiresMs, inflightMax: o.inflightMax }));
    if (!made.ok) throw new Error('mint failed');
    return { secret: t.secret, id: t.id, envelope: (made as { envelope: { path: string } }).envelope.path };
  }
  const first = await mint();
  return {
    server,
    clock,
    secret: first.secret,
    tokenId: first.id,
    envelope: first.envelope,
    openai: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: first.secret, maxRetries: 0 }),
    anthropic: new Anthropic({ baseURL: server.url, apiKey: first.secret, maxRetries: 0 }),
    logs,
    mint,
    async entries(kinds) {
      const out: LedgerEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.ledger({ kinds, cursor, limit: 1000 });
        out.push(...page.entries);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The catalog cost of usage for a model: what a settlement must equal to the micro. */
export function expectedCost(model: string, usage: TokenUsage): number {
  const resolved = resolveModel(model, bundledCatalog());
  if (!resolved.ok) throw new Error(`unpriced ${model}`);
  return priceUsage(resolved.entry, usage).costMicros;
}

/** Waits until `check` passes (for effects that land after a response, like a settlement). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * One harness for a whole test file: started before its tests, and after them the ledger must
 * still audit clean before the server closes.
 *
 * @example
 * let h: Harness;
 * useHarness((started) => (h = started));
 */
export function useHarness(set: (h: Harness) => void, options: HarnessOptions = {}): void {
  let started: Harness | undefined;
  beforeAll(async () => {
    started = await startHarness(options);
    set(started);
  });
  afterAll(async () => {
    if (!started) return;
    const report = await started.server.store.audit();
    await started.close();
    expect(report.problems).toEqual([]);
  });
}
