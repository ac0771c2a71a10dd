import type { z } from 'zod';
import type { MintOk } from '../core/index.js';
import { delegate as delegateOp, revokeToken } from '../ops/index.js';
import { isoOrNull, tokenLimitsFromJson, TokenParams, DelegateBody, DelegatedJson, RevokedJson, VoidBody } from '../contract/index.js';
import { actorOf, agentRoute, refusalError, sessionLabels } from './agent-route.js';
import type { Caller } from './auth.js';

/**
 * Delegation by an agent: a token with the `delegate` scope mints child tokens for sub-agents
 * (their envelopes nest in its own and can only narrow it) and revokes them.
 */

type Body = z.output<typeof DelegateBody>;

function delegatedJson(minted: MintOk, secret: string, caller: Caller, body: Body): z.input<typeof DelegatedJson> {
  const policy = minted.envelope.policy;
  return {
    id: minted.token.id,
    token: secret,
    parent_token_id: caller.token.id,
    budget: minted.envelope.path,
    max_spend_micros: minted.envelope.limitMicros ?? body.max_spend_micros,
    expires_at: isoOrNull(minted.token.expiresMs),
    scopes: minted.token.scopes,
    delegate: minted.token.scopes.includes('delegate'),
    policy: { models: policy.models, request_cap_micros: policy.requestCapMicros, inflight_max: policy.inflightMax },
    labels: { session: minted.token.labels.session, task: minted.token.labels.task },
    created_at: new Date(minted.token.createdMs).toISOString(),
  };
}

const delegate = agentRoute({
  method: 'POST',
  path: '/v1/bursar/tokens',
  operationId: 'delegateToken',
  summary: 'Mint a child token from the calling token (it needs the delegate scope)',
  tag: 'delegation',
  description:
    'The child\'s envelope budget nests in the caller\'s, so its spend counts on every ancestor. It can only narrow: max spend at most what the caller\'s chain has left, expiry no later than the caller\'s (default: the same), models a subset, per-request cap and in-flight limit at most the caller\'s. Anything wider is refused with policy_widens (403) naming the field. The secret is in this response only.',
  auth: 'token',
  body: DelegateBody,
  labelHeaders: true,
  errors: [401, 403],
  response: { status: 201, description: 'the child token and its secret (shown once)', schema: DelegatedJson },
  handler: async (call) => {
    const { caller, body, deps } = call;
    const nowMs = deps.gateway.now();
    const expiresMs = body.expires_at !== undefined ? Date.parse(body.expires_at) : body.expires_in_s !== undefined ? nowMs + body.expires_in_s * 1_000 : undefined;
    const limits = tokenLimitsFromJson(body);
    const input = { ...limits, limitMicros: body.max_spend_micros, expiresMs, delegate: body.delegate, labels: sessionLabels(body.labels, call.headers), actor: actorOf(caller), reason: body.reason };
    const result = await delegateOp(deps.gateway.store, deps.gateway.random, { token: caller.token }, input, nowMs);
    const expiresField = body.expires_at !== undefined ? 'expires_at' : 'expires_in_s';
    if (!result.ok) return refusalError(result, { limitMicros: 'max_spend_micros', expiresMs: expiresField, scopes: 'delegate', parentTokenId: 'authorization' });
    return delegatedJson(result, result.secret, caller, body);
  },
});

const revoke = agentRoute({
  method: 'POST',
  path: '/v1/bursar/tokens/{id}/revoke',
  operationId: 'revokeDelegatedToken',
  summary: 'Revoke a token delegated from the calling token (and everything delegated from it)',
  tag: 'delegation',
  description:
    'A token may revoke itself and the tokens delegated from it, at any depth; their envelopes close. Any other token (an ancestor, a sibling, another agent\'s) answers 404 unknown_token, as an id that does not exist does.',
  auth: 'token',
  params: TokenParams,
  body: VoidBody,
  errors: [401, 404],
  response: { status: 200, description: 'ids of the tokens revoked', schema: RevokedJson },
  handler: async ({ caller, params, body, deps }) => {
    const result = await revokeToken(deps.gateway.store, { tokenId: params.id, within: caller.envelope, actor: actorOf(caller), reason: body?.reason });
    if (!result.ok) return refusalError(result, { tokenId: 'id' });
    return { revoked: result.revoked };
  },
});

export const agentTokenRoutes = [delegate, revoke];
