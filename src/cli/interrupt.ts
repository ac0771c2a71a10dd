import { firstEvent } from '../core/index.js';

/** Resolves on the first SIGINT or SIGTERM: how the long-running commands wait to stop. */
export async function untilInterrupted(): Promise<void> {
  await firstEvent(process, ['SIGINT', 'SIGTERM']);
}
