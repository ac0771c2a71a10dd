import { route, type Route } from '../deps.js';
import { adminRoutes, WireError, ok, budgetToJson, expiryFromJson, labelsFromJson, tokenLimitsFromJson, tokenToJson } from '../../contract/index.js';

import { mintToken as mintTokenOp, revokeToken as revokeTokenOp, withinEnvelope } from '../../ops/index.js';


const listTokens = route(adminRoutes.listTokens, async ({ query, deps }) => {
  const all = await deps.store.listTokens();
  const within = (path: string) => query.budget === undefined || withinEnvelope(query.budget, path);
  // The store's order (oldest first), so a listing matches the CLI's on a local database.
  const tokens = all.filter((t) => within(t.budget) && (query.status === undefined || t.status === query.status));
  return { tokens: tokens.map(tokenToJson) };
});

const getToken = route(adminRoutes.getToken, async ({ params, deps }) => {
  const token = await deps.store.getToken(params.id);
  if (!token) throw new WireError('unknown_token', `no token ${params.id}`, { field: 'id' });
  const envelope = await deps.store.getBudget(token.budget);
  return { token: tokenToJson(token), envelope: envelope ? budgetToJson(envelope) : null };
});

const mintToken = route(adminRoutes.mintToken, async ({ body, actor, deps, reply }) => {
  const minted = ok(
    await mintTokenOp(deps.store, deps.random, {
      path: body.budget,
      parentTokenId: body.parent_token_id,
      ...tokenLimitsFromJson(body),
      expiresMs: expiryFromJson(body, deps.store.now()),
      scopes: body.scopes,
      labels: labelsFromJson(body.labels),
      actor,
      reason: body.reason,
    }),
    { path: 'budget', limitMicros: 'max_spend_micros', expiresMs: body.expires_at !== undefined ? 'expires_at' : 'expires_in_ms', tokenId: 'id' },
  );
  void reply.header('cache-control', 'no-store');
  return { ...tokenToJson(minted.token), token: minted.secret, envelope: budgetToJson(minted.envelope) };
});

const revokeToken = route(adminRoutes.revokeToken, async ({ params, body, actor, deps }) => {
  const { revoked } = ok(await revokeTokenOp(deps.store, { tokenId: params.id, actor, reason: body?.reason }), { tokenId: 'id' });
  return { revoked };
});

export const tokenRoutes: Route[] = [listTokens, mintToken, getToken, revokeToken];
