import { StoreUnavailableError } from '../store.js';

/**
 * SQLSTATE classes and codes that mean "the database cannot answer now" rather than "this
 * code is wrong": connection exceptions (08), insufficient resources (53), operator
 * intervention such as shutdown or statement timeout (57), system errors (58), lock timeouts
 * and serialization failures.
 */
const unavailableClasses = ['08', '53', '57', '58'];
const unavailableCodes = new Set(['55P03', '40001', '40P01', '55006']);
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const driverMessages = /connection terminated|not queryable|query read timeout|timeout exceeded when trying to connect|connection timeout|connection ended|the database system is (starting up|shutting down|in recovery mode)|terminating connection/i;

/**
 * True when an error from the pg driver or the server means the store is unreachable or
 * temporarily unable to write: callers then get `store_unavailable`, never a crash.
 *
 * @example
 * isUnavailable(Object.assign(new Error('x'), { code: '57P01' })) // true: admin shutdown
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (unavailableClasses.includes(code.slice(0, 2)) || unavailableCodes.has(code) || socketCodes.has(code)) return true;
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && driverMessages.test(message);
}

/**
 * The error to throw for `error`: a `StoreUnavailableError` when the database is the problem,
 * the error itself otherwise (a bug, which must surface).
 *
 * @example
 * try { await client.query('SELECT 1'); } catch (e) { throw asStoreError(e); }
 */
export function asStoreError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !isUnavailable(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`PostgreSQL: ${message}`, { cause: error });
}
