/**
 * Bursar: hard spending limits for AI agents.
 *
 * @example
 * import { openStore } from 'bursar';
 * const store = await openStore({ db: './bursar.db' });
 */
export * from './core/index.js';
export * from './store/index.js';
