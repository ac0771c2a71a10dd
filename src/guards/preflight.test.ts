import { describe, expect, it } from 'vitest';
import type { BudgetView, Policy } from '../core/index.js';
import { estimateCall } from '../gateway/estimate.js';
import { gatewayLimits } from '../gateway/index.js';
import { anthropicMessages } from '../gateway/providers/anthropic-messages.js';
import { openaiChat } from '../gateway/providers/openai-chat.js';
import { guardLimits } from './limits.js';
import { bundledCatalog, resolveModel } from '../pricing/index.js';
import { estimatePlanItem } from './estimate.js';
import type { Plan, PreflightReport } from '../contract/index.js';
import { parsePlan } from './plan.js';
import type { BurnState } from './burn-headroom.js';
import { looksLikeTestData, preflight, preflightOptions, type PlanTarget } from './preflight.js';
import { testView } from './test-views.js';

const catalog = bundledCatalog();
const nowMs = Date.UTC(2026, 0, 27, 3, 0, 0);
let nextId = 1;

function view(path: string, o: Partial<BudgetView> & { policy?: Policy } = {}): BudgetView {
  return testView(path, { ...o, id: nextId++, limitMicrosDefault: 50_000_000 });
}

/** org ($1,000) → team ($300) → agent ($50, 4 in flight), leaf first. */
function tree(agent: Partial<BudgetView> = {}): BudgetView[] {
  return [
    view('dennis/tech-talent/test-writer', { policy: { inflightMax: 4 }, ...agent }),
    view('dennis/tech-talent', { kind: 'team', limitMicros: 300_000_000 }),
    view('dennis', { kind: 'org', limitMicros: 1_000_000_000 }),
  ];
}

function plan(value: unknown): Plan {
  const parsed = parsePlan(value);
  if ('field' in parsed) throw new Error(parsed.message);
  return parsed;
}

function run(p: Plan, chain: readonly BudgetView[], options = preflightOptions(), targets?: PlanTarget[]): PreflightReport {
  const report = preflight({ plan: p, targets: targets ?? p.items.map(() => ({ path: chain[0]?.path ?? '', chain })), catalog, nowMs, options });
  if ('field' in report) throw new Error(report.message);
  return report;
}

function check(r: PreflightReport, name: string) {
  const found = r.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name}`);
  return found;
}

const agent = 'dennis/tech-talent/test-writer';
const small = { title: 'Summarise the Q3 filings', budget: agent, model: 'gpt-4o-mini', input_tokens: 1_000, max_output_tokens: 500, count: 4 };

describe('plan files', () => {
  it('names an unknown field of an item by its path', () => {
    expect(parsePlan({ items: [{ ...small, colour: 'red' }] })).toEqual({ field: 'items.0.colour', message: 'unknown field items.0.colour' });
  });

  it('names a negative count, a zero concurrency and a fractional token count', () => {
    expect(parsePlan({ items: [small, { ...small, count: -3 }] })).toMatchObject({ field: 'items.1.count', message: expect.stringContaining('whole number from 1') as unknown });
    expect(parsePlan({ concurrency: 0, items: [small] })).toMatchObject({ field: 'concurrency' });
    expect(parsePlan({ items: [{ ...small, input_tokens: 1.5 }] })).toMatchObject({ field: 'items.0.input_tokens' });
  });

  it('wants exactly one of budget and token, and of input_tokens and input', () => {
    expect(parsePlan({ items: [{ ...small, token: 'tok_abcdefgh12' }] })).toMatchObject({ field: 'items.0.budget' });
    const { budget: _b, ...noTarget } = small;
    expect(parsePlan({ items: [noTarget] })).toMatchObject({ field: 'items.0.budget' });
    expect(parsePlan({ items: [{ ...small, input: 'hello' }] })).toMatchObject({ field: 'items.0.input_tokens' });
    expect(parsePlan({ items: [{ ...small, token: 'bsr_secret', budget: undefined }] })).toMatchObject({ field: 'items.0.token' });
  });

  it('takes a bare list of items, refuses an empty one, and bounds the calls a plan adds up to', () => {
    expect(plan([small]).items).toHaveLength(1);
    expect(parsePlan([])).toMatchObject({ field: 'items' });
    expect(parsePlan({ items: [{ ...small, count: 600_000 }, { ...small, count: 600_000 }] })).toMatchObject({ field: 'items', message: expect.stringContaining('1200000 calls') as unknown });
    expect(parsePlan({ items: [small], confirmed: true })).toEqual({ field: 'confirmed', message: 'unknown field confirmed' });
  });
});

describe('estimates', () => {
  it('prices a call given as text exactly as the gateway reserves it (OpenAI and Anthropic)', () => {
    const text = 'Compare the three vendors on price, latency and support. '.repeat(40);
    for (const [model, adapter] of [['gpt-4o', openaiChat], ['claude-sonnet-4-5', anthropicMessages]] as const) {
      const body = { model, max_tokens: 2_000, messages: [{ role: 'user', content: text }] };
      const call = adapter.parse(body);
      const resolved = resolveModel(model, catalog);
      if ('code' in call || !resolved.ok) throw new Error('setup');
      const gateway = estimateCall(adapter, body, { model: resolved.model, entry: resolved.entry }, call, undefined);
      const ours = estimatePlanItem({ budget: 'a', model, input: text, max_output_tokens: 2_000 }, 0, catalog, []);
      expect(ours).toMatchObject({ inputTokens: (gateway as { inputTokens: number }).inputTokens, callMicros: (gateway as { amountMicros: number }).amountMicros });
    }
  });

  it('uses the gateway\'s own output-cap defaults', () => {
    expect([guardLimits.outputTokensDefault, guardLimits.outputTokensAbsoluteMax]).toEqual([gatewayLimits.maxOutputTokensDefault, gatewayLimits.maxOutputTokensAbsolute]);
  });

  it('takes the output cap from the chain\'s policy when the item sets none, and refuses one above the model\'s maximum', () => {
    const chain = [view('a', { policy: { maxOutputTokens: 1_000 } })];
    expect(estimatePlanItem({ budget: 'a', model: 'gpt-4o-mini', input_tokens: 0 }, 0, catalog, chain)).toMatchObject({ maxOutputTokens: 1_000, callMicros: 600 });
    expect(estimatePlanItem({ budget: 'a', model: 'gpt-4o-mini', input_tokens: 0 }, 0, catalog, [])).toMatchObject({ maxOutputTokens: 4_096 });
    expect(estimatePlanItem({ budget: 'a', model: 'gpt-4o-mini', input_tokens: 0, max_output_tokens: 20_000 }, 3, catalog, [])).toMatchObject({ field: 'items.3.max_output_tokens' });
  });

  it('refuses a plan whose total is beyond what any budget can hold, naming the item that crosses it', () => {
    // $1,000.025 a call (100 million input tokens at $10 per million, 500 output at $50), a million times.
    const huge = { ...small, model: 'claude-fable-5-1', input_tokens: 100_000_000, count: 500_000 };
    const r = preflight({ plan: plan([{ ...huge, count: 1 }, { ...huge, count: 499_999 }, huge]), targets: [0, 1, 2].map(() => ({ path: agent, chain: tree() })), catalog, nowMs, options: preflightOptions() });
    expect(r).toMatchObject({ field: 'items.2.count', message: expect.stringContaining('more than $1,000,000,000.00') as unknown });
  });

  it('refuses an unpriced model naming its field', () => {
    const r = preflight({ plan: plan([small, { ...small, model: 'gpt-4o-mimi' }]), targets: [0, 1].map(() => ({ path: agent, chain: tree() })), catalog, nowMs, options: preflightOptions() });
    expect(r).toMatchObject({ field: 'items.1.model', message: expect.stringContaining('"gpt-4o-mimi" has no price in the catalog, so its cost cannot be bounded; did you mean gpt-4o-mini?') as unknown });
  });
});

describe('pre-flight checks', () => {
  it('passes a small plan that fits, with per-item and total costs and every level of the chain', () => {
    const r = run(plan([small]), tree());
    expect(r.items[0]).toMatchObject({ call_micros: 450, total_micros: 1_800, count: 4, tightest: { budget: agent, remaining_micros: 50_000_000 } });
    expect(r.total_micros).toBe(1_800);
    expect(r.budgets.map((b) => [b.budget, b.planned_micros])).toEqual([['dennis', 1_800], ['dennis/tech-talent', 1_800], [agent, 1_800]]);
    expect(r.checks.map((c) => [c.name, c.status])).toEqual([
      ['queue_size', 'pass'],
      ['test_titles', 'pass'],
      ['budget_status', 'pass'],
      ['model_policy', 'pass'],
      ['budget_availability', 'pass'],
      ['inflight', 'pass'],
      ['burn_limits', 'pass'],
      ['confirmation', 'pass'],
    ]);
    expect(r).toMatchObject({ verdict: 'pass', proceed: true, confirmation_required: false });
  });

  it('fails a plan that does not fit the tightest budget, naming it and what it has left', () => {
    const r = run(plan([{ ...small, model: 'gpt-4o', input_tokens: 100_000, max_output_tokens: 16_000, count: 100 }]), tree({ spentMicros: 20_000_000 }));
    expect(check(r, 'budget_availability')).toMatchObject({ status: 'fail', budget: agent, message: expect.stringContaining('$30.00 left') as unknown });
    expect(r).toMatchObject({ verdict: 'fail', proceed: false });
  });

  it('warns when the plan takes most of what a budget has left, and when no budget has a limit', () => {
    const half = run(plan([{ ...small, input_tokens: 100_000, max_output_tokens: 0, count: 2_000 }]), tree(), preflightOptions({ queueCallsMax: 10_000, queueCallsWarn: 10_000 }));
    expect(check(half, 'budget_availability')).toMatchObject({ status: 'warn', budget: agent, message: expect.stringContaining('60%') as unknown });
    const open = run(plan([small]), [view('free', { limitMicros: null })]);
    expect(check(open, 'budget_availability')).toMatchObject({ status: 'warn', message: expect.stringContaining('no budget') as unknown });
  });

  it('fails a concurrency above an in-flight cap, counting what is already open', () => {
    const r = run(plan({ concurrency: 3, items: [small] }), tree({ inflight: 2 }));
    expect(check(r, 'inflight')).toMatchObject({ status: 'fail', budget: agent, message: expect.stringContaining('lower the concurrency to 2') as unknown });
    expect(check(run(plan({ concurrency: 4, items: [small] }), tree()), 'inflight').status).toBe('pass');
  });

  it('fails a model the chain does not allow and a call above a per-request cap', () => {
    const banned = run(plan([{ ...small, model: 'claude-opus-4-5' }]), tree({ policy: { models: ['gpt-*'] } }));
    expect(check(banned, 'model_policy')).toMatchObject({ status: 'fail', budget: agent, items: [0] });
    const capped = run(plan([small]), tree({ policy: { requestCapMicros: 100 } }));
    expect(check(capped, 'model_policy')).toMatchObject({ status: 'fail', message: expect.stringContaining('per-request cap') as unknown });
  });

  it('fails paused budgets and revoked or expired tokens', () => {
    const paused = run(plan([small]), tree({ status: 'paused' }));
    expect(check(paused, 'budget_status')).toMatchObject({ status: 'fail', budget: agent, items: [0] });
    const p = plan([{ ...small, budget: undefined, token: 'tok_revoked001' }, { ...small, budget: undefined, token: 'tok_expired001' }]);
    const targets: PlanTarget[] = [
      { path: `${agent}/tok_revoked001`, chain: tree(), token: { id: 'tok_revoked001', status: 'revoked', expiresMs: null } },
      { path: `${agent}/tok_expired001`, chain: tree(), token: { id: 'tok_expired001', status: 'active', expiresMs: nowMs - 1 } },
    ];
    const r = run(p, tree(), preflightOptions(), targets);
    expect(check(r, 'budget_status')).toMatchObject({ status: 'fail', items: [0, 1], message: expect.stringMatching(/tok_revoked001 is revoked.*tok_expired001 has expired/) as unknown });
    expect(r.items[0]).toMatchObject({ token: 'tok_revoked001', budget: `${agent}/tok_revoked001` });
  });

  it('fails calls that burn limits refuse from the start and warns when a plan must be paced', () => {
    const withBurn = (burnMicros: number, extra: Partial<BurnState> = {}) => {
      const chain = tree();
      Object.assign(chain[0] as BudgetView, { burn: [{ amountMicros: 2_000_000, windowMs: 60_000, burnMicros }], breaker: 'closed', trippedUntilMs: null, ...extra });
      return chain;
    };
    const opus = { ...small, model: 'claude-opus-4-5', input_tokens: 30_000, max_output_tokens: 8_000 };
    // 15 calls of $0.35 at once are $5.25, above $2.00 a minute.
    const burst = run(plan({ concurrency: 15, items: [{ ...opus, count: 15 }] }), withBurn(0));
    expect(check(burst, 'burn_limits')).toMatchObject({ status: 'fail', budget: agent, message: expect.stringContaining('lower the concurrency to 5') as unknown });
    const spentAlready = run(plan({ concurrency: 2, items: [{ ...opus, count: 2 }] }), withBurn(1_500_000));
    expect(check(spentAlready, 'burn_limits')).toMatchObject({ status: 'fail', message: expect.stringContaining('more than the $0.50 the burn limit') as unknown });
    const paced = run(plan({ concurrency: 2, items: [{ ...opus, count: 20 }] }), withBurn(0));
    expect(check(paced, 'burn_limits')).toMatchObject({ status: 'warn', message: expect.stringContaining('pace it over at least 4m') as unknown });
    const huge = run(plan([{ ...opus, input_tokens: 1_000_000 }]), withBurn(0));
    expect(check(huge, 'burn_limits')).toMatchObject({ status: 'fail', message: expect.stringContaining('every such call is refused') as unknown });
    const open = run(plan([small]), withBurn(0, { breaker: 'open', trippedUntilMs: nowMs + 30_000 }));
    expect(check(open, 'burn_limits')).toMatchObject({ status: 'fail', message: expect.stringContaining('is open for 30 s more') as unknown });
    const looped = run(plan([small]), withBurn(0, { breaker: 'open', trippedUntilMs: nowMs + 30_000, breakerCode: 'loop_detected' }));
    expect(check(looped, 'burn_limits')).toMatchObject({ status: 'fail', message: expect.stringContaining('refused with loop_detected') as unknown });
    expect(check(run(plan([small]), withBurn(0)), 'burn_limits')).toMatchObject({ status: 'pass', message: 'the plan fits every burn limit on its paths' });
  });

  it('warns about test-like titles and big queues, and fails a queue over its bound', () => {
    const r = run(plan({ title: 'nightly', items: [{ ...small, title: 'test task 17', count: 150 }, { ...small, title: 'Latest contest results' }] }), tree());
    expect(check(r, 'test_titles')).toMatchObject({ status: 'warn', items: [0] });
    expect(check(r, 'queue_size')).toMatchObject({ status: 'warn', message: expect.stringContaining('154 calls in 2 items') as unknown });
    expect(check(run(plan([{ ...small, count: 1_001 }]), tree()), 'queue_size').status).toBe('fail');
  });

  it('asks for confirmation above the threshold and proceeds once confirmed', () => {
    const big = plan([{ ...small, model: 'gpt-4o', input_tokens: 10_000, max_output_tokens: 4_000, count: 200 }]);
    const asked = run(big, tree(), preflightOptions({ queueCallsWarn: 1_000 }));
    expect(asked.total_micros).toBe(200 * (25_000 + 40_000));
    expect(check(asked, 'confirmation').status).toBe('warn');
    expect(asked).toMatchObject({ verdict: 'warn', confirmation_required: true, proceed: false });
    const confirmed = run(big, tree(), preflightOptions({ queueCallsWarn: 1_000, confirmed: true }));
    expect(confirmed).toMatchObject({ verdict: 'pass', proceed: true });
  });
});

describe('test-like titles', () => {
  it('matches whole words of test data and not words that contain them', () => {
    for (const t of ['Test task 17', 'sample-data run', 'PLACEHOLDER', 'dummy_agent', 'Lorem ipsum dolor', 'my test']) expect(looksLikeTestData(t), t).toBe(true);
    for (const t of ['Latest contest results', 'Attest the invoices', 'Summarise Q3 filings', 'protester interviews']) expect(looksLikeTestData(t), t).toBe(false);
  });
});
