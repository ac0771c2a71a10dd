import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultToolPrices } from '../pricing/index.js';
import { openSqliteStore, type Store } from '../store/index.js';
import { authenticateToken, balanceOf, delegate, mintToken, reserveTool, revokeToken, settle, tightestOf, voidReservation, type Minted } from './index.js';

const random = (n: number) => randomBytes(n);
const t0 = Date.UTC(2026, 0, 5, 9);
let dir: string;
let store: Store;
/** A clock that moves only when told to. */
const clock = { ms: t0, now: () => clock.ms, advance: (ms: number) => (clock.ms += ms) };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-ops-'));
  clock.ms = t0;
  store = openSqliteStore({ path: join(dir, 'ops.db'), clock });
  for (const b of [
    { path: 'acme', kind: 'org' as const, limitMicros: 1_000_000 },
    { path: 'acme/bot', kind: 'agent' as const, policy: { inflightMax: 100 } },
    { path: 'acme/other', kind: 'agent' as const, policy: { inflightMax: 100 } },
  ]) {
    const made = await store.createBudget(b);
    if (!made.ok) throw new Error(made.message);
  }
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function minted(input: Parameters<typeof mintToken>[2]): Promise<Minted> {
  const m = await mintToken(store, random, input);
  if (!m.ok) throw new Error(m.message);
  return m;
}

describe('authenticateToken', () => {
  it('names what is wrong with a credential, and lets a stopped token settle what it reserved', async () => {
    // Proves expiry and revocation are decided in one place, with the clock the store keeps.
    const live = await minted({ path: 'acme/bot', expiresMs: t0 + 60_000 });
    const codeOf = async (secret: string | undefined, use?: 'active' | 'resolve') => {
      const c = await authenticateToken(store, secret, clock.now(), use);
      return 'ok' in c ? c.code : c.token.id;
    };
    expect([await codeOf(undefined), await codeOf('sk-not-ours'), await codeOf('bsr_ABCDEFGHIJKLMNOPQRSTUVWX')]).toEqual(['token_invalid', 'token_invalid', 'token_invalid']);
    expect(await codeOf(live.secret)).toBe(live.token.id);
    clock.advance(60_000);
    expect([await codeOf(live.secret), await codeOf(live.secret, 'resolve')]).toEqual(['token_expired', live.token.id]);
    expect((await store.revokeToken({ tokenId: live.token.id })).ok).toBe(true);
    expect([await codeOf(live.secret), await codeOf(live.secret, 'resolve')]).toEqual(['token_revoked', live.token.id]);
  });
});

describe('delegate', () => {
  it('needs the delegate scope, expires with its parent by default, and refuses an expiry already past', async () => {
    // Proves the delegation rules every door shares: scope, default expiry, and time.
    const plain = await minted({ path: 'acme/bot', limitMicros: 10_000 });
    const refused = await delegate(store, random, { token: plain.token }, { limitMicros: 1 }, clock.now());
    expect(refused).toMatchObject({ ok: false, code: 'forbidden' });
    const parent = await minted({ path: 'acme/bot', limitMicros: 10_000, scopes: ['delegate'], expiresMs: t0 + 3_600_000 });
    const child = await delegate(store, random, { token: parent.token }, { limitMicros: 5_000 }, clock.now());
    expect(child.ok && [child.token.parentTokenId, child.token.expiresMs, child.token.scopes, child.envelope.path]).toEqual([parent.token.id, t0 + 3_600_000, [], `${parent.envelope.path}/${child.ok ? child.token.id : ''}`]);
    expect(await delegate(store, random, { token: parent.token }, { limitMicros: 1, expiresMs: t0 }, clock.now())).toMatchObject({ ok: false, code: 'bad_request', field: 'expiresMs' });
  });

  it('from a plain budget, fits the child in what the chain can still spend', async () => {
    // Proves a client without a token cannot hand out more than its chain has left (the ledger checks a token's own children).
    const r = await store.reserve({ path: 'acme/bot', amountMicros: 400_000 });
    expect(r.ok).toBe(true);
    const wide = await delegate(store, random, { budget: 'acme/bot' }, { limitMicros: 600_001 }, clock.now());
    expect(wide).toMatchObject({ ok: false, code: 'policy_widens', field: 'limitMicros', budget: 'acme', remainingMicros: 600_000 });
    const fits = await delegate(store, random, { budget: 'acme/bot' }, { limitMicros: 600_000, delegate: true }, clock.now());
    expect(fits.ok && [fits.token.expiresMs, fits.token.scopes]).toEqual([null, ['delegate']]);
  });
});

describe('what a caller reaches', () => {
  it('revokes and resolves only at or under its own path; anything else is unknown', async () => {
    // Proves ownership: a sibling's token or reservation reads as one that does not exist.
    const mine = await minted({ path: 'acme/bot', scopes: ['delegate'] });
    const theirs = await minted({ path: 'acme/other' });
    expect(await revokeToken(store, { tokenId: theirs.token.id, within: mine.envelope.path })).toMatchObject({ ok: false, code: 'unknown_token', field: 'tokenId' });
    const r = await reserveTool(store, defaultToolPrices(), { path: theirs.envelope.path, tool: 'Bash' });
    if (!r.ok) throw new Error(r.message);
    const id = r.reservation.reservation.id;
    expect(r.reservation.reservation.labels.tool).toBe('Bash');
    expect(await settle(store, { reservationId: id, actualMicros: 1, within: mine.envelope.path })).toMatchObject({ ok: false, code: 'unknown_reservation', field: 'reservationId' });
    expect(await voidReservation(store, { reservationId: id, within: mine.envelope.path })).toMatchObject({ ok: false, code: 'unknown_reservation' });
    expect((await settle(store, { reservationId: id, actualMicros: 1, within: theirs.envelope.path })).ok).toBe(true);
    expect((await revokeToken(store, { tokenId: theirs.token.id, within: 'acme' })).ok).toBe(true);
  });
});

describe('the tightest level', () => {
  it('is the level with least left, the nearest on a tie, and a balance never shows less than zero', async () => {
    // Proves the one "tightest budget" rule the balance route, the admin API, the SDK and the CLI show.
    expect((await store.updateBudget({ path: 'acme/bot', limitMicros: 1_000_000 })).ok).toBe(true);
    const chain = await store.chain('acme/bot');
    expect(tightestOf(chain)?.path).toBe('acme/bot');
    const shadow = await store.reserve({ path: 'acme/bot', amountMicros: 1_500_000, enforce: false });
    expect(shadow.ok).toBe(true);
    const b = balanceOf(await store.chain('acme/bot'));
    expect([b.tightest, b.remainingMicros, b.chain.map((l) => l.remainingMicros), b.active]).toEqual(['acme/bot', 0, [0, 0], true]);
    expect(tightestOf(await store.chain('acme/other'))?.path).toBe('acme');
  });
});

describe('tool spend and loop detection', () => {
  it('counts a tool called with the same params against the loop limit, and a tool without params not at all', async () => {
    // Proves reserveTool passes the tool's fingerprint with the reservation (what the SDK's local mode and the agent routes use).
    const limited = await store.updateBudget({ path: 'acme/bot', policyPatch: { loopLimit: { repeats: 2, windowMs: 60_000 } } });
    if (!limited.ok) throw new Error(limited.message);
    const prices = defaultToolPrices();
    const call = (params?: Record<string, unknown>) => reserveTool(store, prices, { path: 'acme/bot', tool: 'WebFetch', estimateMicros: 10, params });
    for (let i = 0; i < 3; i += 1) expect((await call()).ok).toBe(true);
    expect((await call({ url: 'https://example.com/a' })).ok).toBe(true);
    expect((await call({ url: 'https://example.com/b' })).ok).toBe(true);
    expect((await call({ url: 'https://example.com/a' })).ok).toBe(true);
    const looped = await call({ url: 'https://example.com/a' });
    expect(looped.ok ? 'ok' : looped.code).toBe('loop_detected');
  });
});
