import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy } from '../../src/core/index.js';
import { openSqliteStore, type Store } from '../../src/store/index.js';
import { mintToken, type Minted, type MintSpec } from '../gateway/agent-harness.js';

/**
 * A ledger for the MCP tests: a SQLite file (which a `bursar` process can open too) with an
 * org/team/agent tree, and spend tokens minted on the agent.
 */

export interface McpFixture {
  dbPath: string;
  store: Store;
  /** Mints a token on acme/research/bot (see `mintToken`). */
  mint(spec?: MintSpec): Promise<Minted>;
  /** Every entry of the ledger, oldest first. */
  entries(): Promise<Awaited<ReturnType<Store['ledger']>>['entries']>;
  close(): Promise<void>;
}

export const agentPath = 'acme/research/bot';

export async function mcpFixture(options: { agentPolicy?: Policy; agentLimitMicros?: number } = {}): Promise<McpFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-mcp-'));
  const dbPath = join(dir, 'mcp.db');
  const store = openSqliteStore({ path: dbPath });
  const made = [
    await store.createBudget({ path: 'acme', kind: 'org', limitMicros: 100_000_000, period: 'month' }),
    await store.createBudget({ path: 'acme/research', kind: 'team', limitMicros: 50_000_000 }),
    await store.createBudget({ path: agentPath, kind: 'agent', limitMicros: options.agentLimitMicros ?? 10_000_000, policy: options.agentPolicy ?? { inflightMax: 100 } }),
  ];
  for (const m of made) if (!m.ok) throw new Error(`${m.code}: ${m.message}`);
  return {
    dbPath,
    store,
    mint: (spec = {}) => mintToken(store, { path: agentPath, ...spec }),
    async entries() {
      const out = [];
      let cursor: string | undefined;
      do {
        const page = await store.ledger({ cursor, limit: 1_000, order: 'asc' });
        out.push(...page.entries);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
