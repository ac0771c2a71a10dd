/**
 * One benchmark process: opens the PostgreSQL store, then on command runs many concurrent
 * callers against one budget chain and reports what it measured over IPC. Started by
 * bench/postgres.ts; not meant to be run by hand.
 */
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';

interface Start {
  url: string;
  schema: string;
  path: string;
}
type Command = { type: 'run'; callers: number; seconds: number; warmupMs: number } | { type: 'drain'; callers: number; amountMicros: number } | { type: 'close' };

function send(message: Record<string, unknown>): void {
  process.send?.(message);
}

const start = JSON.parse(process.env.BURSAR_BENCH ?? '{}') as Start;
const store = await openPostgresStore({ url: start.url, schema: start.schema });

/** Reserve → settle loops for `seconds`; reserve latencies are kept after the warm-up. */
async function run(callers: number, seconds: number, warmupMs: number): Promise<void> {
  const t0 = performance.now();
  const warmEnd = t0 + warmupMs;
  const end = warmEnd + seconds * 1000;
  const latenciesMs: number[] = [];
  const refusals: Record<string, number> = {};
  let measured = 0;
  async function caller(): Promise<void> {
    while (performance.now() < end) {
      const began = performance.now();
      const r = await store.reserve({ path: start.path, amountMicros: 1_000, ttlMs: 60_000 });
      const done = performance.now();
      if (!r.ok) {
        refusals[r.code] = (refusals[r.code] ?? 0) + 1;
        continue;
      }
      if (began >= warmEnd && done <= end) {
        measured += 1;
        latenciesMs.push(done - began);
      }
      const s = await store.settle({ reservationId: r.reservation.id, actualMicros: 900 });
      if (!s.ok) refusals[s.code] = (refusals[s.code] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: callers }, caller));
  send({ type: 'ran', measured, seconds, latenciesMs, refusals });
}

/** Every caller reserves until refused: the race for the last dollar. */
async function drain(callers: number, amountMicros: number): Promise<void> {
  let admitted = 0;
  const refusals: Record<string, number> = {};
  async function caller(): Promise<void> {
    for (;;) {
      const r = await store.reserve({ path: start.path, amountMicros, ttlMs: 60_000 });
      if (!r.ok) {
        refusals[r.code] = (refusals[r.code] ?? 0) + 1;
        if (r.code === 'budget_exceeded') return;
        continue;
      }
      admitted += 1;
    }
  }
  await Promise.all(Array.from({ length: callers }, caller));
  send({ type: 'drained', admitted, refusals });
}

process.on('message', (message: Command) => {
  const work = message.type === 'run' ? run(message.callers, message.seconds, message.warmupMs) : message.type === 'drain' ? drain(message.callers, message.amountMicros) : store.close().then(() => process.exit(0));
  work.catch((error: unknown) => {
    send({ type: 'error', message: String(error) });
    process.exit(1);
  });
});
// Never outlive the parent: a benchmark or test that dies takes its workers with it.
process.on('disconnect', () => process.exit(1));
send({ type: 'ready' });
