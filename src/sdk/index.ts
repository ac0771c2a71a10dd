/**
 * The SDK: Bursar from inside an agent, in-process (`Bursar.local`) or against a server
 * (`Bursar.remote`).
 *
 * @example
 * import { Bursar } from 'bursar';
 * const bursar = Bursar.remote({ url: 'http://127.0.0.1:8787', token: process.env.BURSAR_TOKEN ?? '' });
 * const result = await bursar.guard.run({ tool: 'WebFetch', params: { url } }, () => fetch(url).then((r) => r.text()));
 */
export { Bursar, type Labels as BursarLabels, type LocalOptions, type RemoteOptions } from './bursar.js';
export { Guard, type CostSource, type GuardContext, type GuardOk } from './guard.js';
export { sdkLimits } from './limits.js';
export {
  BursarError,
  type Balance,
  type BalanceLevel,
  type BursarCode,
  type BursarRefusal,
  type BursarResult,
  type DelegatedToken,
  type DelegateOptions,
  type Reservation,
  type Settlement,
  type ToolCall,
} from './types.js';
