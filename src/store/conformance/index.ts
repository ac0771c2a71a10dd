/** The shared store conformance suite: every backend runs it unchanged. */
export { runStoreConformance } from './conformance.js';
export { conformanceStartMs } from './helpers.js';
export { runModelProperty } from './model.js';
export { SimClock } from './sim-clock.js';
export type { ConformanceTarget } from './target.js';
