import { wireErrorOf } from '../contract/errors.js';
import { authenticateRequest, type Caller } from '../ops/tokens.js';
import type { Store } from '../store/index.js';
import type { GatewayError } from './errors.js';

export type { Caller };

type Headers = Record<string, string | string[] | undefined>;

/**
 * Resolves the spend token a request presents (`Authorization: Bearer …` or `x-api-key`); a
 * missing, malformed, unknown, revoked or expired token is refused with its code.
 *
 * @example
 * const caller = await authenticate(store, req.headers, Date.now());
 */
export async function authenticate(store: Pick<Store, 'findTokenByHash'>, headers: Headers, nowMs: number): Promise<Caller | GatewayError> {
  const caller = await authenticateRequest(store, headers, nowMs);
  return 'ok' in caller ? wireErrorOf(caller) : caller;
}
