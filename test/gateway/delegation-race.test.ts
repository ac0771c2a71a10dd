import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { countChatInputTokens, resolveModel, worstCaseMicros } from '../../src/pricing/index.js';
import { agentCall, mintToken, type ErrorJson } from './agent-harness.js';
import { type Harness, useHarness } from './harness.js';

/**
 * Delegation under a race: chains of spend tokens three deep (root → child → grandchild, each
 * minted through POST /v1/bursar/tokens), hundreds of concurrent reservations from every level,
 * and siblings whose max spends together exceed their parent's. Whatever the interleaving, no
 * level of the chain ever holds more than its limit, and exactly what fits is admitted.
 */

let h: Harness;

useHarness((started) => (h = started));

interface Delegated {
  id: string;
  token: string;
  budget: string;
}

interface Reserved {
  reservation: { id: string; budget: string; amount_micros: number };
}

const AGENT_CHAIN = ['acme/research/bot', 'acme/research', 'acme'];

/** Mints a child of `parent` through the agent route, as a sub-agent's parent would. */
async function delegate(parent: string, body: Record<string, unknown>): Promise<Delegated> {
  const answer = await agentCall<Delegated>(h.server.url, 'POST', '/v1/bursar/tokens', { token: parent, body });
  if (answer.status !== 201) throw new Error(`delegation refused: ${answer.status} ${JSON.stringify(answer.json)}`);
  return answer.json;
}

function reserve(secret: string, estimateMicros: number) {
  return agentCall<Reserved & ErrorJson>(h.server.url, 'POST', '/v1/bursar/reservations', { token: secret, body: { tool: 'Agent', estimate_micros: estimateMicros } });
}

/** Limit, spent and reserved of each budget. */
async function snapshot(paths: string[]) {
  const budgets = await Promise.all(paths.map((p) => h.server.store.getBudget(p)));
  return budgets.map((b, i) => ({ path: paths[i] ?? '', limit: b?.limitMicros ?? null, spent: b?.spentMicros ?? -1, reserved: b?.reservedMicros ?? -1 }));
}

/** Every limited level holds at most its limit: the invariant the race must not break. */
function withinLimits(levels: Awaited<ReturnType<typeof snapshot>>): string[] {
  return levels.filter((l) => l.limit !== null && l.spent + l.reserved > l.limit).map((l) => `${l.path}: ${l.spent} + ${l.reserved} > ${String(l.limit)}`);
}

/** A seeded generator, so a shuffled race is the same race on every run. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The budget paths of a token's chain of envelopes, leaf first, down to (not including) the agent. */
function envelopes(leaf: string): string[] {
  const out: string[] = [];
  for (let path = leaf; path.split('/').length > AGENT_CHAIN.length; path = path.slice(0, path.lastIndexOf('/'))) out.push(path);
  return out;
}

describe('delegation chains under a race', () => {
  it('450 concurrent reservations from root, child and grandchild: exactly the 100 the root holds are admitted', async () => {
    // Proves the chain is checked atomically: each level admits no more than its limit, the root fills exactly, every refusal names a full budget of the caller's own chain.
    const unit = 10_000;
    const root = await mintToken(h.server.store, { limitMicros: 100 * unit, scopes: ['delegate'] });
    const child = await delegate(root.secret, { max_spend_micros: 60 * unit, delegate: true });
    const grand = await delegate(child.token, { max_spend_micros: 30 * unit });
    expect([child.budget, grand.budget]).toEqual([`${root.envelope}/${child.id}`, `${root.envelope}/${child.id}/${grand.id}`]);
    const agentBefore = await snapshot(AGENT_CHAIN);

    const callers = [
      { name: 'root', secret: root.secret, leaf: root.envelope },
      { name: 'child', secret: child.token, leaf: child.budget },
      { name: 'grand', secret: grand.token, leaf: grand.budget },
    ];
    // Shuffled so that every level is in flight at once, in no fixed order.
    const random = seeded(42);
    const plan = shuffle(Array.from({ length: 150 }, () => callers).flat(), random);
    const answers = await Promise.all(plan.map((c) => reserve(c.secret, unit).then((a) => ({ caller: c, answer: a }))));

    const admitted = answers.filter((x) => x.answer.status === 201);
    const refused = answers.filter((x) => x.answer.status !== 201);
    const by = (name: string) => admitted.filter((x) => x.caller.name === name).length;
    expect(admitted).toHaveLength(100);
    expect(refused).toHaveLength(350);
    expect(by('grand')).toBeLessThanOrEqual(30);
    expect(by('child') + by('grand')).toBeLessThanOrEqual(60);
    for (const { caller, answer } of admitted) expect([answer.json.reservation.budget, answer.json.reservation.amount_micros]).toEqual([caller.leaf, unit]);
    const wrong = refused.filter(({ caller, answer }) => answer.status !== 402 || answer.json.error.code !== 'budget_exceeded' || !envelopes(caller.leaf).includes(answer.json.error.budget ?? '') || answer.json.error.remaining_micros !== 0);
    expect(wrong.map((x) => [x.caller.name, x.answer.status, x.answer.json.error])).toEqual([]);

    const levels = await snapshot([grand.budget, child.budget, root.envelope, ...AGENT_CHAIN]);
    expect(withinLimits(levels)).toEqual([]);
    expect(levels.map((l) => l.reserved)).toEqual([by('grand') * unit, (by('child') + by('grand')) * unit, 100 * unit, ...agentBefore.map((l) => l.reserved + 100 * unit)]);
    expect((await h.server.store.ledger({ budget: root.envelope, kinds: ['reserve'], limit: 1_000 })).entries).toHaveLength(100);

    // Resolve them concurrently: the grandchild's settled below the estimate, the child's voided, the root's raced by a settle and a void each.
    const ids = (name: string) => admitted.filter((x) => x.caller.name === name).map((x) => x.answer.json.reservation.id);
    const call = (secret: string, path: string, body?: unknown) => agentCall<ErrorJson>(h.server.url, 'POST', path, { token: secret, body });
    const [settledGrand, voidedChild, raced] = await Promise.all([
      Promise.all(ids('grand').map((id) => call(grand.token, `/v1/bursar/reservations/${id}/settle`, { actual_micros: 4_000 }))),
      Promise.all(ids('child').map((id) => call(child.token, `/v1/bursar/reservations/${id}/void`))),
      Promise.all(
        ids('root').map(async (id) => {
          const settle = () => call(root.secret, `/v1/bursar/reservations/${id}/settle`, { actual_micros: unit });
          const voiding = () => call(root.secret, `/v1/bursar/reservations/${id}/void`, { reason: 'race' });
          if (random() < 0.5) return Promise.all([settle(), voiding()]);
          const [v, st] = await Promise.all([voiding(), settle()]);
          return [st, v] as const;
        }),
      ),
    ]);
    expect([...settledGrand, ...voidedChild].map((a) => a.status)).toEqual(new Array<number>(by('grand') + by('child')).fill(200));
    // Exactly one of each settle/void pair wins; the loser is told the reservation is already resolved.
    const winners = raced.map(([settle, voided]) => {
      expect([settle.status, voided.status].sort()).toEqual([200, 409]);
      const loser = settle.status === 200 ? voided : settle;
      expect(loser.json.error.code).toBe(settle.status === 200 ? 'already_settled' : 'already_voided');
      return settle.status === 200 ? 'settled' : 'voided';
    });
    const rootSettled = winners.filter((w) => w === 'settled').length;
    const spent = 4_000 * by('grand') + unit * rootSettled;
    const after = await snapshot([grand.budget, child.budget, root.envelope, ...AGENT_CHAIN]);
    expect(after.map((l) => [l.spent, l.reserved])).toEqual([
      [4_000 * by('grand'), 0],
      [4_000 * by('grand'), 0],
      [spent, 0],
      ...agentBefore.map((l) => [l.spent + spent, l.reserved]),
    ]);
    const report = await h.server.store.audit();
    expect([report.problems, report.openReservations]).toEqual([[], 0]);
  });

  it('sibling children whose max spends together exceed the parent race for it: spend never does', async () => {
    // Proves oversubscribed delegation is safe: eight children may each be promised 40% of the parent, yet together they reserve exactly the parent's limit.
    const unit = 10_000;
    const parent = await mintToken(h.server.store, { limitMicros: 50 * unit, scopes: ['delegate'] });
    const minted = await Promise.all(Array.from({ length: 8 }, () => agentCall<Delegated & ErrorJson>(h.server.url, 'POST', '/v1/bursar/tokens', { token: parent.secret, body: { max_spend_micros: 20 * unit } })));
    expect(minted.map((m) => m.status)).toEqual(new Array<number>(8).fill(201));
    const children = minted.map((m) => m.json);
    expect(new Set(children.map((c) => c.budget)).size).toBe(8);
    // Minted without the delegate scope, a child cannot mint grandchildren to get round its own limit.
    const grands = await Promise.all(children.slice(0, 4).map((c) => agentCall<Delegated & ErrorJson>(h.server.url, 'POST', '/v1/bursar/tokens', { token: c.token, body: { max_spend_micros: 1 } })));
    expect(grands.map((g) => [g.status, g.json.error?.code])).toEqual(new Array(4).fill([403, 'forbidden']));

    const plan = shuffle(Array.from({ length: 30 }, () => children).flat(), seeded(7));
    const answers = await Promise.all(plan.map((c) => reserve(c.token, unit).then((a) => ({ child: c, answer: a }))));
    const admitted = answers.filter((x) => x.answer.status === 201);
    const refused = answers.filter((x) => x.answer.status !== 201);
    expect(admitted).toHaveLength(50);
    expect(refused).toHaveLength(190);
    const per = children.map((c) => admitted.filter((x) => x.child.id === c.id).length);
    expect(per.every((n) => n <= 20)).toBe(true);
    const wrong = refused.filter(({ child, answer }) => answer.status !== 402 || answer.json.error.code !== 'budget_exceeded' || ![child.budget, parent.envelope].includes(answer.json.error.budget ?? '') || answer.json.error.remaining_micros !== 0);
    expect(wrong).toEqual([]);

    const levels = await snapshot([...children.map((c) => c.budget), parent.envelope]);
    expect(withinLimits(levels)).toEqual([]);
    expect(levels.map((l) => l.reserved)).toEqual([...per.map((n) => n * unit), 50 * unit]);
    // Settling frees room for exactly what was released, and no more.
    const first = admitted.slice(0, 5);
    const settled = await Promise.all(first.map((x) => agentCall(h.server.url, 'POST', `/v1/bursar/reservations/${x.answer.json.reservation.id}/settle`, { token: parent.secret, body: { actual_micros: 6_000 } })));
    expect(settled.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
    const retry = await Promise.all(children.map((c) => reserve(c.token, 4_000)));
    const again = retry.filter((r) => r.status === 201).length;
    // 5 x (10_000 - 6_000) = 20_000 freed on the parent: five 4_000 reservations fit, on children that have 4_000 left themselves.
    const roomy = children.filter((c, i) => 20 * unit - (per[i] ?? 0) * unit + 4_000 * first.filter((x) => x.child.id === c.id).length >= 4_000).length;
    expect(again).toBe(Math.min(5, roomy));
    const final = await snapshot([...children.map((c) => c.budget), parent.envelope]);
    expect(withinLimits(final)).toEqual([]);
    expect(final.at(-1)).toMatchObject({ spent: 30_000, reserved: 450_000 + again * 4_000 });
    expect((await h.server.store.audit()).problems).toEqual([]);
  });

  it('chat calls through the OpenAI SDK on a grandchild race tool reservations of its parent: the grandchild admits exactly what its envelope holds', async () => {
    // Proves LLM spend by a delegated token races tool spend up the chain correctly: exactly 7 chats, every tool call, and the child envelope charged both.
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'race down the chain' }], max_tokens: 40 };
    const resolved = resolveModel('gpt-4o-mini');
    if (!resolved.ok) throw new Error('unpriced');
    const amount = worstCaseMicros(resolved.entry, { inputTokens: countChatInputTokens('chat', body, 'gpt-4o-mini').tokens, maxOutputTokens: 40 });
    const root = await mintToken(h.server.store, { limitMicros: 2_000_000, scopes: ['delegate'] });
    const child = await delegate(root.secret, { max_spend_micros: 7 * amount + 40 * 1_000, delegate: true });
    const grand = await delegate(child.token, { max_spend_micros: 7 * amount });
    const openai = new OpenAI({ baseURL: `${h.server.url}/v1`, apiKey: grand.token, maxRetries: 0 });
    // The mock reports exactly the reserved usage, so a settlement never frees room for another chat.
    const chats = Array.from({ length: 40 }, () => openai.chat.completions.create(body, { headers: { 'x-mock-output-tokens': 'max', 'x-mock-latency-ms': '10' } }));
    const tools = Array.from({ length: 40 }, () => reserve(child.token, 1_000));
    const [chatResults, toolAnswers] = await Promise.all([Promise.allSettled(chats), Promise.all(tools)]);
    const ok = chatResults.filter((r) => r.status === 'fulfilled');
    const refused = chatResults.filter((r) => r.status === 'rejected').map((r) => r.reason as InstanceType<typeof OpenAI.APIError>);
    expect(ok).toHaveLength(7);
    expect(refused.map((e) => [e.status, e.code])).toEqual(new Array(33).fill([402, 'budget_exceeded']));
    expect(toolAnswers.map((a) => a.status)).toEqual(new Array<number>(40).fill(201));
    const levels = await snapshot([grand.budget, child.budget, root.envelope]);
    expect(withinLimits(levels)).toEqual([]);
    expect(levels.map((l) => [l.spent, l.reserved])).toEqual([
      [7 * amount, 0],
      [7 * amount, 40_000],
      [7 * amount, 40_000],
    ]);
  });
});
