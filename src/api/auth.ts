import { createHash, timingSafeEqual } from 'node:crypto';
import { base62, type RandomBytes } from '../core/index.js';
import type { Access } from '../contract/route.js';
import { WireError } from '../contract/errors.js';
import { apiLimits } from './limits.js';

/** What a key may do: `admin` reads and writes, `viewer` only reads. */
export type Role = 'admin' | 'viewer';


/** The admin API's keys, as configured. */
export interface ApiKeys {
  admin: readonly string[];
  viewer: readonly string[];
}

/** A caller the keys let in. */
export interface Principal {
  role: Role;
  /** First 8 hex digits of the SHA-256 of the key: names the key in the ledger without revealing it. */
  keyId: string;
}

/** Prefix of the admin keys Bursar generates; spend tokens start with `bsr_`. */
export const generatedKeyPrefix = 'bak_';

const keyPattern = /^[\x21-\x7E]+$/;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Why a configured key cannot be used, or undefined. */
function keyProblem(key: string): string | undefined {
  if (!keyPattern.test(key)) return 'may contain only printable ASCII characters without spaces';
  if (key.length < apiLimits.adminKeyCharsMin) return `is shorter than ${apiLimits.adminKeyCharsMin} characters`;
  if (key.startsWith('bsr_')) return 'starts with bsr_, the prefix of spend tokens; pick another key';
  return undefined;
}

/**
 * A configured admin or viewer key that cannot be used: a person must fix the environment.
 * `code` is `invalid_admin_key`, for the server's start-up error report.
 *
 * @example
 * try { adminKeysFromEnv(process.env, random); } catch (e) { if (e instanceof AdminKeyError) exitWith(e.code, e.message); }
 */
export class AdminKeyError extends Error {
  override name = 'AdminKeyError';
  readonly code = 'invalid_admin_key';
}

function splitKeys(variable: string, value: string | undefined): string[] {
  const keys = (value ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  if (keys.length > apiLimits.adminKeysMax) throw new AdminKeyError(`${variable} lists ${keys.length} keys; at most ${apiLimits.adminKeysMax} are allowed`);
  for (const [i, key] of keys.entries()) {
    const problem = keyProblem(key);
    if (problem) throw new AdminKeyError(`${variable}: key ${i + 1} ${problem}`);
  }
  return keys;
}

/**
 * A fresh admin key: `bak_` and 40 base62 characters (about 238 random bits).
 *
 * @example
 * const key = generateAdminKey((n) => crypto.randomBytes(n)); // 'bak_…'
 */
export function generateAdminKey(random: RandomBytes): string {
  return `${generatedKeyPrefix}${base62(random, apiLimits.adminKeyCharsGenerated)}`;
}

/**
 * The admin API keys from the environment: `BURSAR_ADMIN_KEY` and `BURSAR_VIEWER_KEY`, each a
 * comma-separated list (so keys can be rotated without downtime). A key shorter than 16
 * characters, with spaces, or starting with `bsr_` is a configuration error (thrown).
 *
 * The API is never open: with no admin key configured, one is generated and returned as
 * `generated`; the server prints it once at start (it lasts until the process exits).
 * Throws `AdminKeyError` for a key that cannot be used.
 *
 * @example
 * const { keys, generated } = adminKeysFromEnv(process.env, (n) => crypto.randomBytes(n));
 * if (generated) console.log(`admin API key (generated; set BURSAR_ADMIN_KEY to keep one): ${generated}`);
 */
export function adminKeysFromEnv(env: Record<string, string | undefined>, random: RandomBytes): { keys: ApiKeys; generated?: string } {
  const admin = splitKeys('BURSAR_ADMIN_KEY', env.BURSAR_ADMIN_KEY);
  const viewer = splitKeys('BURSAR_VIEWER_KEY', env.BURSAR_VIEWER_KEY);
  if (admin.length > 0) return { keys: { admin, viewer } };
  const generated = generateAdminKey(random);
  return { keys: { admin: [generated], viewer }, generated };
}

interface StoredKey {
  digest: Buffer;
  principal: Principal;
}

/**
 * Checks presented keys against the configured ones in constant time: the presented key is
 * hashed and compared with every configured key's hash with `timingSafeEqual`, without
 * stopping at the first match, so neither the key nor its position leaks through timing.
 *
 * @example
 * const ring = new KeyRing({ admin: ['a-long-admin-key-123'], viewer: [] });
 * ring.principal('a-long-admin-key-123')?.role // 'admin'
 */
export class KeyRing {
  private readonly keys: StoredKey[];

  constructor(keys: ApiKeys) {
    const all = [...keys.admin.map((k) => ({ k, role: 'admin' as const })), ...keys.viewer.map((k) => ({ k, role: 'viewer' as const }))];
    if (keys.admin.length === 0) throw new AdminKeyError('the admin API needs at least one admin key (see adminKeysFromEnv)');
    for (const { k } of all) {
      const problem = keyProblem(k);
      if (problem) throw new AdminKeyError(`admin API key ${problem}`);
    }
    this.keys = all.map(({ k, role }) => {
      const d = digest(k);
      return { digest: d, principal: { role, keyId: d.toString('hex').slice(0, 8) } };
    });
  }

  /** The principal a key belongs to, or undefined. Admin keys win if a key is listed twice. */
  principal(presented: string): Principal | undefined {
    const d = digest(presented);
    let found: Principal | undefined;
    for (const key of this.keys) {
      const match = timingSafeEqual(d, key.digest);
      if (match && (found === undefined || (found.role === 'viewer' && key.principal.role === 'admin'))) found = key.principal;
    }
    return found;
  }
}

/**
 * Who an `Authorization` header belongs to, or the 401 to answer with. A spend token is told
 * that admin routes need an admin key.
 *
 * @example
 * const who = authenticate(ring, req.headers.authorization);
 */
export function authenticate(ring: KeyRing, authorization: string | undefined): Principal {
  if (authorization === undefined || authorization.trim() === '') {
    throw new WireError('unauthorized', 'send an admin API key as "Authorization: Bearer <key>" (BURSAR_ADMIN_KEY or BURSAR_VIEWER_KEY)');
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw new WireError('unauthorized', 'the Authorization header must be "Bearer <key>"');
  const presented = match[1];
  if (presented.startsWith('bsr_')) {
    throw new WireError('unauthorized', 'a spend token (bsr_…) works only on the gateway routes (/v1/…); admin routes need an admin key (BURSAR_ADMIN_KEY)');
  }
  const principal = ring.principal(presented);
  if (!principal) throw new WireError('unauthorized', 'unknown admin API key');
  return principal;
}

/**
 * Refuses a caller whose role does not reach a route's access level.
 *
 * @example
 * authorize({ role: 'viewer', keyId: 'ab12cd34' }, 'admin'); // throws 403 forbidden
 */
export function authorize(principal: Principal, access: Access): void {
  if (access === 'admin' && principal.role !== 'admin') {
    throw new WireError('forbidden', 'this operation changes the ledger or reads its audit and needs an admin key; the key sent is a viewer (read-only) key');
  }
}
