/**
 * One OS process of the breaker tests (burn limits, loop detection): on "go", many concurrent
 * callers reserve and settle small calls on one agent (all with one request fingerprint when
 * given) until the breaker refuses each of them a few times in a row. Reports what was
 * admitted and refused over IPC.
 */
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';

export interface BurnWorkerConfig {
  url: string;
  schema: string;
  path: string;
  callers: number;
  amountMicros: number;
  /** Refusals in a row after which a caller stops. */
  refusalsToStop: number;
  /** The request fingerprint every call carries (the same request over and over), if any. */
  fingerprint?: string;
}

export interface BurnWorkerReport {
  type: 'report';
  /** Reservation ids admitted (and settled) by this process. */
  admitted: string[];
  refusals: Record<string, number>;
  /** Retry-after of every burn_limit or loop_detected refusal, in ms. */
  retryAfterMs: number[];
}

const config = JSON.parse(process.env.BURSAR_WORKER ?? '{}') as BurnWorkerConfig;
const store = await openPostgresStore({ url: config.url, schema: config.schema });

async function caller(report: BurnWorkerReport): Promise<void> {
  let inRow = 0;
  while (inRow < config.refusalsToStop) {
    const r = await store.reserve({ path: config.path, amountMicros: config.amountMicros, ttlMs: 60_000, fingerprint: config.fingerprint });
    if (!r.ok) {
      inRow += 1;
      report.refusals[r.code] = (report.refusals[r.code] ?? 0) + 1;
      if (r.code === 'burn_limit' || r.code === 'loop_detected') report.retryAfterMs.push(r.retryAfterMs ?? -1);
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    inRow = 0;
    report.admitted.push(r.reservation.id);
    const settled = await store.settle({ reservationId: r.reservation.id, actualMicros: config.amountMicros });
    if (!settled.ok) throw new Error(`settle refused: ${settled.code}`);
  }
}

process.on('message', (message: { type: 'go' | 'close' }) => {
  if (message.type === 'close') {
    void store.close().then(() => process.exit(0));
    return;
  }
  const report: BurnWorkerReport = { type: 'report', admitted: [], refusals: {}, retryAfterMs: [] };
  void Promise.all(Array.from({ length: config.callers }, () => caller(report))).then(
    () => process.send?.(report),
    (error: unknown) => process.send?.({ type: 'error', message: String(error) }),
  );
});
process.on('disconnect', () => process.exit(1));
process.send?.({ type: 'ready' });
