import { z } from 'zod';
import { newSpendToken, type Labels } from '../../core/index.js';
import { route, type Route } from '../deps.js';
import { WireError, ok, budgetToJson, tokenToJson, ActorHeaders, BudgetJson, MintTokenBody, ReasonBody, TokenJson, TokenParams, TokensQuery } from '../../contract/index.js';

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
    const within = (path: string) => query.budget === undefined || path === query.budget || path.startsWith(`${query.budget}/`);
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
    const minted = newSpendToken(deps.random);
    const labels: Labels = {};
    if (body.labels?.session !== undefined) labels.session = body.labels.session;
    if (body.labels?.task !== undefined) labels.task = body.labels.task;
    const expiresMs = body.expires_at !== undefined ? Date.parse(body.expires_at) : body.expires_in_ms !== undefined ? deps.store.now() + body.expires_in_ms : undefined;
    const result = ok(
      await deps.store.mintToken({
        path: body.budget,
        parentTokenId: body.parent_token_id,
        tokenId: minted.id,
        hash: minted.hash,
        limitMicros: body.max_spend_micros,
        models: body.models,
        requestCapMicros: body.request_cap_micros,
        inflightMax: body.inflight_max,
        expiresMs,
        scopes: body.scopes,
        labels,
        actor,
        reason: body.reason,
      }),
      { path: 'budget', limitMicros: 'max_spend_micros', expiresMs: body.expires_at !== undefined ? 'expires_at' : 'expires_in_ms', tokenId: 'id' },
    );
    void reply.header('cache-control', 'no-store');
    return { token: tokenToJson(result.token), secret: minted.secret, envelope: budgetToJson(result.envelope) };
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
    const { revoked } = ok(await deps.store.revokeToken({ tokenId: params.id, actor, reason: body?.reason }), { tokenId: 'id' });
    return { revoked };
  },
});

export const tokenRoutes: Route[] = [listTokens, mintToken, getToken, revokeToken];
