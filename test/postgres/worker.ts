/**
 * One OS process of the multi-process test: opens the PostgreSQL store, subscribes to its
 * events, and on "go" fires many concurrent callers at one agent budget until each is refused,
 * resolving every admitted reservation one way or another. Reports everything over IPC.
 */
import type { LedgerEntry } from '../../src/core/index.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';

export type Action = 'settle_below' | 'settle_equal' | 'settle_above' | 'void' | 'expire';

export interface WorkerConfig {
  url: string;
  schema: string;
  path: string;
  /** When given, caller i reserves on paths[i % paths.length] instead of `path`. */
  paths?: string[];
  /** Tags every reservation carries. */
  tags?: string[];
  callers: number;
  /** TTL of reservations left to expire. */
  expireTtlMs: number;
  seed: number;
}

export interface Made {
  id: string;
  amountMicros: number;
  action: Action;
  /** What the settle or void answered (`ok` or a code); absent for reservations left to expire. */
  outcome?: string;
  actualMicros?: number;
}

export interface WorkerReport {
  type: 'report';
  made: Made[];
  refusals: Record<string, number>;
  /** Sequence numbers of the events this process's subscriber received, in order. */
  seen: number[];
}

const actions: Action[] = ['settle_below', 'settle_below', 'settle_below', 'settle_equal', 'settle_equal', 'settle_above', 'void', 'void', 'expire', 'expire'];

/** A small deterministic generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function actualFor(action: Action, amountMicros: number): number {
  if (action === 'settle_below') return Math.floor(amountMicros / 2);
  if (action === 'settle_above') return Math.floor(amountMicros * 1.5);
  return amountMicros;
}

const config = JSON.parse(process.env.BURSAR_WORKER ?? '{}') as WorkerConfig;
const store = await openPostgresStore({ url: config.url, schema: config.schema });
const seen: number[] = [];
store.subscribe((entries: readonly LedgerEntry[]) => {
  for (const e of entries) seen.push(e.seq);
});
const next = random(config.seed);

async function caller(made: Made[], refusals: Record<string, number>, index: number): Promise<void> {
  const path = config.paths?.[index % config.paths.length] ?? config.path;
  for (;;) {
    const action = actions[Math.floor(next() * actions.length)] ?? 'void';
    const amountMicros = 500 + Math.floor(next() * 4_500);
    const r = await store.reserve({ path, amountMicros, ttlMs: action === 'expire' ? config.expireTtlMs : 60_000, onExpiry: 'release', tags: config.tags });
    if (!r.ok) {
      refusals[r.code] = (refusals[r.code] ?? 0) + 1;
      if (r.code === 'budget_exceeded') return;
      continue;
    }
    const record: Made = { id: r.reservation.id, amountMicros, action };
    made.push(record);
    if (action === 'expire') continue;
    // Give other callers a turn, so resolutions interleave with reservations.
    await new Promise((resolve) => setImmediate(resolve));
    if (action === 'void') {
      record.outcome = codeOf(await store.void({ reservationId: record.id }));
    } else {
      record.actualMicros = actualFor(action, amountMicros);
      record.outcome = codeOf(await store.settle({ reservationId: record.id, actualMicros: record.actualMicros }));
    }
  }
}

function codeOf(result: { ok: true } | { ok: false; code: string }): string {
  return result.ok ? 'ok' : result.code;
}

process.on('message', (message: { type: 'go' | 'close' }) => {
  if (message.type === 'close') {
    void store.close().then(() => process.exit(0));
    return;
  }
  const made: Made[] = [];
  const refusals: Record<string, number> = {};
  void Promise.all(Array.from({ length: config.callers }, (_, i) => caller(made, refusals, i))).then(
    () => process.send?.({ type: 'report', made, refusals, seen } satisfies WorkerReport),
    (error: unknown) => process.send?.({ type: 'error', message: String(error) }),
  );
});
// Never outlive the parent: a benchmark or test that dies takes its workers with it.
process.on('disconnect', () => process.exit(1));
process.send?.({ type: 'ready' });
