import fc from 'fast-check';
import { expect } from 'vitest';
import type { BudgetView, CommandResult, LedgerEntry, Policy } from '../../core/index.js';
import type { Store } from '../store.js';
import { SimClock } from './sim-clock.js';
import { allPages } from './helpers.js';

/**
 * A deliberately plain reference model of budgets and reservations, written without the core's
 * code, and a fast-check property that drives a real store and the model side by side.
 */

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
type ModelPeriod = 'none' | 'hour' | 'day';
/** What the product promises, restated: agents get 2 USD per minute, thresholds default to 50/75/90/100. */
const agentBurnDefault = { amountMicros: 2_000_000, windowMs: 60_000 };
const thresholdsDefault = [50, 75, 90, 100];
const cooldownFirstMs = 60_000;
const cooldownMaxMs = 30 * 60_000;
/** A burn window is counted in 60 slices. */
const slicesPerWindow = 60;
/** Agents get a loop limit of 20 repeats in 10 minutes; a budget keeps 32 fingerprints, the least recently seen dropped first. */
const agentLoopDefault = { repeats: 20, windowMs: 10 * 60_000 };
const fingerprintsKept = 32;

interface MBudget {
  path: string;
  name: string;
  parent: MBudget | null;
  kind: 'org' | 'team' | 'agent' | 'envelope' | 'model' | 'tag';
  limit: number | null;
  period: ModelPeriod;
  periodStart: number;
  status: 'active' | 'paused' | 'closed';
  spent: number;
  reserved: number;
  granted: number;
  overrun: number;
  inflight: number;
  policy: Policy;
  /** Set when a limit change left the budget above its limit this period. */
  lowered: boolean;
  /** Per burn window: micros committed per slice of the window. */
  burn: Map<number, Map<number, number>>;
  trippedUntil: number | null;
  trips: number;
  /** The reservation a half-open breaker let through. */
  probe: string | null;
  /** What tripped the breaker. */
  cause: 'burn_limit' | 'loop_detected' | null;
  /** Per fingerprint, least recently seen first: reservations since its window opened, and when it opened. */
  loops: Map<string, { count: number; first: number }>;
}

interface MReservation {
  id: string;
  budget: MBudget;
  /** The model and tag budgets it reached besides its chain. */
  extras: MBudget[];
  amount: number;
  expires: number;
  status: 'open' | 'settled' | 'voided' | 'expired' | 'charged' | 'late_settled';
  /** Whether expiry charges the hold (else releases it). */
  charge: boolean;
  /** What a charged expiry charged. */
  charged: number;
  created: number;
}

function windowStart(period: ModelPeriod, t: number, origin: number): number {
  if (period === 'hour') return t - (t % hourMs);
  if (period === 'day') return t - (t % dayMs);
  return origin;
}

function windowEnd(period: ModelPeriod, start: number): number {
  if (period === 'hour') return start + hourMs;
  if (period === 'day') return start + dayMs;
  return Infinity;
}

class Model {
  /** Every budget, in creation order (ops pick budgets by index into this). */
  readonly all: MBudget[] = [];
  readonly reservations: MReservation[] = [];
  /** Results of keyed operations, by key. */
  readonly keyed = new Map<string, { print: string; result: CommandResult }>();
  tokens = 0;

  add(path: string, limit: number | null, period: ModelPeriod, policy: Policy, now: number, kind: MBudget['kind']): MBudget {
    const at = path.lastIndexOf('/');
    const parent = at < 0 ? null : (this.get(path.slice(0, at)) ?? null);
    const burn = new Map((policy.burnLimits ?? []).map((l) => [l.windowMs, new Map<number, number>()]));
    const b: MBudget = { path, name: path.slice(at + 1), parent, kind, limit, period, periodStart: windowStart(period, now, now), status: 'active', spent: 0, reserved: 0, granted: 0, overrun: 0, inflight: 0, policy, lowered: false, burn, trippedUntil: null, trips: 0, probe: null, cause: null, loops: new Map() };
    this.all.push(b);
    return b;
  }

  get(path: string): MBudget | undefined {
    return this.all.find((b) => b.path === path);
  }

  chain(b: MBudget | undefined): MBudget[] {
    const out: MBudget[] = [];
    for (let x = b; x; x = x.parent ?? undefined) out.push(x);
    return out;
  }

  /** The model budgets (`model:<glob>`) under a budget of `b`'s chain whose glob matches, then each tag's budget. */
  reach(b: MBudget, modelName: string, tags: readonly string[]): MBudget[] {
    const matches = (glob: string) => (glob.endsWith('*') ? modelName.startsWith(glob.slice(0, -1)) : glob === modelName);
    const extras: MBudget[] = [];
    for (const level of this.chain(b)) for (const m of this.all) if (m.kind === 'model' && m.parent === level && matches(m.name.slice('model:'.length))) extras.push(m);
    for (const tag of tags) extras.push(...this.all.filter((x) => x.kind === 'tag' && x.path === `tags/${tag}`));
    return extras;
  }

  /** What a reservation holds on: its budget's chain as it is now, then each extra budget's chain, every budget once. */
  held(b: MBudget, extras: readonly MBudget[]): MBudget[] {
    const out = this.chain(b);
    for (const x of extras) if (!out.includes(x)) for (const y of this.chain(x)) if (!out.includes(y)) out.push(y);
    return out;
  }

  /** Moves a budget and its subtree under `to`; the paths follow, balances stay where they are. */
  move(b: MBudget, to: MBudget): void {
    const from = b.path;
    b.parent = to;
    const path = `${to.path}/${b.name}`;
    for (const x of this.all) if (x.path === from || x.path.startsWith(`${from}/`)) x.path = path + x.path.slice(from.length);
  }

  /** Rolls ended periods and expires due reservations, as of `now`. */
  settleTime(now: number): void {
    for (const b of this.all) {
      if (now >= windowEnd(b.period, b.periodStart)) {
        Object.assign(b, { spent: 0, granted: 0, overrun: 0, periodStart: windowStart(b.period, now, b.periodStart) });
        // Reservations carried over from a period whose top-up has ended can exceed the new
        // period's limit, like a lowered limit: nothing new is admitted until they resolve.
        b.lowered = b.limit !== null && b.reserved > b.limit;
      }
    }
    for (const r of this.reservations) {
      if (r.status === 'open' && r.expires <= now) {
        r.status = r.charge ? 'charged' : 'expired';
        r.charged = r.charge ? r.amount : 0;
        for (const b of this.held(r.budget, r.extras)) {
          b.reserved -= r.amount;
          b.inflight -= 1;
          if (r.charge) b.spent += r.amount;
        }
        if (!r.charge) this.burnBy(r, now, -r.amount);
        this.probeDone(r, now, false);
      }
    }
  }

  // Burn limits, counted plainly: micros per slice, a slice being a sixtieth of the window.

  sliceOf(windowMs: number, t: number): number {
    return Math.floor(t / Math.ceil(windowMs / slicesPerWindow));
  }

  burnSum(b: MBudget, windowMs: number, now: number): number {
    const oldest = this.sliceOf(windowMs, now) - slicesPerWindow + 1;
    let sum = 0;
    for (const [slice, micros] of b.burn.get(windowMs) ?? []) if (slice >= oldest) sum += micros;
    return sum;
  }

  /** More money lands now; less is taken from the slice the hold was made in, while that slice is in the window. */
  burnBy(r: MReservation, now: number, delta: number): void {
    if (delta === 0) return;
    for (const b of this.held(r.budget, r.extras)) {
      for (const [windowMs, slices] of b.burn) {
        if (delta > 0) {
          const slice = this.sliceOf(windowMs, now);
          slices.set(slice, (slices.get(slice) ?? 0) + delta);
          continue;
        }
        const slice = this.sliceOf(windowMs, r.created);
        const held = slices.get(slice);
        if (held !== undefined && slice > this.sliceOf(windowMs, now) - slicesPerWindow) slices.set(slice, Math.max(0, held + delta));
      }
    }
  }

  /** Why a budget's breaker refuses `amount` now, if it does. */
  burnVerdict(b: MBudget, amount: number, now: number): 'open' | 'probing' | 'oversize' | 'breach' | undefined {
    if (b.trippedUntil !== null && now < b.trippedUntil) return 'open';
    if (b.trippedUntil !== null && b.probe !== null) return 'probing';
    const limits = b.policy.burnLimits ?? [];
    if (limits.some((l) => amount > l.amountMicros)) return 'oversize';
    return limits.some((l) => this.burnSum(b, l.windowMs, now) + amount > l.amountMicros) ? 'breach' : undefined;
  }

  trip(b: MBudget, now: number, cause: MBudget['cause'] = 'burn_limit'): void {
    b.trips += 1;
    let cooldown = cooldownFirstMs;
    for (let i = 1; i < b.trips; i += 1) cooldown = Math.min(cooldownMaxMs, cooldown * 2);
    b.trippedUntil = now + cooldown;
    b.probe = null;
    b.cause = cause;
  }

  closeBreaker(b: MBudget): void {
    b.trippedUntil = null;
    b.trips = 0;
    b.probe = null;
    b.cause = null;
  }

  // Loop detection, counted plainly: per fingerprint a count since its window opened.

  loopLimit(b: MBudget): { repeats: number; windowMs: number } | undefined {
    const l = b.policy.loopLimit;
    return l === undefined || l === 'off' ? undefined : l;
  }

  /** Whether one more reservation with `fp` would repeat a request past the budget's loop limit (its breaker closed, or half-open and free). */
  loops(b: MBudget, fp: string | undefined, now: number): boolean {
    const limit = this.loopLimit(b);
    if (fp === undefined || !limit || (b.trippedUntil !== null && (now < b.trippedUntil || b.probe !== null))) return false;
    const seen = b.loops.get(fp);
    return seen !== undefined && now < seen.first + limit.windowMs && seen.count >= limit.repeats;
  }

  /** Counts an admitted reservation with `fp` on every budget it holds with a loop limit. */
  countLoop(held: readonly MBudget[], fp: string | undefined, now: number): void {
    if (fp === undefined) return;
    for (const b of held) {
      const limit = this.loopLimit(b);
      if (!limit) continue;
      const seen = b.loops.get(fp);
      b.loops.delete(fp);
      if (seen && now < seen.first + limit.windowMs) {
        b.loops.set(fp, { count: seen.count + 1, first: seen.first });
        continue;
      }
      if (!seen && b.loops.size >= fingerprintsKept) {
        for (const [k, v] of b.loops) if (now >= v.first + limit.windowMs) b.loops.delete(k);
        for (const k of b.loops.keys()) if (b.loops.size >= fingerprintsKept) b.loops.delete(k);
      }
      b.loops.set(fp, { count: 1, first: now });
    }
  }

  /** A probe settled within every burn limit closes its breaker; beyond one, it trips again. Unsettled, it proves nothing. */
  probeDone(r: MReservation, now: number, settled: boolean): void {
    for (const b of this.held(r.budget, r.extras)) {
      if (b.probe !== r.id) continue;
      b.probe = null;
      if (!settled) continue;
      const over = (b.policy.burnLimits ?? []).some((l) => this.burnSum(b, l.windowMs, now) > l.amountMicros);
      if (over) this.trip(b, now);
      else this.closeBreaker(b);
    }
  }

  /** The thresholds that apply to a budget: its own, else its nearest ancestor's, else the default. */
  thresholds(b: MBudget): number[] {
    for (const x of this.chain(b)) if (x.policy.alertThresholdsPct) return x.policy.alertThresholdsPct;
    return thresholdsDefault;
  }

  /** Whether expiry charges a reservation: as asked, else `charge` unless the chain says only `release`. */
  chargesOnExpiry(budget: MBudget, asked: 'charge' | 'release' | undefined): boolean {
    if (asked !== undefined) return asked === 'charge';
    const rules = this.chain(budget).map((b) => b.policy.onExpiry);
    return rules.includes('charge') || !rules.includes('release');
  }

  /** Gives back up to `wanted` of a charged expiry, never taking a budget's spend below zero. */
  refund(r: MReservation, wanted: number, now: number): void {
    const chain = this.held(r.budget, r.extras);
    const amount = Math.min(wanted, ...chain.map((b) => b.spent));
    for (const b of chain) b.spent -= amount;
    this.burnBy(r, now, -amount);
  }

  remaining(b: MBudget): number | null {
    return b.limit === null ? null : b.limit + b.granted - b.spent - b.reserved;
  }

  /** The code (and budget) a reservation holding on `chain` (`reach`'s order) gets, or undefined when admitted. */
  refusal(chain: readonly MBudget[], amount: number, model: string | undefined, now: number, fp?: string): { code: string; budget?: string } | undefined {
    const rootFirst = [...chain].reverse();
    const closed = rootFirst.find((b) => b.status === 'closed');
    if (closed) return { code: 'budget_closed', budget: closed.path };
    const paused = rootFirst.find((b) => b.status === 'paused');
    if (paused) return { code: 'budget_paused', budget: paused.path };
    const burning = rootFirst.find((b) => this.burnVerdict(b, amount, now) !== undefined);
    if (burning) {
      const held = this.burnVerdict(burning, amount, now) === 'open' || this.burnVerdict(burning, amount, now) === 'probing';
      return { code: held && burning.cause === 'loop_detected' ? 'loop_detected' : 'burn_limit', budget: burning.path };
    }
    const looping = rootFirst.find((b) => this.loops(b, fp, now));
    if (looping) return { code: 'loop_detected', budget: looping.path };
    if (model !== undefined) {
      const no = rootFirst.find((b) => b.policy.models && !b.policy.models.some((m) => (m.endsWith('*') ? model.startsWith(m.slice(0, -1)) : m === model)));
      if (no) return { code: 'model_not_allowed', budget: no.path };
    }
    let cap: MBudget | undefined;
    for (const b of rootFirst) if (b.policy.requestCapMicros !== undefined && amount > b.policy.requestCapMicros && (!cap || b.policy.requestCapMicros < (cap.policy.requestCapMicros ?? 0))) cap = b;
    if (cap) return { code: 'request_cost_cap', budget: cap.path };
    const busy = rootFirst.find((b) => b.policy.inflightMax !== undefined && b.inflight + 1 > b.policy.inflightMax);
    if (busy) return { code: 'too_many_inflight', budget: busy.path };
    let tight: MBudget | undefined;
    for (const b of chain) {
      const left = this.remaining(b);
      if (left !== null && amount > left && (!tight || left < (this.remaining(tight) ?? 0))) tight = b;
    }
    return tight ? { code: 'budget_exceeded', budget: tight.path } : undefined;
  }
}

interface Spec {
  budgets: { path: string; limit: number | null; period: ModelPeriod; policy: Policy; kind: 'org' | 'team' | 'agent' | 'model' | 'tag' }[];
  ops: Op[];
}

type Op =
  | { t: 'reserve'; b: number; amount: number; ttl: number; model: number; key: number | null; rule: number; tag?: boolean; fp: number }
  | { t: 'settle'; r: number; factor: number; key: number | null }
  | { t: 'void'; r: number }
  | { t: 'tick'; ms: number }
  | { t: 'boundary' }
  | { t: 'limit'; b: number; limit: number | null }
  | { t: 'pause'; b: number; on: boolean }
  | { t: 'grant'; b: number; amount: number }
  | { t: 'retry'; op: number }
  | { t: 'move'; b: number; to: number }
  | { t: 'mint'; b: number; limit: number | null }
  | { t: 'revoke'; b: number }
  | { t: 'reset'; b: number }
  | { t: 'burst'; b: number; amount: number; n: number };

const models = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5'];
/** Request fingerprints: a few, so that they repeat, and none (a reservation without one). */
const fingerprints = ['fpAlpha', 'fpBravo', 'fpCharlie', undefined];
/** A team's loop limit, when it has one; agents narrow it (fewer repeats, a longer window). */
const teamLoop = { repeats: 5, windowMs: 60_000 };
const expiryAsks = [undefined, 'charge', 'release'] as const;

function specArbitrary(): fc.Arbitrary<Spec> {
  const limit = fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: null, freq: 3 });
  const period = fc.constantFrom<ModelPeriod>('none', 'hour', 'day');
  const agentBurn = fc.option(fc.integer({ min: 500, max: 4_000 }), { nil: undefined, freq: 2 });
  // An agent's loop limit: the default (undefined), off, or a few repeats in two minutes.
  const agentLoop = fc.option(fc.oneof(fc.constant('off' as const), fc.integer({ min: 1, max: 4 })), { nil: undefined, freq: 2 });
  const teams = fc.array(fc.array(fc.record({ limit, period, cap: fc.option(fc.integer({ min: 500, max: 8_000 }), { nil: undefined }), inflight: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }), gptOnly: fc.boolean(), release: fc.boolean(), burn: agentBurn, alerts: fc.boolean(), loop: agentLoop }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 });
  // Teams may cap a ten-minute window (agents cap minutes), set their own alert thresholds, and detect loops across their agents.
  // A team may sub-limit some models (a model budget), and calls may carry a tag with a budget.
  const modelBudget = fc.option(fc.record({ glob: fc.constantFrom('gpt-*', 'gpt-4o', 'claude-*'), limit: fc.integer({ min: 0, max: 12_000 }), period }), { nil: undefined, freq: 2 });
  const teamGuards = fc.record({ burn: fc.option(fc.integer({ min: 3_000, max: 20_000 }), { nil: undefined, freq: 2 }), alerts: fc.constantFrom<number[] | undefined>(undefined, [5, 95], [20, 40, 60, 80, 100, 120]), loop: fc.boolean(), modelBudget });
  const orgAlerts = fc.constantFrom<number[] | undefined>(undefined, [10, 60], [25, 50, 75, 100, 150]);
  const tagBudget = fc.option(fc.record({ limit: fc.integer({ min: 500, max: 15_000 }), period }), { nil: undefined, freq: 2 });
  const tree = fc.record({ orgLimit: limit, orgPeriod: period, orgAlerts, teamLimits: fc.array(fc.tuple(limit, period, teamGuards), { minLength: 3, maxLength: 3 }), teams, tagBudget });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('reserve' as const), b: fc.nat(), amount: fc.integer({ min: 1, max: 6_000 }), ttl: fc.constantFrom(1_000, 60_000, 30 * 60_000), model: fc.nat(), key: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null, freq: 2 }), rule: fc.nat(), tag: fc.boolean(), fp: fc.nat() }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('settle' as const), r: fc.nat(), factor: fc.constantFrom(0, 50, 100, 150, 300), key: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null, freq: 2 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('void' as const), r: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 40 * 60_000 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 5_000 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 30_000, max: 3 * 60_000 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('reset' as const), b: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('burst' as const), b: fc.nat(), amount: fc.integer({ min: 100, max: 1_500 }), n: fc.integer({ min: 3, max: 10 }) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'boundary' as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('limit' as const), b: fc.nat(), limit: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: null, freq: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('pause' as const), b: fc.nat(), on: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('grant' as const), b: fc.nat(), amount: fc.integer({ min: 1, max: 5_000 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('retry' as const), op: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('move' as const), b: fc.nat(), to: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('mint' as const), b: fc.nat(), limit: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('revoke' as const), b: fc.nat() }) },
  );
  return fc.record({ tree, ops: fc.array(op, { minLength: 10, maxLength: 60 }) }).map(({ tree: t, ops }) => {
    const budgets: Spec['budgets'] = [{ path: 'org', limit: t.orgLimit, period: t.orgPeriod, policy: t.orgAlerts ? { alertThresholdsPct: t.orgAlerts } : {}, kind: 'org' }];
    t.teams.forEach((agents, i) => {
      const [teamLimit, teamPeriod, guards] = t.teamLimits[i] ?? [null, 'none', { burn: undefined, alerts: undefined, loop: false, modelBudget: undefined }];
      const teamPolicy: Policy = {};
      if (guards.burn !== undefined) teamPolicy.burnLimits = [{ amountMicros: guards.burn, windowMs: 10 * 60_000 }];
      if (guards.alerts) teamPolicy.alertThresholdsPct = guards.alerts;
      if (guards.loop) teamPolicy.loopLimit = teamLoop;
      budgets.push({ path: `org/t${i}`, limit: teamLimit, period: teamPeriod, policy: teamPolicy, kind: 'team' });
      agents.forEach((a, j) => {
        const policy: Policy = {};
        if (a.cap !== undefined) policy.requestCapMicros = a.cap;
        if (a.inflight !== undefined) policy.inflightMax = a.inflight;
        if (a.gptOnly) policy.models = ['gpt-*'];
        if (a.release) policy.onExpiry = 'release';
        if (a.burn !== undefined) policy.burnLimits = [{ amountMicros: a.burn, windowMs: 60_000 }];
        if (a.alerts) policy.alertThresholdsPct = [30];
        if (a.loop !== undefined) policy.loopLimit = a.loop === 'off' ? 'off' : { repeats: a.loop, windowMs: 2 * 60_000 };
        budgets.push({ path: `org/t${i}/a${j}`, limit: a.limit, period: a.period, policy, kind: 'agent' });
      });
      const m = guards.modelBudget;
      if (m) budgets.push({ path: `org/t${i}/model:${m.glob}`, limit: m.limit, period: m.period, policy: {}, kind: 'model' });
    });
    if (t.tagBudget) budgets.push({ path: 'tags/x', limit: t.tagBudget.limit, period: t.tagBudget.period, policy: {}, kind: 'tag' });
    return { budgets, ops };
  });
}

function describeResult(result: CommandResult): string {
  return result.ok ? 'ok' : `${result.code}${result.budget ? `@${result.budget}` : ''}`;
}

async function runOne(open: (clock: SimClock) => Promise<Store>, spec: Spec): Promise<void> {
  const clock = new SimClock(Date.UTC(2026, 0, 31, 22, 30));
  const store = await open(clock);
  const model = new Model();
  const ids: string[] = [];
  const issued: { cmd: Parameters<Store['execute']>[0]; result: CommandResult }[] = [];
  /** Budgets from the spec (operators' budgets), and every budget including token envelopes. */
  const planned = () => model.all.filter((b) => b.kind !== 'envelope');
  const pick = <T>(list: readonly T[], n: number): T | undefined => list[n % Math.max(1, list.length)];
  /** The budget whose chain the step reserved or settled on: every alert it reached is raised. */
  let touched: readonly MBudget[] = [];
  try {
    for (const b of spec.budgets) {
      // Agents get the default burn limit from the store when they set none; the model is told.
      const made = await store.createBudget({ path: b.path, kind: b.kind, limitMicros: b.limit, period: b.period, policy: b.kind === 'agent' ? { inflightMax: 4, ...b.policy } : b.policy });
      expect(made.ok, `create ${b.path}`).toBe(true);
      // The store makes the tags root with the first tag budget.
      if (b.kind === 'tag') model.add('tags', null, 'none', {}, clock.now(), 'tag');
      model.add(b.path, b.limit, b.period, b.kind === 'agent' ? { inflightMax: 4, burnLimits: [agentBurnDefault], loopLimit: loopDefaultUnder(b.path), ...b.policy } : b.policy, clock.now(), b.kind);
    }
    for (const op of spec.ops) {
      touched = [];
      await step(op);
      await store.sweep();
      model.settleTime(clock.now());
      await compare();
    }
    const report = await store.audit();
    expect(report.problems).toEqual([]);
    await alertsOncePerPeriod();
  } finally {
    await store.close();
  }

  async function run(cmd: Parameters<Store['execute']>[0], expected: string | ((r: CommandResult) => void)): Promise<CommandResult> {
    const result = await store.execute(cmd);
    const got = describeResult(result);
    if (typeof expected === 'string') expect(expected.includes('@') ? got : got.split('@')[0], JSON.stringify(cmd)).toBe(expected);
    else expected(result);
    issued.push({ cmd, result });
    return result;
  }

  function keyed(kind: string, key: number | null): { key?: string; prior?: { print: string; result: CommandResult } } {
    if (key === null) return {};
    const k = `${kind}-${key}`;
    return { key: k, prior: model.keyed.get(k) };
  }

  /** An agent's default loop limit: 20 in 10 minutes, or fewer repeats in a longer window when its team's is stricter. */
  function loopDefaultUnder(path: string): { repeats: number; windowMs: number } {
    const team = model.get(path.slice(0, path.lastIndexOf('/')));
    const cap = team && model.loopLimit(team);
    return cap ? { repeats: Math.min(agentLoopDefault.repeats, cap.repeats), windowMs: Math.max(agentLoopDefault.windowMs, cap.windowMs) } : agentLoopDefault;
  }

  /** A reservation, checked against the model's answer; a burn-limit or loop refusal trips what it crosses. */
  async function reserveStep(op: Extract<Op, { t: 'reserve' }>): Promise<void> {
    const budget = pick(model.all, op.b);
    if (!budget) return;
    const path = budget.path;
    const modelName = models[op.model % models.length];
    const onExpiry = expiryAsks[op.rule % expiryAsks.length];
    const tags = op.tag === true ? ['x'] : undefined;
    const fingerprint = fingerprints[op.fp % fingerprints.length];
    const print = JSON.stringify([path, op.amount, op.ttl, modelName, onExpiry, tags, fingerprint]);
    const { key, prior } = keyed('r', op.key);
    if (prior) {
      const again = await store.reserve({ path, amountMicros: op.amount, ttlMs: op.ttl, labels: { model: modelName }, idempotencyKey: key, onExpiry, tags, fingerprint });
      if (prior.print === print) expect(again).toEqual(prior.result);
      else expect(describeResult(again)).toBe('idempotency_key_reused');
      return;
    }
    const now = clock.now();
    const extras = model.reach(budget, modelName ?? '', tags ?? []);
    const held = model.held(budget, extras);
    const no = model.refusal(held, op.amount, modelName, now, fingerprint);
    const result = await run({ type: 'reserve', path, amountMicros: op.amount, ttlMs: op.ttl, labels: { model: modelName }, idempotencyKey: key, onExpiry, tags, fingerprint }, no ? `${no.code}${no.budget ? `@${no.budget}` : ''}` : 'ok');
    // Crossing a burn limit trips every budget it holds on whose window it would overfill; repeating a request past a loop limit trips every budget whose limit it crosses.
    if (no?.code === 'burn_limit' || no?.code === 'loop_detected') {
      for (const b of held) {
        if (model.burnVerdict(b, op.amount, now) === 'breach') model.trip(b, now, 'burn_limit');
        else if (model.loops(b, fingerprint, now)) model.trip(b, now, 'loop_detected');
      }
    }
    if (result.ok && 'reservation' in result) {
      ids.push(result.reservation.id);
      const r: MReservation = { id: result.reservation.id, budget, extras, amount: op.amount, expires: now + op.ttl, status: 'open', charge: model.chargesOnExpiry(budget, onExpiry), charged: 0, created: now };
      model.reservations.push(r);
      for (const b of held) {
        b.reserved += op.amount;
        b.inflight += 1;
        if (b.trippedUntil !== null && now >= b.trippedUntil && b.probe === null) b.probe = r.id;
      }
      model.burnBy(r, now, op.amount);
      model.countLoop(held, fingerprint, now);
      touched = held;
      if (key) model.keyed.set(key, { print, result });
    }
  }

  async function step(op: Op): Promise<void> {
    model.settleTime(clock.now());
    switch (op.t) {
      case 'reserve':
        return reserveStep(op);
      case 'burst': {
        // Calls in quick succession on one agent, as a runaway loop makes them.
        const agent = pick(planned().filter((x) => x.kind === 'agent'), op.b);
        if (!agent) return;
        for (let i = 0; i < op.n; i += 1) await reserveStep({ t: 'reserve', b: model.all.indexOf(agent), amount: op.amount, ttl: 60_000, model: 0, key: null, rule: 0, fp: 0 });
        return;
      }
      case 'settle': {
        const r = model.reservations[op.r % Math.max(1, model.reservations.length)];
        if (!r) return;
        const actual = Math.floor((r.amount * op.factor) / 100);
        const print = JSON.stringify([r.id, actual]);
        const { key, prior } = keyed('s', op.key);
        if (prior) {
          const again = await store.settle({ reservationId: r.id, actualMicros: actual, idempotencyKey: key });
          if (prior.print === print) expect(again).toEqual(prior.result);
          else expect(describeResult(again)).toBe('idempotency_key_reused');
          return;
        }
        const expected = r.status === 'settled' || r.status === 'late_settled' ? 'already_settled' : r.status === 'voided' ? 'already_voided' : 'ok';
        const result = await run({ type: 'settle', reservationId: r.id, actualMicros: actual, idempotencyKey: key }, (res) => expect(describeResult(res).split('@')[0]).toBe(expected));
        if (!result.ok) return;
        touched = model.held(r.budget, r.extras);
        if (r.status === 'charged') {
          // The truth after a charged expiry: refund the difference, or charge the rest late.
          const extra = Math.max(0, actual - r.charged);
          for (const b of model.held(r.budget, r.extras)) {
            b.spent += extra;
            b.overrun += extra;
          }
          model.burnBy(r, clock.now(), extra);
          if (extra === 0) model.refund(r, r.charged - actual, clock.now());
          r.status = 'late_settled';
          if (key) model.keyed.set(key, { print, result });
          return;
        }
        const late = r.status === 'expired';
        const excess = late ? actual : Math.max(0, actual - r.amount);
        for (const b of model.held(r.budget, r.extras)) {
          if (!late) {
            b.reserved -= r.amount;
            b.inflight -= 1;
          }
          b.spent += actual;
          b.overrun += excess;
        }
        r.status = late ? 'late_settled' : 'settled';
        model.burnBy(r, clock.now(), late ? actual : actual - r.amount);
        if (!late) model.probeDone(r, clock.now(), true);
        if (key) model.keyed.set(key, { print, result });
        return;
      }
      case 'void': {
        const r = model.reservations[op.r % Math.max(1, model.reservations.length)];
        if (!r) return;
        const expected = { open: 'ok', charged: 'ok', settled: 'already_settled', late_settled: 'already_settled', voided: 'already_voided', expired: 'reservation_expired' }[r.status];
        const result = await run({ type: 'void', reservationId: r.id }, (res) => expect(describeResult(res).split('@')[0]).toBe(expected));
        if (!result.ok) return;
        const wasCharged = r.status === 'charged';
        r.status = 'voided';
        if (wasCharged) return model.refund(r, r.charged, clock.now());
        for (const b of model.held(r.budget, r.extras)) {
          b.reserved -= r.amount;
          b.inflight -= 1;
        }
        model.burnBy(r, clock.now(), -r.amount);
        model.probeDone(r, clock.now(), false);
        return;
      }
      case 'tick':
        clock.advance(op.ms);
        return;
      case 'boundary':
        clock.set(clock.now() - (clock.now() % hourMs) + hourMs);
        return;
      case 'limit': {
        const b = pick(planned(), op.b);
        if (!b) return;
        await run({ type: 'updateBudget', path: b.path, limitMicros: op.limit }, 'ok');
        b.limit = op.limit;
        const left = model.remaining(b);
        if (left !== null && left < 0) b.lowered = true;
        return;
      }
      case 'pause': {
        const b = pick(planned(), op.b);
        if (!b) return;
        await run({ type: 'setStatus', path: b.path, status: op.on ? 'paused' : 'active' }, 'ok');
        b.status = op.on ? 'paused' : 'active';
        return;
      }
      case 'grant': {
        const b = pick(planned(), op.b);
        if (!b) return;
        await run({ type: 'grant', path: b.path, amountMicros: op.amount }, b.limit === null ? 'budget_unlimited' : 'ok');
        if (b.limit !== null) b.granted += op.amount;
        return;
      }
      case 'move': {
        // An agent changes team: refused while it holds reservations or where its name is taken.
        const b = pick(planned().filter((x) => x.kind === 'agent'), op.b);
        const to = pick(planned().filter((x) => x.kind === 'team'), op.to);
        if (!b || !to) return;
        const clash = to !== b.parent && model.all.some((x) => x.parent === to && x.name === b.name);
        // A child's loop limit may have no more repeats, and no shorter a window, than its new parent's.
        const own = model.loopLimit(b);
        const cap = model.loopLimit(to);
        const wide = own !== undefined && cap !== undefined && (own.repeats > cap.repeats || own.windowMs < cap.windowMs);
        const expected = to === b.parent ? 'ok' : b.inflight > 0 ? 'budget_busy' : clash ? 'budget_exists' : wide ? 'policy_widens' : 'ok';
        const result = await run({ type: 'moveBudget', path: b.path, parent: to.path }, expected);
        if (result.ok && to !== b.parent) model.move(b, to);
        return;
      }
      case 'mint': {
        // A token's envelope: a new leaf under the agent, limited to the token's max spend.
        const agent = pick(planned().filter((x) => x.kind === 'agent'), op.b);
        if (!agent) return;
        model.tokens += 1;
        const tokenId = `tok_model${String(model.tokens).padStart(4, '0')}`;
        await run({ type: 'mintToken', path: agent.path, tokenId, hash: model.tokens.toString(16).padStart(64, '0'), limitMicros: op.limit }, 'ok');
        model.add(`${agent.path}/${tokenId}`, op.limit, 'none', {}, clock.now(), 'envelope');
        return;
      }
      case 'revoke': {
        // Revoking closes the envelope: its open reservations still resolve, nothing new is admitted.
        const envelope = pick(model.all.filter((x) => x.kind === 'envelope'), op.b);
        if (!envelope) return;
        await run({ type: 'revokeToken', tokenId: envelope.name }, 'ok');
        envelope.status = 'closed';
        return;
      }
      case 'reset': {
        // A reset closes a tripped breaker and empties its windows; a closed one stays as it is.
        const b = pick(planned(), op.b);
        if (!b) return;
        await run({ type: 'resetBreaker', path: b.path }, 'ok');
        if (b.trippedUntil === null) return;
        model.closeBreaker(b);
        for (const slices of b.burn.values()) slices.clear();
        b.loops.clear();
        return;
      }
      case 'retry': {
        // Re-issue an earlier keyed command: same input, same answer, nothing changes.
        const earlier = issued.filter((x) => 'idempotencyKey' in x.cmd && x.cmd.idempotencyKey !== undefined && x.result.ok);
        const pick = earlier[op.op % Math.max(1, earlier.length)];
        if (!pick) return;
        expect(await store.execute(pick.cmd)).toEqual(pick.result);
        return;
      }
    }
  }

  async function compare(): Promise<void> {
    for (const m of model.all) {
      const v = await store.getBudget(m.path);
      expect(v, m.path).toBeDefined();
      if (!v) return;
      const got = [v.spentMicros, v.reservedMicros, v.grantedMicros, v.overrunMicros, v.inflight, v.limitMicros, v.status];
      expect(got, m.path).toEqual([m.spent, m.reserved, m.granted, m.overrun, m.inflight, m.limit, m.status]);
      // The invariant: within the limit, unless spending beyond reservations (recorded as
      // overrun) or a lowered limit explains it.
      if (m.limit !== null && !m.lowered) expect(v.spentMicros + v.reservedMicros, `${m.path} over its limit`).toBeLessThanOrEqual(m.limit + m.granted + m.overrun);
      const now = clock.now();
      const breaker = m.trippedUntil === null ? 'closed' : now < m.trippedUntil ? 'open' : 'half_open';
      expect([v.breaker, v.trippedUntilMs, v.breakerCode], `${m.path} breaker`).toEqual([breaker, m.trippedUntil, m.cause]);
      expect(v.burn, `${m.path} burn`).toEqual((m.policy.burnLimits ?? []).map((l) => ({ ...l, burnMicros: model.burnSum(m, l.windowMs, now) })));
      expect(loopFigures(v.loop), `${m.path} loops`).toEqual(modelLoopFigures(m, now));
    }
    for (const m of touched) if (m.limit !== null) await noAlertPending(m);
  }

  /** What a budget's loop detection shows that the model can say plainly: the limit, fingerprints in their window, the highest count. */
  function loopFigures(loop: BudgetView['loop']): unknown {
    return loop === null ? null : [loop.repeats, loop.windowMs, loop.tracked, loop.mostRepeated?.count ?? 0];
  }

  function modelLoopFigures(m: MBudget, now: number): unknown {
    const limit = model.loopLimit(m);
    if (!limit) return null;
    const open = [...m.loops.values()].filter((x) => now < x.first + limit.windowMs);
    return [limit.repeats, limit.windowMs, open.length, Math.max(0, ...open.map((x) => x.count))];
  }

  /** After a reservation or settlement, every threshold its chain's balances reached has been raised. */
  async function noAlertPending(m: MBudget): Promise<void> {
    const v = await store.getBudget(m.path);
    if (!v || m.limit === null) return;
    const cap = m.limit + m.granted;
    const pct = (value: number) => (value <= 0 ? 0 : cap <= 0 ? Infinity : Math.floor((value * 100) / cap));
    const thresholds = model.thresholds(m);
    const pending = (fired: number, value: number) => thresholds.filter((t) => t > fired && t <= pct(value));
    expect(pending(v.alertSpentPct, m.spent), `${m.path} spent alerts`).toEqual([]);
    expect(pending(v.alertCommittedPct, m.spent + m.reserved), `${m.path} committed alerts`).toEqual([]);
  }

  /** No alert is raised twice for one budget, basis, threshold and period. */
  async function alertsOncePerPeriod(): Promise<void> {
    const seen = new Set<string>();
    const alerts = await allPages(async (cursor) => {
      const page = await store.ledger({ kinds: ['alert'], cursor, limit: 1000 });
      return { items: page.entries, nextCursor: page.nextCursor };
    });
    for (const e of alerts) {
      const key = alertKey(e);
      expect(seen.has(key), key).toBe(false);
      seen.add(key);
    }
  }
}

function alertKey(e: LedgerEntry): string {
  const d = JSON.parse(e.data ?? '{}') as { basis?: string; thresholdPct?: number; periodStartMs?: number };
  return `${e.budgetId}:${String(d.basis)}:${String(d.thresholdPct)}:${String(d.periodStartMs)}`;
}

/**
 * Runs random operation sequences against fresh stores and the reference model, comparing
 * every budget after every step and auditing the ledger at the end.
 */
export async function runModelProperty(options: { open: (clock: SimClock) => Promise<Store>; runs: number; seed?: number }): Promise<void> {
  await fc.assert(
    fc.asyncProperty(specArbitrary(), (spec) => runOne(options.open, spec)),
    { numRuns: options.runs, seed: options.seed, endOnFailure: true },
  );
}
