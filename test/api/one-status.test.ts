import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeTable, type WireCode } from '../../src/contract/index.js';
import { newSpendToken } from '../../src/core/index.js';
import { startApi, type ApiServer } from './api-harness.js';

/**
 * The same refusal through each door of one server: the admin API (admin key, Bursar's error
 * shape) and the routes a spend token calls (OpenAI's shape). Whatever the door, a code has one
 * status, the code table's.
 */

const t0 = Date.UTC(2026, 0, 5, 9);
const clock = { ms: t0, now: () => clock.ms };
let s: ApiServer;
const tokens: Record<'parent' | 'revoked' | 'expiring', { id: string; secret: string }> = {} as never;

async function mint(name: keyof typeof tokens, expiresMs: number): Promise<void> {
  const t = newSpendToken((n) => randomBytes(n));
  const made = await s.store.mintToken({ path: 'acme/bot', tokenId: t.id, hash: t.hash, limitMicros: 1_000_000, scopes: ['delegate'], expiresMs });
  if (!made.ok) throw new Error(made.message);
  tokens[name] = { id: t.id, secret: t.secret };
}

beforeAll(async () => {
  s = await startApi({ clock });
  expect((await s.store.createBudget({ path: 'acme', kind: 'org', limitMicros: 100_000_000 })).ok).toBe(true);
  expect((await s.store.createBudget({ path: 'acme/bot', kind: 'agent', policy: { inflightMax: 100 } })).ok).toBe(true);
  await mint('parent', t0 + 3_600_000);
  await mint('revoked', t0 + 3_600_000);
  await mint('expiring', t0 + 60_000);
  expect((await s.store.revokeToken({ tokenId: tokens.revoked.id })).ok).toBe(true);
});

afterAll(() => s.close());

/** What a door answered: its status and the code in its own error shape. */
async function answer(method: string, path: string, o: { key?: string | null; token?: string; body?: unknown }): Promise<{ status: number; code: string }> {
  const got = await s.call<{ error: { code: string } }>(method, path, { key: o.token === undefined ? o.key : null, body: o.body, headers: o.token === undefined ? {} : { authorization: `Bearer ${o.token}` } });
  return { status: got.status, code: got.json.error.code };
}

function expectOneStatus(code: WireCode, ...doors: { status: number; code: string }[]): void {
  for (const door of doors) expect(door).toEqual({ status: codeTable[code].status, code });
}

describe('one status per code, whatever the door', () => {
  it('policy_widens is 403 from the admin API and from a token delegating', async () => {
    // Proves a widening is refused alike: an admin minting from a token and the token minting itself.
    const admin = await answer('POST', '/api/tokens', { body: { parent_token_id: tokens.parent.id, max_spend_micros: 2_000_000 } });
    const agent = await answer('POST', '/v1/bursar/tokens', { token: tokens.parent.secret, body: { max_spend_micros: 2_000_000 } });
    expectOneStatus('policy_widens', admin, agent);
  });

  it('token_revoked and token_expired are 401 from the admin API, the agent routes and the provider proxy', async () => {
    // Proves credentials that stopped working answer the same everywhere (the admin API used to say 409).
    const revoked = [
      await answer('POST', '/api/tokens', { body: { parent_token_id: tokens.revoked.id, max_spend_micros: 1 } }),
      await answer('POST', '/v1/bursar/tokens', { token: tokens.revoked.secret, body: { max_spend_micros: 1 } }),
      await answer('POST', '/v1/chat/completions', { token: tokens.revoked.secret, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } }),
    ];
    expectOneStatus('token_revoked', ...revoked);
    clock.ms = t0 + 120_000;
    const expired = [
      await answer('POST', '/api/tokens', { body: { parent_token_id: tokens.expiring.id, max_spend_micros: 1 } }),
      await answer('POST', '/v1/bursar/tokens', { token: tokens.expiring.secret, body: { max_spend_micros: 1 } }),
      await answer('POST', '/v1/chat/completions', { token: tokens.expiring.secret, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } }),
      await answer('GET', '/v1/bursar/balance', { token: tokens.expiring.secret }),
    ];
    expectOneStatus('token_expired', ...expired);
  });

  it('unknown_token and unknown_reservation are 404 from the admin API and the agent routes', async () => {
    // Proves "it does not exist" has one status.
    expectOneStatus(
      'unknown_token',
      await answer('POST', '/api/tokens/tok_DOESNOTEXIST/revoke', {}),
      await answer('POST', '/v1/bursar/tokens/tok_DOESNOTEXIST/revoke', { token: tokens.parent.secret }),
    );
    expectOneStatus(
      'unknown_reservation',
      await answer('POST', '/api/reservations/rsv_99999/settle', { body: { actual_micros: 1 } }),
      await answer('POST', '/v1/bursar/reservations/rsv_99999/settle', { token: tokens.parent.secret, body: { actual_micros: 1 } }),
    );
    expectOneStatus('unknown_budget', await answer('POST', '/api/reservations', { body: { budget: 'acme/nope', amount_micros: 1 } }));
  });
});
