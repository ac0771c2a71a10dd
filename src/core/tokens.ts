import { assert } from './assert.js';
import { chainOf, draft, json } from './chain.js';
import { refuse, type Refusal } from './codes.js';
import { tokenScopes, type MintToken, type RevokeToken } from './commands.js';
import { freshState, insertBudget } from './budgets.js';
import { isCrossKind } from './crosscut.js';
import { limits } from './limits.js';
import { isMicros } from './money.js';
import { periodWindow } from './period.js';
import { tokenIdPattern } from './token-secret.js';
import { effectivePolicy, policyProblem, widening, type Policy } from './policy.js';
import type { Tx } from './tx.js';
import type { BudgetRecord, Ok, TokenRecord } from './types.js';
import { checkLabels, checkText } from './validate.js';
import { remainingAt, viewBudget, viewToken, type BudgetView, type TokenView } from './view.js';

export type MintOk = Ok<{ token: TokenView; envelope: BudgetView }>;
export type RevokeOk = Ok<{ revoked: string[] }>;

const hashPattern = /^[0-9a-f]{64}$/;

export function validateMint(cmd: MintToken): Refusal | undefined {
  if (!tokenIdPattern.test(String(cmd.tokenId))) return refuse('invalid_token', 'tokenId must look like tok_<letters and digits>', { field: 'tokenId' });
  if (!hashPattern.test(String(cmd.hash))) return refuse('invalid_token', 'hash must be a SHA-256 hex digest', { field: 'hash' });
  if (cmd.limitMicros !== undefined && cmd.limitMicros !== null && !isMicros(cmd.limitMicros)) {
    return refuse('invalid_amount', 'max spend must be a whole number of micros', { field: 'limitMicros' });
  }
  if (cmd.expiresMs !== undefined && cmd.expiresMs !== null && !(Number.isSafeInteger(cmd.expiresMs) && cmd.expiresMs > 0)) {
    return refuse('invalid_token', 'expiresMs must be a time in milliseconds since 1970', { field: 'expiresMs' });
  }
  const scopes = cmd.scopes ?? [];
  const badScope = scopes.find((s) => !(tokenScopes as readonly string[]).includes(s));
  if (badScope !== undefined) return refuse('invalid_token', `unknown scope "${badScope}"; allowed: ${tokenScopes.join(', ')}`, { field: 'scopes' });
  const problem = policyProblem(tokenPolicy(cmd));
  if (problem) return refuse('invalid_policy', problem.message, { field: problem.field });
  return checkLabels(cmd.labels) ?? checkText(cmd.actor, 'actor', limits.labelBytesMax) ?? checkText(cmd.reason, 'reason', limits.reasonBytesMax);
}

function tokenPolicy(cmd: MintToken): Policy {
  const policy: Policy = {};
  if (cmd.models !== undefined) policy.models = cmd.models;
  if (cmd.requestCapMicros !== undefined) policy.requestCapMicros = cmd.requestCapMicros;
  if (cmd.inflightMax !== undefined) policy.inflightMax = cmd.inflightMax;
  return policy;
}

/** Where a new token's envelope goes and what bounds it: a budget, or a parent token. */
function mintParent(tx: Tx, cmd: MintToken): { parent: BudgetRecord; parentToken?: TokenRecord } | Refusal {
  if (cmd.parentTokenId === undefined) {
    const parent = cmd.path === undefined ? undefined : tx.budgetByPath(cmd.path);
    if (!parent) return refuse('unknown_budget', `no budget at ${String(cmd.path)}`, { field: 'path' });
    if (isCrossKind(parent.kind)) return refuse('invalid_path', `${parent.path} is a ${parent.kind} budget; mint tokens under the budget the agent spends from`, { field: 'path', budget: parent.path });
    return { parent };
  }
  const parentToken = tx.token(cmd.parentTokenId);
  if (!parentToken) return refuse('unknown_token', `no token ${cmd.parentTokenId}`, { field: 'parentTokenId' });
  if (parentToken.status === 'revoked') return refuse('token_revoked', `token ${parentToken.id} is revoked`);
  if (parentToken.expiresMs !== null && parentToken.expiresMs <= tx.nowMs) return refuse('token_expired', `token ${parentToken.id} has expired`);
  if (!parentToken.scopes.includes('delegate')) return refuse('invalid_token', `token ${parentToken.id} may not delegate (minted without the delegate scope)`, { field: 'parentTokenId' });
  const parent = tx.budgetById(parentToken.budgetId);
  assert(parent, `token ${parentToken.id} has no envelope`);
  return { parent, parentToken };
}

/** The level of a chain with the least left to spend (the nearest on a tie), or undefined when none has a limit. */
function tightestOf(chain: readonly BudgetRecord[], nowMs: number): { budget: BudgetRecord; remainingMicros: number } | undefined {
  let tightest: { budget: BudgetRecord; remainingMicros: number } | undefined;
  for (const budget of chain) {
    const remainingMicros = remainingAt(budget, nowMs);
    if (remainingMicros !== null && (tightest === undefined || remainingMicros < tightest.remainingMicros)) tightest = { budget, remainingMicros };
  }
  return tightest;
}

/**
 * A delegated token can only narrow: expiry and scopes within its parent's, and a max spend no
 * more than what the parent's whole chain has left (a parent without a limit of its own is still
 * bounded by its agent, team and org).
 */
function delegationRefusal(tx: Tx, cmd: MintToken, parent: BudgetRecord, parentToken: TokenRecord): Refusal | undefined {
  const expiresMs = cmd.expiresMs ?? null;
  if (parentToken.expiresMs !== null && (expiresMs === null || expiresMs > parentToken.expiresMs)) {
    return refuse('policy_widens', `a child token must expire no later than its parent (${new Date(parentToken.expiresMs).toISOString()})`, { field: 'expiresMs' });
  }
  const extraScope = (cmd.scopes ?? []).find((s) => !parentToken.scopes.includes(s));
  if (extraScope !== undefined) return refuse('policy_widens', `scope ${extraScope} is not held by the parent token`, { field: 'scopes' });
  const own = remainingAt(parent, tx.nowMs);
  if (own !== null && (cmd.limitMicros === undefined || cmd.limitMicros === null)) {
    return refuse('policy_widens', `a child of a token with a max spend needs a max spend of its own, at most ${Math.max(0, own)} micros`, { field: 'limitMicros', budget: parent.path, remainingMicros: Math.max(0, own) });
  }
  const tightest = tightestOf(chainOf(tx, parent), tx.nowMs);
  if (tightest && cmd.limitMicros !== undefined && cmd.limitMicros !== null && cmd.limitMicros > tightest.remainingMicros) {
    const left = Math.max(0, tightest.remainingMicros);
    return refuse('policy_widens', `a child token's max spend must be at most what its parent can still spend: budget ${tightest.budget.path} has ${left} micros left`, { field: 'limitMicros', budget: tightest.budget.path, remainingMicros: left });
  }
  return undefined;
}

/**
 * Mints a spend token: a new envelope budget under an agent (or under the parent token's
 * envelope) whose limit is the token's max spend, so every call is checked on the whole chain.
 */
export function mintToken(tx: Tx, cmd: MintToken): MintOk | Refusal {
  const found = mintParent(tx, cmd);
  if ('ok' in found) return found;
  const { parent, parentToken } = found;
  if (tx.token(cmd.tokenId)) return refuse('invalid_token', `token ${cmd.tokenId} already exists`, { field: 'tokenId' });
  if (cmd.expiresMs !== undefined && cmd.expiresMs !== null && cmd.expiresMs <= tx.nowMs) {
    return refuse('invalid_token', `the expiry ${new Date(cmd.expiresMs).toISOString()} has already passed; a token must expire after it is minted`, { field: 'expiresMs' });
  }
  if (parent.status === 'closed') return refuse('budget_closed', `budget ${parent.path} is closed`, { budget: parent.path });
  if (parentToken) {
    const refusal = delegationRefusal(tx, cmd, parent, parentToken);
    if (refusal) return refusal;
  }
  const policy = tokenPolicy(cmd);
  const chain = chainOf(tx, parent);
  const wide = widening(effectivePolicy(chain.reverse().map((b) => b.policy)), policy);
  if (wide) return refuse('policy_widens', wide.message, { field: wide.field, budget: parent.path });
  if (parent.path.split('/').length >= limits.pathDepthMax) return refuse('tree_too_deep', `budget ${parent.path} is too deep to hold another envelope`, { budget: parent.path });

  const window = periodWindow('none', parent.timezone, tx.nowMs);
  const envelope: BudgetRecord = {
    id: tx.nextBudgetId(),
    parentId: parent.id,
    name: cmd.tokenId,
    path: `${parent.path}/${cmd.tokenId}`,
    kind: 'envelope',
    status: 'active',
    limitMicros: cmd.limitMicros ?? null,
    period: 'none',
    timezone: parent.timezone,
    periodStartMs: window.startMs,
    periodEndMs: window.endMs,
    policy,
    createdMs: tx.nowMs,
    ...freshState(policy),
  };
  insertBudget(tx, envelope, { actor: cmd.actor, reason: cmd.reason ?? `envelope of token ${cmd.tokenId}` });
  const token: TokenRecord = {
    id: cmd.tokenId,
    hash: cmd.hash,
    budgetId: envelope.id,
    parentTokenId: parentToken?.id ?? null,
    status: 'active',
    scopes: cmd.scopes ?? [],
    expiresMs: cmd.expiresMs ?? null,
    labels: cmd.labels ?? {},
    createdMs: tx.nowMs,
    revokedMs: null,
  };
  tx.insertToken(token);
  tx.append(
    draft(tx, 'token_minted', envelope.id, envelope.limitMicros ?? 0, {
      actor: cmd.actor ?? null,
      reason: cmd.reason ?? null,
      session: cmd.labels?.session ?? null,
      task: cmd.labels?.task ?? null,
      data: json({ tokenId: token.id, parentTokenId: token.parentTokenId, scopes: token.scopes, expiresMs: token.expiresMs }),
    }),
  );
  return { ok: true, token: viewToken(token, envelope.path), envelope: viewBudget(envelope, tx.nowMs) };
}

/** Revokes a token and every token delegated from it; their envelopes close. */
export function revokeToken(tx: Tx, cmd: RevokeToken): RevokeOk | Refusal {
  const root = tx.token(cmd.tokenId);
  if (!root) return refuse('unknown_token', `no token ${String(cmd.tokenId)}`, { field: 'tokenId' });
  const all = [root];
  for (let i = 0; i < all.length; i += 1) all.push(...tx.childTokens(all[i]?.id ?? ''));
  const revoked: string[] = [];
  for (const t of all) {
    if (t.status === 'revoked') continue;
    t.status = 'revoked';
    t.revokedMs = tx.nowMs;
    tx.tokenChanged(t);
    const envelope = tx.budgetById(t.budgetId);
    assert(envelope, `token ${t.id} has no envelope`);
    tx.append(draft(tx, 'token_revoked', envelope.id, 0, { actor: cmd.actor ?? null, reason: cmd.reason ?? null, data: json({ tokenId: t.id }) }));
    if (envelope.status !== 'closed') {
      tx.append(draft(tx, 'close', envelope.id, 0, { actor: cmd.actor ?? null, reason: `token ${t.id} revoked`, data: json({ from: envelope.status, to: 'closed' }) }));
      envelope.status = 'closed';
      tx.budgetChanged(envelope);
    }
    revoked.push(t.id);
  }
  return { ok: true, revoked };
}
