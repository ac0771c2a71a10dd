import type { Refusal, SettleOk, VoidOk } from '../core/index.js';
import type { Store } from '../store/index.js';
import { gatewayLimits } from './limits.js';

/** How a call's reservation is resolved: settled at a cost, or voided (nothing billed). */
export type Resolution = { kind: 'settle'; input: Parameters<Store['settle']>[0] } | { kind: 'void'; input: Parameters<Store['void']>[0] };

/** What became of a resolution the store could not take at once. */
export type DeferredOutcome = 'queued' | 'written' | 'written_late' | 'dropped';

export interface DeferredEvent {
  outcome: DeferredOutcome;
  reservationId: string;
  kind: Resolution['kind'];
  /** The store's last answer (why it was queued or dropped). */
  detail?: string;
}

interface Pending {
  resolution: Resolution;
  attempts: number;
  firstMs: number;
  timer: NodeJS.Timeout | undefined;
}

type Answer = SettleOk | VoidOk | Refusal;

/**
 * Resolves reservations, holding on to every settlement or void the store cannot take at once
 * (database down, commit lost) and retrying it with exponential backoff until it is written.
 * Past the reservation's TTL the retries go on: expiry has charged the hold by then, and the
 * settlement reconciles it to the actual cost (a refund or a late charge) once the store is back.
 * Only after `deferredResolutionMsMax`, or when more than `deferredResolutionsMax` wait, is one
 * dropped (and reported): its reservation then stays charged at the hold, the worst case.
 *
 * @example
 * const resolver = new Resolver(store, { onEvent: (e) => log(e) });
 * await resolver.resolve({ kind: 'settle', input: { reservationId, actualMicros } });
 */
export class Resolver {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly store: Pick<Store, 'settle' | 'void'>,
    private readonly options: { now: () => number; onEvent?: (event: DeferredEvent) => void },
  ) {}

  /** Writes the resolution now, or queues it for retries; answers with the store's first answer. */
  async resolve(resolution: Resolution): Promise<Answer> {
    const answer = await this.attempt(resolution);
    if (!answer.ok && answer.code === 'store_unavailable') this.defer(resolution, answer.message);
    return answer;
  }

  /** Resolutions waiting for the store. */
  waiting(): number {
    return this.pending.size;
  }

  /**
   * Tries every waiting resolution once more (on shutdown), then stops retrying. What is still
   * unwritten stays to the reservation's expiry, which charges the hold.
   */
  async close(): Promise<void> {
    this.closed = true;
    const left = [...this.pending.values()];
    for (const p of left) clearTimeout(p.timer);
    await Promise.all(left.map((p) => this.retry(p)));
    for (const p of this.pending.values()) this.report('dropped', p.resolution, 'the server stopped before the store came back');
    this.pending.clear();
  }

  private async attempt(resolution: Resolution): Promise<Answer> {
    try {
      return resolution.kind === 'settle' ? await this.store.settle(resolution.input) : await this.store.void(resolution.input);
    } catch (error) {
      // A store that throws instead of answering is treated as unavailable: keep the resolution.
      return { ok: false, code: 'store_unavailable', message: `the store failed: ${(error as Error).message}` };
    }
  }

  private defer(resolution: Resolution, detail: string): void {
    const id = resolution.input.reservationId;
    if (this.closed || this.pending.has(id)) return;
    if (this.pending.size >= gatewayLimits.deferredResolutionsMax) return this.report('dropped', resolution, `more than ${gatewayLimits.deferredResolutionsMax} resolutions are waiting`);
    const p: Pending = { resolution, attempts: 0, firstMs: this.options.now(), timer: undefined };
    this.pending.set(id, p);
    this.report('queued', resolution, detail);
    this.schedule(p);
  }

  private schedule(p: Pending): void {
    if (this.closed) return;
    const waitMs = Math.min(gatewayLimits.deferredRetryMsMax, gatewayLimits.deferredRetryMsFirst * 2 ** Math.min(p.attempts, 20));
    p.timer = setTimeout(() => {
      this.retry(p).catch((error: unknown) => this.fail(p, error));
    }, waitMs);
    p.timer.unref();
  }

  private async retry(p: Pending): Promise<void> {
    p.attempts += 1;
    const answer = await this.attempt(p.resolution);
    if (!answer.ok && answer.code === 'store_unavailable') {
      if (this.options.now() - p.firstMs < gatewayLimits.deferredResolutionMsMax) return this.schedule(p);
      this.pending.delete(p.resolution.input.reservationId);
      return this.report('dropped', p.resolution, answer.message);
    }
    this.pending.delete(p.resolution.input.reservationId);
    const late = answer.ok && 'lateCharge' in answer && answer.lateCharge;
    this.report(late ? 'written_late' : 'written', p.resolution, answer.ok ? undefined : `${answer.code}: ${answer.message}`);
  }

  /** A retry that threw (a listener's bug): the resolution is given up and reported, never silently lost. */
  private fail(p: Pending, error: unknown): void {
    this.pending.delete(p.resolution.input.reservationId);
    this.report('dropped', p.resolution, `retry failed: ${(error as Error).message}`);
  }

  private report(outcome: DeferredOutcome, resolution: Resolution, detail?: string): void {
    this.options.onEvent?.({ outcome, reservationId: resolution.input.reservationId, kind: resolution.kind, ...(detail === undefined ? {} : { detail }) });
  }
}
