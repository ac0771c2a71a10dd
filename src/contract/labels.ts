import { limits } from '../core/index.js';

/**
 * A label (session, task, tool) as a header or a field carries it: 1 to `limits.labelBytesMax`
 * printable ASCII characters, wherever it arrives (the proxy's x-bursar-* headers too).
 *
 * @example
 * labelPattern.test('run-42') // true
 */
export const labelPattern = new RegExp(`^[\\x20-\\x7E]{1,${limits.labelBytesMax}}$`);

/** What `labelPattern` accepts, in words. */
export const labelRule = `1 to ${limits.labelBytesMax} printable ASCII characters`;
