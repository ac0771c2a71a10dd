import type { CallPlan } from './plan.js';

/** What the mock provider bills one model for: the calls it answered and the tokens it produced. */
export interface MockBillLine {
  calls: number;
  /** Prompt tokens of every call that began answering (cached and cache writes included). */
  inputTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  /** Output tokens actually generated: a stream cut early bills what was sent before the cut. */
  outputTokens: number;
}

/** The bill by model, as a provider would send it at the end of the month. */
export type MockBillByModel = Record<string, MockBillLine>;

/** One call being billed: the prompt when it starts, then output as it is produced. */
export interface CallBill {
  /** A content chunk of a stream was sent (the `n`-th, counting from 1). */
  chunk(n: number): void;
  /** A whole answer was produced (a non-streamed answer, even one cut on the wire). */
  whole(): void;
}

/**
 * The mock provider's own bill, kept from what it actually produced and independent of
 * anything the gateway records: tests compare the two to prove the limit holds against the
 * provider's bill. A call is billed from the moment it begins answering (errors and hung
 * requests bill nothing); a streamed answer bills the tokens of the chunks it sent.
 *
 * @example
 * const call = bill.open(plan);
 * call.chunk(1); // bills the first piece's tokens
 */
export class MockBill {
  private readonly lines = new Map<string, MockBillLine>();

  open(plan: CallPlan): CallBill {
    const line = this.lineFor(plan.call.model);
    line.calls += 1;
    line.inputTokens += plan.promptTokens;
    line.cachedTokens += plan.cachedTokens;
    line.cacheWriteTokens += plan.cacheWriteTokens;
    const choices = plan.call.route === 'chat' ? plan.call.choices : 1;
    let billedChunks = 0;
    return {
      chunk: (n) => {
        // Chat streams interleave choices: chunk n carries piece ⌊(n-1)/choices⌋ of one choice.
        for (; billedChunks < n; billedChunks += 1) line.outputTokens += plan.pieceTokens[Math.floor(billedChunks / choices)] ?? 0;
      },
      whole: () => {
        line.outputTokens += plan.outputTokens * choices;
      },
    };
  }

  /** A copy of the bill so far. */
  snapshot(): MockBillByModel {
    return Object.fromEntries([...this.lines].map(([model, line]) => [model, { ...line }]));
  }

  private lineFor(model: string): MockBillLine {
    let line = this.lines.get(model);
    if (!line) {
      line = { calls: 0, inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 };
      this.lines.set(model, line);
    }
    return line;
  }
}
