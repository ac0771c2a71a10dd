import { sameHash, tokenHash, tokenSecretPattern, type TokenRecord } from '../core/index.js';
import type { Store } from '../store/index.js';
import { gatewayError, type GatewayError } from './errors.js';

export interface Caller {
  token: TokenRecord;
  /** Path of the token's envelope budget: where its calls reserve. */
  envelope: string;
}

type Headers = Record<string, string | string[] | undefined>;

/** The bearer secret from `Authorization: Bearer …` or `x-api-key`, if either is present. */
export function presentedSecret(headers: Headers): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  const key = headers['x-api-key'];
  return typeof key === 'string' ? key.trim() : undefined;
}

/**
 * Resolves the spend token a request presents. Only the SHA-256 of the secret is looked up and
 * compared; a missing, malformed, unknown, revoked or expired token is refused with its code.
 */
export async function authenticate(store: Store, headers: Headers, nowMs: number): Promise<Caller | GatewayError> {
  const secret = presentedSecret(headers);
  if (!secret) return gatewayError('token_invalid', 'send a Bursar spend token as "Authorization: Bearer bsr_…" or "x-api-key: bsr_…"');
  if (!tokenSecretPattern.test(secret)) return gatewayError('token_invalid', 'the credential is not a Bursar spend token (bsr_…)');
  const hash = tokenHash(secret);
  const found = await store.findTokenByHash(hash);
  if (!found || !sameHash(found.token.hash, hash)) return gatewayError('token_invalid', 'unknown spend token');
  if (found.token.status === 'revoked') return gatewayError('token_revoked', `token ${found.token.id} has been revoked`);
  if (found.token.expiresMs !== null && found.token.expiresMs <= nowMs) return gatewayError('token_expired', `token ${found.token.id} expired at ${new Date(found.token.expiresMs).toISOString()}`);
  return { token: found.token, envelope: found.budgetPath };
}
