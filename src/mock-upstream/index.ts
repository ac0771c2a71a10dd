/**
 * A fake OpenAI + Anthropic provider speaking the real wire formats, with usage, streaming,
 * latency and faults: used by tests, benchmarks and the offline demo (`bursar mock-upstream`).
 *
 * @example
 * import { startMockUpstream } from './mock-upstream/index.js';
 * const upstream = await startMockUpstream({ outputTokens: 32 });
 * // point the gateway (or an SDK) at `${upstream.url}/v1`, then:
 * await upstream.close();
 */
import { firstEvent } from '../core/index.js';
import { mockFaults } from './controls.js';
import { startMockUpstream, type MockUpstream, type MockUpstreamOptions } from './server.js';

export type { MockBillByModel, MockBillLine } from './bill.js';
export { mockFaults, type MockControls, type MockFault } from './controls.js';
export { limits as mockUpstreamLimits } from './limits.js';
export { generatedText, splitTokens } from './plan.js';
export { defaultMockModels, startMockUpstream, type MockOutcome, type MockRequestRecord, type MockUpstream, type MockUpstreamOptions } from './server.js';

/**
 * Port `bursar mock-upstream` listens on unless told otherwise.
 *
 * @example
 * await runMockUpstream({ port: mockUpstreamPortDefault });
 */
export const mockUpstreamPortDefault = 9100;

/** Options for the CLI entry point: the server's, plus where to print and signal handling. */
export interface RunMockUpstreamOptions extends MockUpstreamOptions {
  /** Where to print the listening line (stdout by default). */
  print?: (line: string) => void;
  /** Close on SIGINT / SIGTERM (default true); the process then exits once idle. */
  handleSignals?: boolean;
}

/**
 * Entry point for `bursar mock-upstream [--port 9100]`: starts the server on the loopback
 * address, prints where it listens and how to steer it, and closes on Ctrl-C.
 *
 * @example
 * const upstream = await runMockUpstream({ port: 9100 });
 * // prints: mock upstream listening on http://127.0.0.1:9100 (OpenAI and Anthropic shapes under /v1)
 */
export async function runMockUpstream(options: RunMockUpstreamOptions = {}): Promise<MockUpstream> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Nothing outside this process can read the request log, so none is kept unless asked for.
  const upstream = await startMockUpstream({ requestLogMax: 0, ...options, port: options.port ?? mockUpstreamPortDefault, host: options.host ?? '127.0.0.1' });
  print(`mock upstream listening on ${upstream.url} (OpenAI and Anthropic shapes under /v1)`);
  print('per-request headers: x-mock-latency-ms, x-mock-chunks, x-mock-chunk-delay-ms, x-mock-output-tokens (n|max),');
  print(`  x-mock-cached-tokens, x-mock-cache-write-tokens, x-mock-fault (${mockFaults.join('|')})`);
  if (options.handleSignals !== false) {
    void firstEvent(process, ['SIGINT', 'SIGTERM'])
      .then(() => upstream.close())
      .then(() => print('mock upstream stopped'));
  }
  return upstream;
}
