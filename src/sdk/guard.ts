import { isMicros } from '../core/index.js';
import { BursarError, type BursarRefusal, type BursarResult, type Reservation, type Settlement, type ToolCall } from './types.js';

/** What `guard.run` gives the function it runs. */
export interface GuardContext {
  /** The reservation the call runs under (`rsv_<n>`). */
  readonly reservationId: string;
  /** What was reserved: the worst case the call may cost. */
  readonly estimateMicros: number;
  /**
   * Reports what the call actually cost, in whole micros; it wins over a `costMicros` field on
   * the result. Anything but a whole number of micros from 0 up throws `BursarError('invalid_cost')`.
   */
  reportCost(actualMicros: number): void;
}

/** Where the settled cost came from. */
export type CostSource = 'reported' | 'result' | 'estimate';

/** A guarded call that ran: its value and what it was charged. */
export interface GuardOk<T> {
  value: T;
  reservationId: string;
  estimateMicros: number;
  /** What was settled (or, when `settled` is false, what should have been). */
  costMicros: number;
  costFrom: CostSource;
  /**
   * False when the settlement could not be recorded (the server stayed unreachable, or refused):
   * the reservation then expires after its TTL and releases its amount. `settleError` says why.
   */
  settled: boolean;
  settleError?: string;
}

/** The operations a guard needs from its client. */
export interface GuardHost {
  reserve(call: ToolCall): Promise<BursarResult<{ reservation: Reservation }>>;
  settle(id: string, actualMicros: number): Promise<BursarResult<{ settlement: Settlement }>>;
  void(id: string): Promise<BursarResult<{ id: string }>>;
}

function checkedCost(value: unknown, from: string): number {
  if (!isMicros(value)) throw new BursarError('invalid_cost', `${from} must be a whole number of micros from 0 up (1 USD = 1,000,000); got ${String(value)}`);
  return value;
}

/** The cost a result carries in a `costMicros` field (the budget guide's `cost_usd`, in micros). */
function resultCost(value: unknown): number | undefined {
  if (value === null || typeof value !== 'object' || !Object.hasOwn(value, 'costMicros')) return undefined;
  return checkedCost((value as { costMicros: unknown }).costMicros, 'the result\'s costMicros');
}

/**
 * Runs paid tool calls under a reservation: estimate, reserve on the whole chain, run, then
 * settle the actual cost, or void when the function throws. The guide's guard flow, with the
 * check and the hold made atomically by the ledger.
 *
 * @example
 * const step = await bursar.guard.run({ tool: 'WebFetch', params: { url } }, async (ctx) => {
 *   const page = await fetchPage(url);
 *   ctx.reportCost(page.billedMicros); // optional: else a result's costMicros, else the estimate
 *   return page;
 * });
 * if (!step.ok) console.log(`not run: ${step.code} (${step.message})`);
 */
export class Guard {
  constructor(private readonly host: GuardHost) {}

  /**
   * Reserves for `call`, runs `fn`, and settles. Returns the function's value with what it was
   * charged, or the refusal (budget_exceeded, too_many_inflight, token_revoked, bad_request…)
   * without running it. When `fn` throws, the reservation is voided and the error rethrown.
   *
   * The actual cost is, in order: what `fn` reported with `ctx.reportCost(micros)`; a
   * `costMicros` field on the object it returned; else the estimate that was reserved.
   */
  async run<T>(call: ToolCall, fn: (ctx: GuardContext) => T | Promise<T>): Promise<BursarResult<GuardOk<T>>> {
    const reserved = await this.host.reserve(call);
    if (!reserved.ok) return reserved;
    const { id, amountMicros } = reserved.reservation;
    let reported: number | undefined;
    const ctx: GuardContext = {
      reservationId: id,
      estimateMicros: amountMicros,
      reportCost: (actualMicros) => {
        reported = checkedCost(actualMicros, 'reportCost');
      },
    };
    let value: T;
    try {
      value = await fn(ctx);
    } catch (error) {
      await this.voidQuietly(id);
      throw error;
    }
    let fromResult: number | undefined;
    let costError: BursarError | undefined;
    try {
      fromResult = reported === undefined ? resultCost(value) : undefined;
    } catch (error) {
      costError = error instanceof BursarError ? error : new BursarError('invalid_cost', String(error));
    }
    const costMicros = reported ?? fromResult ?? amountMicros;
    const costFrom: CostSource = reported !== undefined ? 'reported' : fromResult !== undefined ? 'result' : 'estimate';
    const settled = await this.settleQuietly(id, costMicros);
    // A malformed costMicros is a bug in the caller: the call is charged its estimate, then it surfaces.
    if (costError !== undefined) throw costError;
    const out: GuardOk<T> = { value, reservationId: id, estimateMicros: amountMicros, costMicros, costFrom, settled: settled === undefined };
    if (settled !== undefined) out.settleError = settled;
    return { ok: true, ...out };
  }

  /** Voids; a failure leaves the reservation to expire, and the caller's own error matters more. */
  private async voidQuietly(id: string): Promise<void> {
    try {
      await this.host.void(id);
    } catch {
      // Unreachable or broken: the reservation's TTL releases it.
    }
  }

  /** Settles; returns why it could not, or undefined. The value was produced either way. */
  private async settleQuietly(id: string, costMicros: number): Promise<string | undefined> {
    try {
      const settled = await this.host.settle(id, costMicros);
      return settled.ok ? undefined : describe(settled);
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}

function describe(r: BursarRefusal): string {
  return `${r.code}: ${r.message}`;
}
