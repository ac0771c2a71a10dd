import { percentOf } from './alerts.js';
import { burnAdd, burnAdjust, burnWindowsFor } from './burn.js';
import { limits } from './limits.js';
import { entryHash, genesisHash } from './hash.js';
import { loopAdd, loopClear, loopLimitOf, loopStateFor, loopsText } from './loops.js';
import type { Period } from './period.js';
import type { Policy } from './policy.js';
import type { BudgetRecord, ClosedPeriod, LedgerEntry, ReservationRecord } from './types.js';

/** One discrepancy found by an audit: where, and what differs. */
export interface AuditProblem {
  seq?: number;
  budget?: string;
  field?: string;
  expected?: string | number | null;
  actual?: string | number | null;
  message: string;
}

export interface AuditReport {
  ok: boolean;
  /** Entries in the ledger (those before `verifiedFromSeq` were verified by an earlier audit). */
  entries: number;
  /**
   * The replay began after this entry: 0 when it began at the first, else the sequence of the
   * checkpoint an earlier audit left (which this one found anchored in the ledger).
   */
  verifiedFromSeq: number;
  budgets: number;
  closedPeriods: number;
  openReservations: number;
  headHash: string;
  problems: AuditProblem[];
}

/** A budget as the replay rebuilds it. */
export type ReplayBudget = Omit<BudgetRecord, 'name' | 'kind' | 'createdMs'>;

/** What the ledger says the state is, rebuilt entry by entry. */
export interface ReplayState {
  budgets: Map<number, ReplayBudget>;
  open: Map<number, ReplayHold>;
  /** Reservations whose expiry released their hold (a late charge may follow), with their extra budgets. */
  expired: Map<number, readonly number[]>;
  /** Reservations whose expiry charged their hold, until a settlement or void reconciles them. */
  charged: Map<number, ReplayCharge>;
  closed: Map<string, ClosedPeriod>;
  lastSeq: number;
  lastHash: string;
  entries: number;
}

/** An open reservation as the replay holds it: its leaf, hold, time and extra budgets. */
export interface ReplayHold {
  budgetId: number;
  amountMicros: number;
  createdMs: number;
  also: readonly number[];
}

/** A reservation whose expiry charged its hold, until a settlement or void reconciles it. */
export interface ReplayCharge {
  budgetId: number;
  chargedMicros: number;
  createdMs: number;
  also: readonly number[];
}

/**
 * The layout of the checkpoints this replay leaves and resumes from. Raised whenever the replay's
 * state gains or changes a field: a checkpoint of another layout lacks what this replay tracks,
 * so the audit replays from the first entry instead of resuming from it.
 */
export const checkpointFormat = 2;

/**
 * A replay's whole state at an entry, as a successful audit leaves it for the next: the next
 * audit checks that the ledger still holds that entry with that hash, then replays only what
 * came after. Plain data (JSON).
 */
export interface ReplayCheckpoint {
  format: number;
  seq: number;
  hash: string;
  entries: number;
  budgets: ReplayBudget[];
  open: [number, ReplayHold][];
  expired: [number, readonly number[]][];
  charged: [number, ReplayCharge][];
  closed: ClosedPeriod[];
}

/**
 * Whether the ledger still holds a checkpoint's entry as the audit that left it saw it: with
 * that hash, which its stored fields (and the hash before it) still produce.
 *
 * @example
 * anchored({ seq: 41, hash }, entry41, entry40.hash) // true unless entry 41 changed since
 */
export function anchored(checkpoint: { seq: number; hash: string }, entry: LedgerEntry | undefined, prevHash: string): boolean {
  return entry !== undefined && entry.seq === checkpoint.seq && entry.hash === checkpoint.hash && entryHash(prevHash, entry.seq, entry) === checkpoint.hash;
}

/**
 * Every field of a replayed budget, spelled out so that a field added to the budget record fails
 * to compile until it is listed here: a checkpoint's budgets must carry each of them.
 */
const budgetFieldSet: Record<keyof ReplayBudget, true> = {
  id: true,
  parentId: true,
  path: true,
  status: true,
  limitMicros: true,
  period: true,
  timezone: true,
  periodStartMs: true,
  periodEndMs: true,
  spentMicros: true,
  reservedMicros: true,
  grantedMicros: true,
  overrunMicros: true,
  inflight: true,
  policy: true,
  alertSpentPct: true,
  alertCommittedPct: true,
  trippedUntilMs: true,
  breakerTrips: true,
  probeSeq: true,
  breakerCode: true,
  burn: true,
  loops: true,
};
const budgetFields = Object.keys(budgetFieldSet);

/**
 * A stored checkpoint's state, or undefined when it is not one this replay can resume from: of
 * another layout (`checkpointFormat`), or missing a field the replay tracks. The audit then
 * replays from the first entry.
 *
 * @example
 * const from = checkpointFromText(row.state); // undefined: replay everything
 */
export function checkpointFromText(text: string): ReplayCheckpoint | undefined {
  let c: Partial<ReplayCheckpoint>;
  try {
    c = JSON.parse(text) as Partial<ReplayCheckpoint>;
  } catch {
    return undefined;
  }
  if (c === null || typeof c !== 'object' || c.format !== checkpointFormat) return undefined;
  const lists = [c.budgets, c.open, c.expired, c.charged, c.closed];
  if (!lists.every(Array.isArray) || typeof c.seq !== 'number' || typeof c.hash !== 'string' || typeof c.entries !== 'number') return undefined;
  const whole = (c.budgets ?? []).every((b) => budgetFields.every((f) => b !== null && typeof b === 'object' && f in b));
  const held = [...(c.open ?? []), ...(c.charged ?? [])].every((pair) => Array.isArray(pair) && Array.isArray(pair[1]?.also));
  const expired = (c.expired ?? []).every((pair) => Array.isArray(pair) && Array.isArray(pair[1]));
  return whole && held && expired ? (c as ReplayCheckpoint) : undefined;
}

function stateFrom(c: ReplayCheckpoint | undefined): ReplayState {
  if (c === undefined) return { budgets: new Map(), open: new Map(), expired: new Map(), charged: new Map(), closed: new Map(), lastSeq: 0, lastHash: genesisHash, entries: 0 };
  return {
    budgets: new Map(c.budgets.map((b) => [b.id, b])),
    open: new Map(c.open),
    expired: new Map(c.expired),
    charged: new Map(c.charged),
    closed: new Map(c.closed.map((p) => [`${p.budgetId}:${p.startMs}`, p])),
    lastSeq: c.seq,
    lastHash: c.hash,
    entries: c.entries,
  };
}

type Data = Record<string, unknown>;
const problemsMax = 1_000;
const noIds: readonly number[] = [];
const balanceFields = ['spentMicros', 'reservedMicros', 'grantedMicros', 'overrunMicros', 'inflight', 'limitMicros', 'periodStartMs', 'periodEndMs', 'status', 'parentId', 'path', 'period', 'timezone', 'alertSpentPct', 'alertCommittedPct', 'trippedUntilMs', 'breakerTrips', 'probeSeq', 'breakerCode'] as const;

/**
 * Replays a ledger from its first entry (or from a checkpoint, with the entries after it) and
 * checks it against what a store holds: the hash chain, the sequence, each entry's consistency
 * with the ones before it, and at the end every budget's balances, every closed period, and the
 * set of open reservations. `checkpoint()` gives the state reached, for the next audit.
 *
 * @example
 * const replay = replayLedger();
 * for (const entry of entries) replay.apply(entry);
 * const report = replay.finish({ budgets, closedPeriods, openReservations });
 */
export function replayLedger(from?: ReplayCheckpoint) {
  const state = stateFrom(from);
  const verifiedFromSeq = state.lastSeq;
  const problems: AuditProblem[] = [];
  const report = (p: AuditProblem) => {
    if (problems.length < problemsMax) problems.push(p);
  };

  function chain(budgetId: number): ReplayBudget[] {
    const out: ReplayBudget[] = [];
    let b = state.budgets.get(budgetId);
    while (b && out.length < limits.pathDepthMax) {
      out.push(b);
      b = b.parentId === null ? undefined : state.budgets.get(b.parentId);
    }
    return out;
  }

  /** A reservation's budgets: its leaf's chain and, each once, the chains of the extra budgets its entry names. */
  function scope(budgetId: number, also: readonly number[]): ReplayBudget[] {
    const out = chain(budgetId);
    for (const id of also) for (const x of chain(id)) if (!out.includes(x)) out.push(x);
    return out;
  }

  /** The extra budgets a `reserve` entry names; each must exist and lie outside the entry's chain. */
  function alsoOf(e: LedgerEntry, d: Data): readonly number[] {
    if (d.also === undefined) return noIds;
    const ids = Array.isArray(d.also) ? d.also.map(Number) : [];
    const own = chain(e.budgetId);
    const bad = ids.find((id) => !state.budgets.has(id) || own.some((x) => x.id === id));
    if (ids.length === 0 || bad !== undefined) report({ seq: e.seq, field: 'data', message: `reserve entry ${e.seq} names extra budgets ${JSON.stringify(d.also)} that are missing or on its own chain` });
    return ids.filter((id) => state.budgets.has(id));
  }

  function closePeriod(b: ReplayBudget, e: LedgerEntry, d: Data) {
    const expect = { closedStartMs: b.periodStartMs, spentMicros: b.spentMicros, grantedMicros: b.grantedMicros, overrunMicros: b.overrunMicros };
    for (const [field, value] of Object.entries(expect)) {
      if (d[field] !== value) report({ seq: e.seq, budget: b.path, field, expected: value, actual: toCell(d[field]), message: `${e.kind} entry ${e.seq} disagrees with the ledger before it` });
    }
    const endMs = Number(d.closedEndMs);
    state.closed.set(`${b.id}:${b.periodStartMs}`, { budgetId: b.id, startMs: b.periodStartMs, endMs, spentMicros: b.spentMicros, grantedMicros: b.grantedMicros, overrunMicros: b.overrunMicros });
    Object.assign(b, { spentMicros: 0, grantedMicros: 0, overrunMicros: 0, alertSpentPct: 0, alertCommittedPct: 0, periodStartMs: Number(d.startMs), periodEndMs: d.endMs === null ? null : Number(d.endMs) });
  }

  /** Moves what a reservation made at `atMs` counts in the burn windows of its budgets. */
  function burnBy(budgets: readonly ReplayBudget[], nowMs: number, atMs: number, deltaMicros: number) {
    for (const x of budgets) burnAdjust(x.burn, nowMs, atMs, deltaMicros);
  }

  /** A reservation resolved: it is no longer any breaker's probe. */
  function probeDone(budgets: readonly ReplayBudget[], seq: number) {
    for (const x of budgets) if (x.probeSeq === seq) x.probeSeq = null;
  }

  /** A late charge follows a released expiry (the whole cost) or a charged one (the cost beyond the charge). */
  function lateCharge(e: LedgerEntry, d: Data, b: ReplayBudget) {
    const seq = e.reservationSeq ?? 0;
    const charged = state.charged.get(seq);
    const expired = state.expired.get(seq);
    if (charged) {
      state.charged.delete(seq);
      if (Number(d.actualMicros) - charged.chargedMicros !== e.amountMicros) report({ seq: e.seq, message: `late charge ${e.seq} adds ${e.amountMicros}, but the actual cost ${String(d.actualMicros)} exceeds the charged ${charged.chargedMicros} by another amount` });
    } else if (expired === undefined) {
      report({ seq: e.seq, message: `late charge ${e.seq} names reservation ${e.reservationSeq}, which had not expired` });
    }
    state.expired.delete(seq);
    const budgets = scope(b.id, charged?.also ?? expired ?? noIds);
    burnBy(budgets, e.tsMs, e.tsMs, e.amountMicros);
    for (const x of budgets) {
      x.spentMicros += e.amountMicros;
      x.overrunMicros += e.amountMicros;
    }
  }

  /** A refund of a charged expiry: never more than was charged beyond the actual cost. */
  function expiryRefund(e: LedgerEntry, d: Data, b: ReplayBudget) {
    const seq = e.reservationSeq ?? 0;
    const charged = state.charged.get(seq);
    if (!charged || charged.budgetId !== b.id) return report({ seq: e.seq, message: `refund ${e.seq} names reservation ${e.reservationSeq}, whose expiry charged nothing` });
    state.charged.delete(seq);
    if (e.amountMicros > charged.chargedMicros - Number(d.actualMicros ?? 0)) report({ seq: e.seq, message: `refund ${e.seq} gives back ${e.amountMicros}, more than the charge ${charged.chargedMicros} above the actual ${String(d.actualMicros)}` });
    const budgets = scope(b.id, charged.also);
    for (const x of budgets) x.spentMicros -= e.amountMicros;
    burnBy(budgets, e.tsMs, charged.createdMs, -e.amountMicros);
  }

  /** An alert or breaker entry: each must follow from the state the ledger had before it. */
  function applyGuard(e: LedgerEntry, d: Data, b: ReplayBudget) {
    const bad = (message: string) => report({ seq: e.seq, budget: b.path, message: `${e.kind} entry ${e.seq} ${message}` });
    switch (e.kind) {
      case 'alert':
        return applyAlert(e, d, b, bad);
      case 'breaker_tripped':
        if (Number(d.trips) !== b.breakerTrips + 1) bad(`counts trip ${String(d.trips)}, the ledger counts ${b.breakerTrips + 1}`);
        if (d.code === 'loop_detected') checkLoopTrip(d, b, bad);
        b.trippedUntilMs = Number(d.untilMs);
        b.breakerTrips = Number(d.trips);
        b.probeSeq = null;
        b.breakerCode = d.code === 'loop_detected' ? 'loop_detected' : 'burn_limit';
        return;
      case 'breaker_probe': {
        const seq = e.reservationSeq ?? 0;
        if (b.trippedUntilMs === null || e.tsMs < b.trippedUntilMs || b.probeSeq !== null || !state.open.has(seq)) bad('lets a probe through a breaker that was not half-open and free');
        b.probeSeq = seq;
        return;
      }
      case 'breaker_closed':
        if (b.trippedUntilMs === null) bad('closes a breaker that was not tripped');
        b.trippedUntilMs = null;
        b.breakerTrips = 0;
        b.probeSeq = null;
        b.breakerCode = null;
        if (d.manual === true) {
          for (const w of b.burn ?? []) w.slots.length = 0;
          loopClear(b.loops);
        }
        return;
      default:
        return;
    }
  }

  /** A loop trip names a fingerprint whose window the ledger had filled, and its first and last reservations there. */
  function checkLoopTrip(d: Data, b: ReplayBudget, bad: (message: string) => void) {
    const limit = loopLimitOf(b);
    const seen = b.loops?.entries.find((e) => e.fingerprint === d.fingerprint);
    const counted = seen && limit && seen.count >= limit.repeats && d.count === seen.count && d.firstRequest === `rsv_${seen.firstSeq}` && d.lastRequest === `rsv_${seen.lastSeq}`;
    if (!counted) bad(`trips for fingerprint ${String(d.fingerprint)}, which the ledger had not counted ${limit?.repeats ?? 0} times in its window as the entry says`);
  }

  /** An alert is raised once per threshold, basis and period, and only when the balance reached it. */
  function applyAlert(e: LedgerEntry, d: Data, b: ReplayBudget, bad: (message: string) => void) {
    const spent = d.basis === 'spent';
    if (!spent && d.basis !== 'committed') bad(`has an unknown basis ${String(d.basis)}`);
    const t = Number(d.thresholdPct);
    const fired = spent ? b.alertSpentPct : b.alertCommittedPct;
    const value = spent ? b.spentMicros : b.spentMicros + b.reservedMicros;
    if (!(t > fired)) bad(`raises ${t}% again this period (${fired}% was raised already)`);
    if (b.limitMicros === null || percentOf(value, b.limitMicros + b.grantedMicros) < t) bad(`raises ${t}%, which the balance had not reached`);
    if (d.spentMicros !== b.spentMicros || d.reservedMicros !== b.reservedMicros || e.amountMicros !== value) bad('carries balances that differ from the ledger before it');
    if (spent) b.alertSpentPct = t;
    else b.alertCommittedPct = t;
  }

  /** A `reserve` entry: the hold lands on its chain and on the extra budgets it names. */
  function openReservation(e: LedgerEntry, d: Data, b: ReplayBudget) {
    if (e.reservationSeq !== e.seq) report({ seq: e.seq, message: `reserve entry ${e.seq} names reservation ${e.reservationSeq}` });
    const also = alsoOf(e, d);
    state.open.set(e.seq, { budgetId: b.id, amountMicros: e.amountMicros, createdMs: e.tsMs, also });
    for (const x of scope(b.id, also)) {
      x.reservedMicros += e.amountMicros;
      x.inflight += 1;
      if (x.burn !== null) burnAdd(x.burn, e.tsMs, e.amountMicros);
      const loop = typeof d.fingerprint === 'string' ? loopLimitOf(x) : undefined;
      if (loop && x.loops) loopAdd(x.loops, loop.windowMs, String(d.fingerprint), e.tsMs, e.seq);
    }
  }

  function applyBalances(e: LedgerEntry, d: Data, b: ReplayBudget) {
    const r = e.reservationSeq === null ? undefined : state.open.get(e.reservationSeq);
    switch (e.kind) {
      case 'reserve':
        return openReservation(e, d, b);
      case 'settle':
      case 'void':
      case 'expire':
      case 'expire_charged': {
        if (!r || r.budgetId !== b.id) return report({ seq: e.seq, message: `${e.kind} entry ${e.seq} resolves reservation ${e.reservationSeq}, which is not open` });
        state.open.delete(e.reservationSeq ?? 0);
        if (e.kind === 'expire') state.expired.set(e.reservationSeq ?? 0, r.also);
        if (e.kind === 'expire_charged') state.charged.set(e.reservationSeq ?? 0, { budgetId: b.id, chargedMicros: e.amountMicros, createdMs: r.createdMs, also: r.also });
        if (e.kind !== 'settle' && e.amountMicros !== r.amountMicros) report({ seq: e.seq, message: `${e.kind} entry ${e.seq} releases ${e.amountMicros}, reservation held ${r.amountMicros}` });
        const spends = e.kind === 'settle' || e.kind === 'expire_charged';
        const excess = e.kind === 'settle' ? Math.max(0, e.amountMicros - r.amountMicros) : 0;
        const budgets = scope(b.id, r.also);
        for (const x of budgets) {
          x.reservedMicros -= r.amountMicros;
          x.inflight -= 1;
          if (spends) {
            x.spentMicros += e.amountMicros;
            x.overrunMicros += excess;
          }
        }
        burnBy(budgets, e.tsMs, r.createdMs, e.kind === 'settle' ? e.amountMicros - r.amountMicros : e.kind === 'expire_charged' ? 0 : -r.amountMicros);
        probeDone(budgets, e.reservationSeq ?? 0);
        return;
      }
      case 'late_charge':
        return lateCharge(e, d, b);
      case 'expiry_refund':
        return expiryRefund(e, d, b);
      case 'grant':
        b.grantedMicros += e.amountMicros;
        return;
      case 'limit_change':
        b.limitMicros = d.toMicros === null ? null : Number(d.toMicros);
        return;
      case 'period_reset':
        return closePeriod(b, e, d);
      case 'period_change':
        closePeriod(b, e, d);
        b.period = d.to as Period;
        b.timezone = String(d.timezone);
        return;
      case 'policy_change':
        b.policy = d.policy ?? {};
        b.burn = burnWindowsFor(b.policy, b.burn);
        b.loops = loopStateFor(b.policy, b.loops);
        return;
      case 'alert':
      case 'breaker_tripped':
      case 'breaker_probe':
      case 'breaker_closed':
        return applyGuard(e, d, b);
      case 'pause':
      case 'resume':
      case 'close':
        b.status = d.to as ReplayBudget['status'];
        return;
      case 'budget_moved': {
        const from = String(d.fromPath);
        const to = String(d.toPath);
        b.parentId = d.toParentId === null ? null : Number(d.toParentId);
        for (const x of state.budgets.values()) if (x.path === from || x.path.startsWith(`${from}/`)) x.path = to + x.path.slice(from.length);
        return;
      }
      case 'overrun':
      case 'token_minted':
      case 'token_revoked':
      case 'budget_created':
        return;
    }
  }

  function apply(e: LedgerEntry): void {
    state.entries += 1;
    if (e.seq !== state.lastSeq + 1) report({ seq: e.seq, message: `ledger sequence jumps from ${state.lastSeq} to ${e.seq}: entries are missing` });
    const hash = entryHash(state.lastHash, e.seq, e);
    if (hash !== e.hash) report({ seq: e.seq, field: 'hash', expected: hash, actual: e.hash, message: `entry ${e.seq} does not match its hash: it, or an entry before it, was altered after it was written` });
    state.lastSeq = e.seq;
    state.lastHash = e.hash;
    let d: Data = {};
    try {
      d = e.data === null ? {} : (JSON.parse(e.data) as Data);
    } catch {
      report({ seq: e.seq, field: 'data', message: `entry ${e.seq} has unreadable data` });
    }
    if (e.kind === 'budget_created') {
      state.budgets.set(e.budgetId, {
        id: e.budgetId,
        parentId: d.parentId === null || d.parentId === undefined ? null : Number(d.parentId),
        path: String(d.path),
        status: 'active',
        limitMicros: d.limitMicros === null || d.limitMicros === undefined ? null : Number(d.limitMicros),
        period: d.period as Period,
        timezone: String(d.timezone),
        periodStartMs: Number(d.periodStartMs),
        periodEndMs: d.periodEndMs === null || d.periodEndMs === undefined ? null : Number(d.periodEndMs),
        spentMicros: 0,
        reservedMicros: 0,
        grantedMicros: 0,
        overrunMicros: 0,
        inflight: 0,
        ...replayGuards(d.policy ?? {}),
      });
      return;
    }
    const b = state.budgets.get(e.budgetId);
    if (!b) return report({ seq: e.seq, message: `entry ${e.seq} names budget ${e.budgetId}, which was never created` });
    applyBalances(e, d, b);
  }

  function finish(stored: { budgets: readonly BudgetRecord[]; closedPeriods: readonly ClosedPeriod[]; openReservations: readonly ReservationRecord[]; headSeq?: number; headHash?: string }): AuditReport {
    if (stored.headSeq !== undefined && stored.headSeq !== state.lastSeq) report({ field: 'head', expected: state.lastSeq, actual: stored.headSeq, message: `the ledger head says ${stored.headSeq} entries, the ledger holds ${state.lastSeq}` });
    if (stored.headHash !== undefined && stored.headHash !== state.lastHash) report({ field: 'head', expected: state.lastHash, actual: stored.headHash, message: 'the ledger head hash differs from the last entry' });
    const seen = new Set<number>();
    for (const s of stored.budgets) {
      seen.add(s.id);
      const r = state.budgets.get(s.id);
      if (!r) {
        report({ budget: s.path, message: `budget ${s.path} exists but the ledger never created it` });
        continue;
      }
      for (const field of balanceFields) {
        if (r[field] !== s[field]) report({ budget: s.path, field, expected: toCell(r[field]), actual: toCell(s[field]), message: `budget ${s.path}: ${field} is ${String(s[field])}, the ledger says ${String(r[field])}` });
      }
      const burn = [JSON.stringify(r.burn), JSON.stringify(s.burn)];
      if (burn[0] !== burn[1]) report({ budget: s.path, field: 'burn', expected: burn[0] ?? null, actual: burn[1] ?? null, message: `budget ${s.path}: its burn windows differ from what the ledger adds up to` });
      const loops = [loopsText(r.loops), loopsText(s.loops)];
      if (loops[0] !== loops[1]) report({ budget: s.path, field: 'loops', expected: loops[0] ?? null, actual: loops[1] ?? null, message: `budget ${s.path}: the requests its loop detection counts differ from what the ledger adds up to` });
    }
    for (const r of state.budgets.values()) if (!seen.has(r.id)) report({ budget: r.path, message: `budget ${r.path} is in the ledger but missing from the store` });
    const storedClosed = new Map(stored.closedPeriods.map((p) => [`${p.budgetId}:${p.startMs}`, p]));
    for (const [key, p] of state.closed) {
      const s = storedClosed.get(key);
      const path = state.budgets.get(p.budgetId)?.path ?? String(p.budgetId);
      if (!s) {
        report({ budget: path, message: `closed period starting ${new Date(p.startMs).toISOString()} of ${path} is missing` });
        continue;
      }
      for (const field of ['endMs', 'spentMicros', 'grantedMicros', 'overrunMicros'] as const) {
        if (s[field] !== p[field]) report({ budget: path, field, expected: p[field], actual: s[field], message: `closed period ${new Date(p.startMs).toISOString()} of ${path}: ${field} differs` });
      }
      storedClosed.delete(key);
    }
    for (const s of storedClosed.values()) report({ budget: state.budgets.get(s.budgetId)?.path ?? String(s.budgetId), message: `a closed period starting ${new Date(s.startMs).toISOString()} is not in the ledger` });
    const open = new Set(stored.openReservations.map((r) => r.seq));
    for (const r of stored.openReservations) {
      const o = state.open.get(r.seq);
      if (!o) report({ field: 'reservation', actual: r.seq, message: `reservation ${r.seq} is open in the store but resolved (or absent) in the ledger` });
      else if (o.amountMicros !== r.amountMicros || o.budgetId !== r.budgetId) report({ field: 'reservation', actual: r.seq, message: `reservation ${r.seq} differs from its reserve entry` });
    }
    for (const seq of state.open.keys()) if (!open.has(seq)) report({ field: 'reservation', expected: seq, message: `reservation ${seq} is open in the ledger but not in the store` });
    return {
      ok: problems.length === 0,
      entries: state.entries,
      verifiedFromSeq,
      budgets: state.budgets.size,
      closedPeriods: state.closed.size,
      openReservations: state.open.size,
      headHash: state.lastHash,
      problems,
    };
  }

  /** The state reached so far, as plain data (copied: replaying on does not change it). */
  function checkpoint(): ReplayCheckpoint {
    const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
    return copy({
      format: checkpointFormat,
      seq: state.lastSeq,
      hash: state.lastHash,
      entries: state.entries,
      budgets: [...state.budgets.values()],
      open: [...state.open],
      expired: [...state.expired],
      charged: [...state.charged],
      closed: [...state.closed.values()],
    });
  }

  /** Reports that a checkpoint was found but does not match the ledger (the replay then starts at the first entry). */
  function unanchored(c: { seq: number; hash: string }, actual: string | null) {
    report({ seq: c.seq, field: 'hash', expected: c.hash, actual, message: `entry ${c.seq}, where an earlier audit verified the ledger up to, no longer has the hash that audit saw: the ledger up to it was altered since` });
  }

  return { apply, finish, state, checkpoint, unanchored };
}

/** A budget's guard state when it is created: nothing raised, breaker closed, windows empty. */
function replayGuards(policy: Policy): Pick<ReplayBudget, 'policy' | 'alertSpentPct' | 'alertCommittedPct' | 'trippedUntilMs' | 'breakerTrips' | 'probeSeq' | 'breakerCode' | 'burn' | 'loops'> {
  return { policy, alertSpentPct: 0, alertCommittedPct: 0, trippedUntilMs: null, breakerTrips: 0, probeSeq: null, breakerCode: null, burn: burnWindowsFor(policy, null), loops: loopStateFor(policy, null) };
}

function toCell(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
