import { z } from 'zod';
import { route, type Route } from '../deps.js';
import { WireError, ok, budgetToJson, expiryFromJson, labelsFromJson, tokenLimitsFromJson, tokenToJson, ActorHeaders, BudgetJson, MintTokenBody, ReasonBody, TokenJson, TokenParams, TokensQuery } from '../../contract/index.js';

import { mintToken as mintTokenOp, revokeToken as revokeTokenOp, withinEnvelope } from '../../ops/index.js';

const tag = 'tokens';

const listTokens = route({
  method: 'GET',
  path: '/api/tokens',
  operationId: 'listTokens',
  summary: 'List spend tokens (never their secrets)',
  tag,
  access: 'viewer',
  query: TokensQuery,
  response: { status: 200, description: 'the tokens, oldest first', schema: z.object({ tokens: z.array(TokenJson) }) },
  handler: async ({ query, deps }) => {
    const all = await deps.store.listTokens();
    const within = (path: string) => query.budget === undefined || withinEnvelope(query.budget, path);
    // The store's order (oldest first), so a listing matches the CLI's on a local database.
    const tokens = all.filter((t) => within(t.budget) && (query.status === undefined || t.status === query.status));
    return { tokens: tokens.map(tokenToJson) };
  },
});

const getToken = route({
  method: 'GET',
  path: '/api/tokens/{id}',
  operationId: 'getToken',
  summary: 'Read a spend token and its envelope budget',
  tag,
  access: 'viewer',
  params: TokenParams,
  response: { status: 200, description: 'the token', schema: z.object({ token: TokenJson, envelope: BudgetJson.nullable() }) },
  handler: async ({ params, deps }) => {
    const token = await deps.store.getToken(params.id);
    if (!token) throw new WireError('unknown_token', `no token ${params.id}`, { field: 'id' });
    const envelope = await deps.store.getBudget(token.budget);
    return { token: tokenToJson(token), envelope: envelope ? budgetToJson(envelope) : null };
  },
});

const mintToken = route({
  method: 'POST',
  path: '/api/tokens',
  operationId: 'mintToken',
  summary: 'Mint a spend token; the secret is in this response only',
  description:
    'Under a budget (usually an agent) the token gets its own envelope budget whose limit is max_spend_micros. With parent_token_id an admin delegates from a token that has the delegate scope: the child\'s envelope nests in the parent\'s and can only narrow it. The secret (bsr_…) is returned once and never stored; keep it.',
  tag,
  access: 'admin',
  body: MintTokenBody,
  headers: ActorHeaders,
  response: {
    status: 201,
    description: 'the token, its secret (shown once) and its envelope budget',
    schema: z.object({ token: TokenJson, secret: z.string().describe('the bearer secret for the gateway: Authorization: Bearer bsr_…'), envelope: BudgetJson }),
  },
  handler: async ({ body, actor, deps, reply }) => {
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
    return { token: tokenToJson(minted.token), secret: minted.secret, envelope: budgetToJson(minted.envelope) };
  },
});

const revokeToken = route({
  method: 'POST',
  path: '/api/tokens/{id}/revoke',
  operationId: 'revokeToken',
  summary: 'Revoke a token and every token delegated from it',
  description: 'Their envelopes close; calls in flight settle normally.',
  tag,
  access: 'admin',
  params: TokenParams,
  body: ReasonBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'ids of the tokens revoked', schema: z.object({ revoked: z.array(z.string()) }) },
  handler: async ({ params, body, actor, deps }) => {
    const { revoked } = ok(await revokeTokenOp(deps.store, { tokenId: params.id, actor, reason: body?.reason }), { tokenId: 'id' });
    return { revoked };
  },
});

export const tokenRoutes: Route[] = [listTokens, mintToken, getToken, revokeToken];
