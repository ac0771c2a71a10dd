import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bursar, BursarError, type BursarResult } from '../../src/index.js';
import { setScopedLimit } from '../../src/ops/index.js';
import { bundledCatalog } from '../../src/pricing/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { mintToken } from '../gateway/agent-harness.js';
import { expectedCost, type Harness, useHarness } from '../gateway/harness.js';

/**
 * The SDK in both modes against real parts: `Bursar.local` on the harness's SQLite store and
 * `Bursar.remote` through its running server. The behaviour is written once and run per mode;
 * what only one mode has (the provider clients, an unreachable server, a db file) follows.
 */

let h: Harness;
let made = 0;

useHarness((started) => (h = started));

const modes = ['local', 'remote'] as const;
type Mode = (typeof modes)[number];

interface Subject {
  bursar: Bursar;
  /** The agent budget made for this test (limit `limitMicros`). */
  agent: string;
  /** Where the client's reservations land: the agent (local) or the token's envelope (remote). */
  leaf: string;
  /** The leaf and every budget above it, leaf first. */
  chain: string[];
}

/**
 * A client on a fresh agent budget, so tests share only the team and org: local spends on the
 * agent itself; remote with a delegate-scope token that has no limit of its own, so the agent is
 * the tightest level in both modes and the numbers are the same.
 */
async function subject(mode: Mode, o: { limitMicros?: number; session?: string; task?: string; tags?: string[] } = {}): Promise<Subject> {
  made += 1;
  const agent = `acme/research/sdk-${mode}-${made}`;
  const created = await h.server.store.createBudget({ path: agent, kind: 'agent', limitMicros: o.limitMicros ?? 1_000_000, policy: { inflightMax: 1_000 } });
  if (!created.ok) throw new Error(created.message);
  const above = [agent, 'acme/research', 'acme'];
  if (mode === 'local') return { bursar: Bursar.local({ store: h.server.store, budget: agent, session: o.session, task: o.task, tags: o.tags }), agent, leaf: agent, chain: above };
  const token = await mintToken(h.server.store, { path: agent, limitMicros: null, scopes: ['delegate'] });
  return { bursar: Bursar.remote({ url: h.server.url, token: token.secret, session: o.session, task: o.task, tags: o.tags }), agent, leaf: token.envelope, chain: [token.envelope, ...above] };
}

/** Spent and reserved of each budget, in the order given. */
async function levels(paths: string[]): Promise<{ path: string; spent: number; reserved: number }[]> {
  const budgets = await Promise.all(paths.map((p) => h.server.store.getBudget(p)));
  return budgets.map((b, i) => ({ path: paths[i] ?? '', spent: b?.spentMicros ?? -1, reserved: b?.reservedMicros ?? -1 }));
}

/** `before` with `spent` added on every level (reserved unchanged). */
function plus(before: Awaited<ReturnType<typeof levels>>, spent: number) {
  return before.map((l) => ({ ...l, spent: l.spent + spent }));
}

/** Sequence number of the newest ledger entry: unchanged means nothing was written. */
async function head(): Promise<number> {
  const page = await h.server.store.ledger({ order: 'desc', limit: 1 });
  return page.entries[0]?.seq ?? 0;
}

function must<T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r)}`);
  return r as Extract<T, { ok: true }>;
}

/** The refusal's stable parts. */
function refusal(r: BursarResult<object>) {
  if (r.ok) return { ok: true };
  return { ok: false, code: r.code, budget: r.budget, remainingMicros: r.remainingMicros, field: r.field };
}

/** The URL a fetch was called with. */
function urlOf(input: Parameters<typeof fetch>[0]): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe.each(modes)('Bursar.%s', (mode) => {
  it('guard.run reserves the estimate, runs inside the reservation, and settles the actual cost on every level', async () => {
    // Proves the guard flow: hold while running, then the reported cost, else the result's costMicros, else the estimate, charged on the leaf and every ancestor.
    const s = await subject(mode);
    const before = await levels(s.chain);
    const seen: { status?: string; amount?: number; reserved?: number }[] = [];
    const during = async (id: string) => {
      const r = await h.server.store.getReservation(id);
      seen.push({ status: r?.status, amount: r?.amountMicros, reserved: (await h.server.store.getBudget(s.leaf))?.reservedMicros });
    };
    const fromResult = must(await s.bursar.guard.run({ tool: 'WebFetch', params: { url: 'https://example.com' } }, async (ctx) => {
      await during(ctx.reservationId);
      return { body: 'page', costMicros: 7_000 };
    }));
    const reported = must(await s.bursar.guard.run({ tool: 'WebFetch' }, async (ctx) => {
      await during(ctx.reservationId);
      ctx.reportCost(4_000);
      return { costMicros: 9_000 };
    }));
    const estimated = must(await s.bursar.guard.run({ tool: 'WebFetch' }, () => 'plain'));
    expect(seen).toEqual([{ status: 'open', amount: 10_000, reserved: 10_000 }, { status: 'open', amount: 10_000, reserved: 10_000 }]);
    expect([fromResult.value.body, fromResult.costMicros, fromResult.costFrom, fromResult.estimateMicros, fromResult.settled]).toEqual(['page', 7_000, 'result', 10_000, true]);
    expect([reported.costMicros, reported.costFrom, reported.settled]).toEqual([4_000, 'reported', true]);
    expect([estimated.value, estimated.costMicros, estimated.costFrom, estimated.settled]).toEqual(['plain', 10_000, 'estimate', true]);
    for (const [run, cost] of [[fromResult, 7_000], [reported, 4_000], [estimated, 10_000]] as const) {
      const r = await h.server.store.getReservation(run.reservationId);
      expect([r?.budget, r?.status, r?.actualMicros, r?.labels.tool]).toEqual([s.leaf, 'settled', cost, 'WebFetch']);
    }
    const settles = (await h.server.store.ledger({ budget: s.leaf, kinds: ['settle'] })).entries.map((e) => e.amountMicros);
    expect(settles).toEqual([7_000, 4_000, 10_000]);
    expect(await levels(s.chain)).toEqual(plus(before, 21_000));
  });

  it('guard.run voids when fn throws, rethrows that error, and charges nothing', async () => {
    // Proves a failed tool call costs nothing: the reservation is released and the caller sees its own error.
    const s = await subject(mode);
    const before = await levels(s.chain);
    const boom = new Error('tool failed');
    let id = '';
    await expect(
      s.bursar.guard.run({ tool: 'Bash' }, (ctx) => {
        id = ctx.reservationId;
        throw boom;
      }),
    ).rejects.toBe(boom);
    const r = await h.server.store.getReservation(id);
    expect([r?.status, r?.amountMicros, r?.actualMicros]).toEqual(['voided', 10_000, null]);
    expect(await levels(s.chain)).toEqual(before);
    // A malformed costMicros on the result is charged the estimate, then surfaces as invalid_cost.
    await expect(s.bursar.guard.run({ tool: 'Read' }, () => ({ costMicros: 2.5 }))).rejects.toMatchObject({ name: 'BursarError', code: 'invalid_cost' });
    expect(await levels(s.chain)).toEqual(plus(before, 1_000));
  });

  it('a reservation the budget cannot take comes back as budget_exceeded, and fn is never called', async () => {
    // Proves refusal is a result naming the budget and what it has left, decided before the tool runs, writing nothing.
    const s = await subject(mode, { limitMicros: 50_000 });
    const at = await head();
    let calls = 0;
    const fn = () => {
      calls += 1;
      return 'ran';
    };
    const byTable = await s.bursar.guard.run({ tool: 'Agent' }, fn);
    const given = await s.bursar.guard.run({ tool: 'Read', estimateMicros: 50_001 }, fn);
    for (const r of [byTable, given]) expect(refusal(r)).toEqual({ ok: false, code: 'budget_exceeded', budget: s.agent, remainingMicros: 50_000, field: undefined });
    expect(calls).toBe(0);
    expect(await head()).toBe(at);
    // Exactly what is left still fits.
    expect(must(await s.bursar.guard.run({ tool: 'Read', estimateMicros: 50_000 }, fn)).costMicros).toBe(50_000);
    expect(calls).toBe(1);
    expect(await s.bursar.remaining()).toBe(0);
  });

  it('a burst past the agent\'s burn limit comes back as burn_limit with when to try again, and fn is never called', async () => {
    // Proves the breaker reaches the SDK as a result in both modes: the refusing budget, retryAfterMs, nothing run.
    const s = await subject(mode);
    must(await h.server.store.updateBudget({ path: s.agent, policyPatch: { burnLimits: [{ amountMicros: 25_000, windowMs: 60_000 }] } }));
    let calls = 0;
    const fn = () => {
      calls += 1;
      return 'ran';
    };
    for (let i = 0; i < 2; i += 1) must(await s.bursar.guard.run({ tool: 'WebFetch' }, fn));
    const refused = await s.bursar.guard.run({ tool: 'WebFetch' }, fn);
    expect(calls).toBe(2);
    if (refused.ok) throw new Error('expected a refusal');
    expect([refused.code, refused.budget]).toEqual(['burn_limit', s.agent]);
    expect(refused.retryAfterMs).toBeGreaterThanOrEqual(59_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('estimates from the price table: listed tools, the unknown-tool rule, and an explicit estimate', async () => {
    // Proves estimate() and what reserve() holds agree with the bundled table (the server's in remote mode).
    const s = await subject(mode);
    expect(await s.bursar.estimate('WebFetch')).toEqual({ costMicros: 10_000, basis: 'table', pricedAs: 'WebFetch' });
    expect(await s.bursar.estimate({ tool: 'CustomTool' })).toEqual({ costMicros: 12_000, basis: 'unknown', pricedAs: null });
    expect((await s.bursar.estimate({ tool: 'WebFetch', estimateMicros: 3_333 })).costMicros).toBe(3_333);
    expect((await s.bursar.estimate({ tool: 'Agent' })).costMicros).toBe(100_000);
    const unknown = must(await s.bursar.reserve({ tool: 'CustomTool' }));
    const given = must(await s.bursar.reserve({ tool: 'WebFetch', estimateMicros: 3_333 }));
    expect([unknown.reservation.amountMicros, unknown.reservation.basis, unknown.reservation.budget, unknown.reservation.tightest]).toEqual([12_000, 'unknown', s.leaf, s.agent]);
    expect([given.reservation.amountMicros, given.reservation.basis, given.reservation.remainingMicros]).toEqual([3_333, 'given', 1_000_000 - 12_000 - 3_333]);
    expect(must(await s.bursar.void(unknown.reservation.id)).id).toBe(unknown.reservation.id);
    expect(must(await s.bursar.void(given.reservation.id)).id).toBe(given.reservation.id);
    expect(await levels([s.leaf])).toEqual([{ path: s.leaf, spent: 0, reserved: 0 }]);
  });

  it('remaining and canAfford agree with balance and move with reservations and settlements', async () => {
    // Proves the read side: the tightest level's remainder, what fits in it, and that a hold counts until settled.
    const s = await subject(mode, { limitMicros: 100_000 });
    const b = must(await s.bursar.balance()).balance;
    expect([b.remainingMicros, b.tightest, b.active, b.chain.map((l) => l.budget)]).toEqual([100_000, s.agent, true, s.chain]);
    expect(b.chain[s.chain.indexOf(s.agent)]).toMatchObject({ kind: 'agent', limitMicros: 100_000, spentMicros: 0, reservedMicros: 0, remainingMicros: 100_000 });
    expect(await s.bursar.remaining()).toBe(100_000);
    expect([await s.bursar.canAfford(100_000), await s.bursar.canAfford(100_001), await s.bursar.canAfford('Agent'), await s.bursar.canAfford({ tool: 'Agent', estimateMicros: 100_001 })]).toEqual([true, false, true, false]);

    const r = must(await s.bursar.reserve({ tool: 'X', estimateMicros: 30_000 }));
    expect(r.reservation.remainingMicros).toBe(70_000);
    expect(await s.bursar.remaining()).toBe(70_000);
    expect([await s.bursar.canAfford('Agent'), await s.bursar.canAfford(70_000)]).toEqual([false, true]);
    const settled = must(await s.bursar.settle(r.reservation.id, 25_000)).settlement;
    expect(settled).toEqual({ id: r.reservation.id, actualMicros: 25_000, overrunMicros: 0, lateCharge: false });
    expect(await s.bursar.remaining()).toBe(75_000);
    const after = must(await s.bursar.balance()).balance;
    expect(after.chain[s.chain.indexOf(s.agent)]).toMatchObject({ spentMicros: 25_000, reservedMicros: 0, remainingMicros: 75_000 });
    expect(refusal(await s.bursar.settle(r.reservation.id, 1))).toMatchObject({ ok: false, code: 'already_settled' });
    await expect(s.bursar.canAfford(1.5)).rejects.toMatchObject({ name: 'BursarError', code: 'invalid_cost' });
  });

  it('refuses bad input with bad_request naming the field and writes nothing', async () => {
    // Proves validation happens before the ledger, the same in both modes: every bad field is named as the SDK names it, fn is not run, the ledger head does not move.
    const s = await subject(mode);
    const open = must(await s.bursar.reserve({ tool: 'Read' }));
    const at = await head();
    const before = await levels(s.chain);
    const cases: [Parameters<Bursar['reserve']>[0], string][] = [
      [{ tool: 'Read', estimateMicros: 1.5 }, 'estimateMicros'],
      [{ tool: 'Read', estimateMicros: -5 }, 'estimateMicros'],
      [{ tool: 'Read', estimateMicros: 0 }, 'estimateMicros'],
      [{ tool: '' }, 'tool'],
      [{ tool: 'Read', ttlMs: 0 }, 'ttlMs'],
      [{ tool: 'Read', session: '' }, 'session'],
    ];
    let calls = 0;
    for (const [call, field] of cases) {
      expect(refusal(await s.bursar.reserve(call))).toMatchObject({ ok: false, code: 'bad_request', field });
      expect(refusal(await s.bursar.guard.run(call, () => (calls += 1)))).toMatchObject({ ok: false, code: 'bad_request', field });
    }
    for (const bad of [-1, 1.5, Number.NaN]) expect(refusal(await s.bursar.settle(open.reservation.id, bad))).toMatchObject({ ok: false, code: 'bad_request', field: 'actualMicros' });
    const delegations: [Parameters<Bursar['delegate']>[0], string][] = [
      [{ maxSpendMicros: 1.5 }, 'maxSpendMicros'],
      [{ maxSpendMicros: 0 }, 'maxSpendMicros'],
      [{ maxSpendMicros: -5 }, 'maxSpendMicros'],
      [{ maxSpendMicros: 10, expiresInMs: -1 }, 'expiresInMs'],
      [{ maxSpendMicros: 10, inflightMax: 0 }, 'inflightMax'],
      [{ maxSpendMicros: 10, models: ['not a model!'] }, 'models.0'],
      [{ maxSpendMicros: 10, session: '' }, 'session'],
    ];
    for (const [options, field] of delegations) expect(refusal(await s.bursar.delegate(options))).toMatchObject({ ok: false, code: 'bad_request', field });
    expect(calls).toBe(0);
    expect(await head()).toBe(at);
    expect(await levels(s.chain)).toEqual(before);
    // Someone else's reservation, or none, is unknown (nothing is written either).
    expect(refusal(await s.bursar.void('rsv_999999999'))).toMatchObject({ ok: false, code: 'unknown_reservation', field: 'id' });
    expect(await head()).toBe(at);
    must(await s.bursar.void(open.reservation.id));
  });

  it('delegate: the child spends on the whole parent chain and can only narrow', async () => {
    // Proves delegation in both modes: a child envelope under the client's leaf, spend counted on every level above, max spend bounded by what is left.
    const s = await subject(mode);
    const wide = await s.bursar.delegate({ maxSpendMicros: 1_000_001 });
    expect(refusal(wide)).toEqual({ ok: false, code: 'policy_widens', budget: s.agent, remainingMicros: 1_000_000, field: 'maxSpendMicros' });
    const child = must(await s.bursar.delegate({ maxSpendMicros: 200_000, delegate: true, task: 'sub' }));
    expect([child.budget, child.maxSpendMicros, child.scopes, child.bursar.mode]).toEqual([`${s.leaf}/${child.id}`, 200_000, ['delegate'], mode]);
    expect(child.token).toMatch(/^bsr_/);
    const childChain = [child.budget, ...s.chain];
    const before = await levels(childChain);
    expect(must(await child.bursar.guard.run({ tool: 'Bash' }, () => ({ costMicros: 8_000 }))).costMicros).toBe(8_000);
    expect(await levels(childChain)).toEqual(plus(before, 8_000));
    const b = must(await child.bursar.balance()).balance;
    expect([b.chain.map((l) => l.budget), b.tightest, b.remainingMicros]).toEqual([childChain, child.budget, 192_000]);

    // The child narrows in turn: not above what its envelope has left; a grandchild's spend reaches the root.
    expect(refusal(await child.bursar.delegate({ maxSpendMicros: 192_001 }))).toEqual({ ok: false, code: 'policy_widens', budget: child.budget, remainingMicros: 192_000, field: 'maxSpendMicros' });
    const grand = must(await child.bursar.delegate({ maxSpendMicros: 50_000 }));
    expect(grand.budget).toBe(`${child.budget}/${grand.id}`);
    expect(grand.scopes).toEqual([]);
    must(await grand.bursar.guard.run({ tool: 'Read' }, () => 'ok'));
    expect(await levels([grand.budget, ...childChain])).toEqual([{ path: grand.budget, spent: 1_000, reserved: 0 }, ...plus(before, 9_000)]);
    // Minted without delegate: it may not mint.
    expect(refusal(await grand.bursar.delegate({ maxSpendMicros: 1 }))).toMatchObject({ ok: false, code: 'forbidden' });
    // The child's own limit binds it even while the parent has room.
    expect(refusal(await grand.bursar.reserve({ tool: 'X', estimateMicros: 49_001 }))).toEqual({ ok: false, code: 'budget_exceeded', budget: grand.budget, remainingMicros: 49_000, field: undefined });
  });

  it('revoke: the child and everything it delegated stop reserving; a sibling cannot revoke', async () => {
    // Proves revocation reaches down the chain only, and what was reserved before it can still be settled.
    const s = await subject(mode);
    const c1 = must(await s.bursar.delegate({ maxSpendMicros: 100_000, delegate: true }));
    const c2 = must(await s.bursar.delegate({ maxSpendMicros: 100_000 }));
    const grand = must(await c1.bursar.delegate({ maxSpendMicros: 10_000 }));
    const held = must(await c1.bursar.reserve({ tool: 'Bash' }));
    expect(refusal(await c2.bursar.revoke(c1.id))).toMatchObject({ ok: false, code: 'unknown_token' });
    expect(refusal(await s.bursar.revoke('tok_AAAAAAAAAAAA'))).toMatchObject({ ok: false, code: 'unknown_token' });
    expect(must(await s.bursar.revoke(c1.id)).revoked).toEqual([c1.id, grand.id]);
    const stopped = mode === 'remote' ? 'token_revoked' : 'budget_closed';
    for (const b of [c1.bursar, grand.bursar]) {
      let calls = 0;
      expect(refusal(await b.guard.run({ tool: 'Read' }, () => (calls += 1)))).toMatchObject({ ok: false, code: stopped });
      expect(calls).toBe(0);
      expect(await b.remaining()).toBe(0);
      expect(await b.canAfford(0)).toBe(true);
      expect(await b.canAfford(1)).toBe(false);
    }
    expect(must(await c1.bursar.settle(held.reservation.id, 6_000)).settlement.actualMicros).toBe(6_000);
    expect((await h.server.store.getBudget(c1.budget))?.status).toBe('closed');
    expect(await levels([c1.budget, s.agent])).toEqual([{ path: c1.budget, spent: 6_000, reserved: 0 }, { path: s.agent, spent: 6_000, reserved: 0 }]);
    // The sibling is untouched.
    expect(must(await c2.bursar.guard.run({ tool: 'Read' }, () => 1)).settled).toBe(true);
    expect(await c2.bursar.remaining()).toBe(99_000);
  });
});

/** A tag budget of `limitMicros` (made the first time, its limit set after). */
async function tagLimit(tag: string, limitMicros: number): Promise<void> {
  const set = await setScopedLimit(h.server.store, bundledCatalog(), { kind: 'tag', tag, limitMicros });
  if (!set.ok) throw new Error(set.message);
}

describe.each(modes)('Bursar.%s with tags', (mode) => {
  it('carries the client\'s tags (or a call\'s own) to the reservation: a tag budget refuses past its limit, naming itself', async () => {
    // Proves tags reach the ledger in both modes: the tag budget holds each call, refuses the one past its limit, and a call's own tags replace the client's.
    const tag = `team:sdk-${mode}`;
    await tagLimit(tag, 15_000);
    const s = await subject(mode, { tags: [tag] });
    expect(must(await s.bursar.guard.run({ tool: 'WebFetch' }, () => 'first')).settled).toBe(true);
    expect((await h.server.store.getBudget(`tags/${tag}`))?.spentMicros).toBe(10_000);
    let ran = false;
    expect(refusal(await s.bursar.guard.run({ tool: 'WebFetch' }, () => (ran = true)))).toMatchObject({ ok: false, code: 'budget_exceeded', budget: `tags/${tag}` });
    expect(ran).toBe(false);
    const untagged = must(await s.bursar.reserve({ tool: 'WebFetch', tags: [`other:sdk-${mode}`] }));
    must(await s.bursar.void(untagged.reservation.id));
    const bad = await s.bursar.reserve({ tool: 'WebFetch', tags: ['not a tag'] });
    expect(refusal(bad)).toMatchObject({ ok: false, code: 'bad_request', field: 'tags.0' });
  });
});

describe('Bursar.remote only', () => {
  it('openai() sends the client\'s tags as x-bursar-tags: a spent tag budget refuses the call with 402 naming it, before the provider sees it', async () => {
    // Proves the official client built by the SDK carries the tags to the gateway's reservation.
    await tagLimit('product:sdk-chat', 1);
    const s = await subject('remote', { tags: ['product:sdk-chat', 'customer:7'] });
    const openai = await s.bursar.openai({ maxRetries: 0 });
    const seen = h.server.mock?.requests.length;
    const error = (await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 }).catch((e: unknown) => e)) as { status?: number; error?: unknown };
    expect(error.status).toBe(402);
    expect(JSON.stringify(error.error)).toContain('tags/product:sdk-chat');
    expect(h.server.mock?.requests.length).toBe(seen);
  });

  it('openai() is the official client through the gateway, charged to the token with the session label', async () => {
    // Proves LLM calls made with the SDK's client are metered on the token's envelope and labelled from Bursar.remote({ session }).
    const s = await subject('remote', { session: 'sdk-chat-1', task: 'answer' });
    const openai = await s.bursar.openai({ maxRetries: 0 });
    const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 }).withResponse();
    expect(data.choices[0]?.message.content?.length).toBeGreaterThan(0);
    const usage = data.usage;
    if (!usage) throw new Error('no usage');
    const cost = expectedCost('gpt-4o-mini', { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0 });
    expect(Number(response.headers.get('x-bursar-cost-micros'))).toBe(cost);
    expect(await levels([s.leaf, s.agent])).toEqual([{ path: s.leaf, spent: cost, reserved: 0 }, { path: s.agent, spent: cost, reserved: 0 }]);
    const entries = (await h.server.store.ledger({ session: 'sdk-chat-1' })).entries;
    expect(entries.map((e) => [e.kind, e.task, e.model])).toEqual([['reserve', 'answer', 'gpt-4o-mini'], ['settle', 'answer', 'gpt-4o-mini']]);
    expect(entries[1]?.amountMicros).toBe(cost);
    const envelope = await h.server.store.getBudget(s.leaf);
    expect(entries.every((e) => e.budgetId === envelope?.id)).toBe(true);
  });

  it('anthropic() is the official client through the gateway, charged and labelled the same way', async () => {
    // Proves messages.create through the SDK's Anthropic client is metered on the token's envelope with the session label.
    const s = await subject('remote', { session: 'sdk-msg-1' });
    const anthropic = await s.bursar.anthropic({ maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hello' }] });
    expect(message.content[0]?.type).toBe('text');
    const cost = expectedCost('claude-haiku-4-5', { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens });
    expect(cost).toBeGreaterThan(0);
    expect(await levels([s.leaf])).toEqual([{ path: s.leaf, spent: cost, reserved: 0 }]);
    const entries = (await h.server.store.ledger({ session: 'sdk-msg-1' })).entries;
    expect(entries.map((e) => [e.kind, e.model, e.session])).toEqual([['reserve', 'claude-haiku-4-5', 'sdk-msg-1'], ['settle', 'claude-haiku-4-5', 'sdk-msg-1']]);
    expect(entries[1]?.amountMicros).toBe(cost);
    // withLabels changes the session of later calls only.
    const other = await s.bursar.withLabels({ session: 'sdk-msg-2' }).openai({ maxRetries: 0 });
    await other.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    expect((await h.server.store.ledger({ session: 'sdk-msg-2', kinds: ['settle'] })).entries).toHaveLength(1);
    expect((await h.server.store.ledger({ session: 'sdk-msg-1' })).entries).toHaveLength(2);
  });

  it('an unreachable server throws BursarError server_unreachable; it never reads as ok or as room', async () => {
    // Proves the one failure that is not a result: no server means an exception, not an empty balance or a skipped guard.
    const port = await closedPort();
    const gone = Bursar.remote({ url: `http://127.0.0.1:${port}`, token: h.secret });
    let calls = 0;
    for (const attempt of [() => gone.remaining(), () => gone.canAfford(1), () => gone.estimate('Read'), () => gone.guard.run({ tool: 'Read' }, () => (calls += 1))]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BursarError);
      expect((error as BursarError).code).toBe('server_unreachable');
    }
    expect(calls).toBe(0);
    // Something answering that is not a Bursar gateway is a bad_response, not a refusal.
    const html: typeof fetch = async () => new Response('<html>502</html>', { status: 502 });
    await expect(Bursar.remote({ url: h.server.url, token: h.secret, fetch: html }).balance()).rejects.toMatchObject({ name: 'BursarError', code: 'bad_response' });
  });

  it('retries a reservation whose answer was lost with the same idempotency key, reserving once', async () => {
    // Proves retries are safe: the server reserved, the answer never arrived, the retry gets the same reservation back.
    const s = await subject('remote');
    const secret = await mintToken(h.server.store, { path: s.agent, limitMicros: 500_000 });
    let dropped = 0;
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (dropped === 0 && urlOf(input).endsWith('/v1/bursar/reservations')) {
        dropped += 1;
        throw new TypeError('fetch failed');
      }
      return res;
    };
    const bursar = Bursar.remote({ url: h.server.url, token: secret.secret, fetch: lossy });
    const r = must(await bursar.reserve({ tool: 'Bash' }));
    expect(dropped).toBe(1);
    const reserves = (await h.server.store.ledger({ budget: secret.envelope, kinds: ['reserve'] })).entries;
    expect(reserves.map((e) => `rsv_${e.reservationSeq}`)).toEqual([r.reservation.id]);
    expect(await levels([secret.envelope])).toEqual([{ path: secret.envelope, spent: 0, reserved: 10_000 }]);
    must(await bursar.void(r.reservation.id));
  });

  it('a settlement that cannot reach the server is reported on the result, and the value is kept', async () => {
    // Proves guard.run does not lose the tool's value when the server goes away after the call: settled false with the reason.
    const s = await subject('remote');
    const token = await mintToken(h.server.store, { path: s.agent, limitMicros: 500_000 });
    const noSettle: typeof fetch = async (input, init) => {
      if (urlOf(input).endsWith('/settle')) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    const bursar = Bursar.remote({ url: h.server.url, token: token.secret, fetch: noSettle });
    const run = must(await bursar.guard.run({ tool: 'Read' }, () => 'value'));
    expect([run.value, run.settled, run.costMicros]).toEqual(['value', false, 1_000]);
    expect(run.settleError).toContain('cannot reach');
    expect((await h.server.store.getReservation(run.reservationId))?.status).toBe('open');
    must(await Bursar.remote({ url: h.server.url, token: token.secret }).settle(run.reservationId, 1_000));
    expect(await levels([token.envelope])).toEqual([{ path: token.envelope, spent: 1_000, reserved: 0 }]);
  });
});

describe('Bursar.local only', () => {
  it('has no provider clients: openai() and anthropic() throw remote_only', async () => {
    // Proves LLM calls are metered only through the gateway: a local client refuses to hand out an unmetered one.
    const s = await subject('local');
    expect(s.bursar.mode).toBe('local');
    await expect(s.bursar.openai()).rejects.toMatchObject({ name: 'BursarError', code: 'remote_only' });
    await expect(s.bursar.anthropic()).rejects.toMatchObject({ name: 'BursarError', code: 'remote_only' });
  });

  it('opens a db file itself, spends on it, and closes it', async () => {
    // Proves Bursar.local({ db }): the ledger file is opened on first use, written, and released by close().
    const dir = mkdtempSync(join(tmpdir(), 'bursar-sdk-'));
    try {
      const path = join(dir, 'local.db');
      const setup = openSqliteStore({ path });
      must(await setup.createBudget({ path: 'solo', kind: 'org', limitMicros: 100_000 }));
      await setup.close();
      const bursar = Bursar.local({ db: path, budget: 'solo', actor: 'sdk-test' });
      expect(must(await bursar.guard.run({ tool: 'Read' }, () => 'x')).costMicros).toBe(1_000);
      expect(await bursar.remaining()).toBe(99_000);
      await bursar.close();
      const reopened = openSqliteStore({ path });
      expect((await reopened.getBudget('solo'))?.spentMicros).toBe(1_000);
      const settle = (await reopened.ledger({ kinds: ['settle'] })).entries;
      expect(settle.map((e) => [e.amountMicros, e.actor])).toEqual([[1_000, 'sdk-test']]);
      expect((await reopened.audit()).problems).toEqual([]);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
