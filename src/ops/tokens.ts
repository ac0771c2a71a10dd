import { newSpendToken, sameHash, tokenHash, tokenSecretPattern, type Labels, type MintOk, type MintToken, type RandomBytes, type RevokeOk, type TokenRecord, type TokenView } from '../core/index.js';
import { presentedSecret } from '../contract/credentials.js';
import { failure, type Failure } from '../contract/errors.js';
import type { Store } from '../store/index.js';
import { tightestOf, withinEnvelope } from './chain.js';

/**
 * Spend tokens: who a presented secret is, minting (by an operator, or delegated by a token or
 * an SDK client from what it may spend itself), and revoking. Expiry, the delegate scope,
 * narrowing and "a token reaches only what is under it" are decided here, once, for every door.
 */

/** A token as a request presents it, and the envelope budget its spend goes to. */
export interface Caller {
  token: TokenRecord;
  /** Path of the token's envelope budget: where its calls reserve. */
  envelope: string;
}

/**
 * Which tokens a route takes: `active` refuses a revoked or expired token with its code;
 * `resolve` also takes one that stopped working since (what it reserved may still be settled or
 * voided: the money was spent).
 */
export type TokenUse = 'active' | 'resolve';

/**
 * The caller a secret belongs to. Only the SHA-256 of the secret is looked up and compared, in
 * constant time; a missing, malformed or unknown secret is `token_invalid`, a revoked or
 * expired one (with `use: 'active'`) `token_revoked` or `token_expired`.
 *
 * @example
 * const caller = await authenticateToken(store, 'bsr_…', store.now());
 * if ('ok' in caller) return refuse(caller);
 */
export async function authenticateToken(store: Pick<Store, 'findTokenByHash'>, secret: string | undefined, nowMs: number, use: TokenUse = 'active'): Promise<Caller | Failure> {
  if (!secret) return failure('token_invalid', 'send a Bursar spend token as "Authorization: Bearer bsr_…" or "x-api-key: bsr_…"');
  if (!tokenSecretPattern.test(secret)) return failure('token_invalid', 'the credential is not a Bursar spend token (bsr_…)');
  const hash = tokenHash(secret);
  const found = await store.findTokenByHash(hash);
  if (!found || !sameHash(found.token.hash, hash)) return failure('token_invalid', 'unknown spend token');
  if (use === 'active' && found.token.status === 'revoked') return failure('token_revoked', `token ${found.token.id} has been revoked`);
  if (use === 'active' && found.token.expiresMs !== null && found.token.expiresMs <= nowMs) {
    return failure('token_expired', `token ${found.token.id} expired at ${new Date(found.token.expiresMs).toISOString()}`);
  }
  return { token: found.token, envelope: found.budgetPath };
}

/**
 * The store's idempotency key for a key a token sent: scoped to the token, so two agents' keys
 * can never collide.
 *
 * @example
 * tokenScopedKey(caller, 'step-7') // 'tok_AbC…:step-7'
 */
export function tokenScopedKey(caller: Pick<Caller, 'token'>, key: string | undefined): string | undefined {
  return key === undefined ? undefined : `${caller.token.id}:${key}`;
}

/**
 * The caller of an HTTP request: the spend token it presents as `Authorization: Bearer bsr_…`
 * or `x-api-key: bsr_…`, checked as `authenticateToken` checks it. Every door that takes a
 * spend token over HTTP (the gateway, the agent routes, MCP) reads it this way.
 *
 * @example
 * const caller = await authenticateRequest(store, req.headers, store.now(), 'resolve');
 */
export async function authenticateRequest(store: Pick<Store, 'findTokenByHash'>, headers: Record<string, string | string[] | undefined>, nowMs: number, use: TokenUse = 'active'): Promise<Caller | Failure> {
  return authenticateToken(store, presentedSecret(headers), nowMs, use);
}

/** A token to mint, under a budget (`path`) or as a child of a token (`parentTokenId`): the ledger's command without the secret, which is made here. */
export type MintInput = Omit<MintToken, 'type' | 'tokenId' | 'hash'>;

/** A freshly minted token: its view, its envelope, and the secret (shown once, never stored). */
export type Minted = MintOk & { secret: string };

/**
 * Mints a spend token with a fresh secret; the ledger checks the budget, the parent token's
 * scope and expiry, and that a child only narrows.
 *
 * @example
 * const minted = await mintToken(store, random, { path: 'acme/bot', limitMicros: 2_000_000, scopes: ['delegate'] });
 * if (minted.ok) console.log(minted.secret);
 */
export async function mintToken(store: Pick<Store, 'mintToken'>, random: RandomBytes, input: MintInput): Promise<Minted | Failure> {
  const minted = newSpendToken(random);
  const result = await store.mintToken({ ...input, tokenId: minted.id, hash: minted.hash });
  return result.ok ? { ...result, secret: minted.secret } : result;
}

/** A child token to hand a sub-agent: the limits it narrows to (ledger field names). */
export interface DelegateInput {
  limitMicros: number;
  models?: string[];
  requestCapMicros?: number;
  inflightMax?: number;
  /** Default: the parent token's expiry (none when delegating from a budget). */
  expiresMs?: number;
  /** Let the child delegate in turn. */
  delegate?: boolean;
  labels?: Labels;
  actor?: string;
  reason?: string;
}

/** Who delegates: a token (its child nests in its envelope), or an SDK client spending from a plain budget. */
export type Delegator = { token: Pick<TokenView, 'id' | 'scopes' | 'expiresMs'> } | { budget: string };

/**
 * A room refusal for a child minted under a plain budget: its max spend must fit what the
 * chain can still take, as a token's child must (the ledger checks that one itself).
 */
async function roomRefusal(store: Pick<Store, 'chain'>, path: string, limitMicros: number): Promise<Failure | undefined> {
  const tightest = tightestOf(await store.chain(path));
  if (!tightest || tightest.remainingMicros === null || limitMicros <= tightest.remainingMicros) return undefined;
  const left = Math.max(0, tightest.remainingMicros);
  return failure('policy_widens', `a child token's max spend must be at most what can still be spent: budget ${tightest.path} has ${left} micros left`, { field: 'limitMicros', budget: tightest.path, remainingMicros: left });
}

/**
 * Mints a child token for a sub-agent from what the delegator may spend: only a token with the
 * `delegate` scope may, its child expires no later than it (by default when it does), and the
 * child can only narrow.
 *
 * @example
 * const child = await delegate(store, random, { token: caller.token }, { limitMicros: 500_000, models: ['gpt-4o-mini'] }, store.now());
 */
export async function delegate(store: Pick<Store, 'mintToken' | 'chain'>, random: RandomBytes, from: Delegator, input: DelegateInput, nowMs: number): Promise<Minted | Failure> {
  if ('token' in from && !from.token.scopes.includes('delegate')) {
    return failure('forbidden', `token ${from.token.id} may not mint child tokens: it was minted without the delegate scope (bursar tokens mint --delegate)`);
  }
  if (input.expiresMs !== undefined && input.expiresMs <= nowMs) {
    return failure('bad_request', `the expiry ${new Date(input.expiresMs).toISOString()} has already passed; give a time in the future`, { field: 'expiresMs' });
  }
  const room = 'budget' in from ? await roomRefusal(store, from.budget, input.limitMicros) : undefined;
  if (room) return room;
  const { delegate: mayDelegate, expiresMs, ...limits } = input;
  return mintToken(store, random, {
    ...limits,
    ...('token' in from ? { parentTokenId: from.token.id, expiresMs: expiresMs ?? from.token.expiresMs } : { path: from.budget, expiresMs: expiresMs ?? null }),
    scopes: mayDelegate === true ? ['delegate'] : [],
  });
}

/**
 * Revokes a token and every token delegated from it; their envelopes close. With `within`, only
 * a token whose envelope lies at or under that path: any other answers `unknown_token`, as an
 * id that does not exist does.
 *
 * @example
 * await revokeToken(store, { tokenId: 'tok_B', within: caller.envelope, actor: 'token:tok_A' });
 */
export async function revokeToken(store: Pick<Store, 'getToken' | 'revokeToken'>, input: { tokenId: string; within?: string; actor?: string; reason?: string }): Promise<RevokeOk | Failure> {
  const { within, ...revoke } = input;
  if (within !== undefined) {
    const target = await store.getToken(input.tokenId);
    if (!target || !withinEnvelope(within, target.budget)) return failure('unknown_token', `no token ${input.tokenId} at or under ${within}`, { field: 'tokenId' });
  }
  return store.revokeToken(revoke);
}
