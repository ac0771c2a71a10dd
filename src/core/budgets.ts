import { raiseAlerts } from './alerts.js';
import { assert } from './assert.js';
import { burnWindowsFor } from './burn.js';
import { chainOf, draft, json, rollPeriods } from './chain.js';
import { refuse, type Refusal } from './codes.js';
import { crossNameProblem, crossParentProblem, crossPolicyProblem, isCrossKind } from './crosscut.js';
import type { Attribution, CreateBudget, Grant, MoveBudget, SetStatus, UpdateBudget } from './commands.js';
import { limits } from './limits.js';
import { loopStateFor } from './loops.js';
import { isMicros } from './money.js';
import { parentPath, parsePath } from './names.js';
import { isPeriod, isTimeZone, periodWindow, type Period } from './period.js';
import { agentBurnDefault, agentLoopDefault, effectivePolicy, policyProblem, widening, type Policy } from './policy.js';
import type { Tx } from './tx.js';
import { budgetKinds, type BudgetKind, type BudgetRecord, type Ok } from './types.js';
import { checkIdempotencyKey, checkPositiveAmount, checkText, describe } from './validate.js';
import { viewBudget, type BudgetView } from './view.js';

export type BudgetOk = Ok<{ budget: BudgetView }>;

/** Defaults a store applies to new budgets. */
export interface BudgetDefaults {
  timezone: string;
}

export function checkAttribution(cmd: Attribution): Refusal | undefined {
  return checkText(cmd.actor, 'actor', limits.labelBytesMax) ?? checkText(cmd.reason, 'reason', limits.reasonBytesMax);
}

function checkLimit(value: unknown): Refusal | undefined {
  if (value === undefined || value === null || isMicros(value)) return undefined;
  return refuse('invalid_amount', `limitMicros must be a whole number of micros or null, got ${describe(value)}`, { field: 'limitMicros' });
}

function checkPolicy(policy: Policy | undefined): Refusal | undefined {
  if (policy === undefined) return undefined;
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) return refuse('invalid_policy', 'policy must be an object', { field: 'policy' });
  const problem = policyProblem(policy);
  return problem ? refuse('invalid_policy', problem.message, { field: `policy.${problem.field}` }) : undefined;
}

export function validateCreate(cmd: CreateBudget): Refusal | undefined {
  const parsed = parsePath(cmd.path);
  if ('problem' in parsed) return refuse(cmd.path?.includes('/') || !cmd.path ? 'invalid_path' : 'invalid_name', parsed.problem, { field: 'path' });
  if (cmd.kind !== undefined && !(budgetKinds as readonly string[]).includes(cmd.kind)) return refuse('invalid_kind', `kind must be one of ${budgetKinds.join(', ')}`, { field: 'kind' });
  if (cmd.period !== undefined && !isPeriod(cmd.period)) return refuse('invalid_period', `period must be one of none, hour, day, week, month; got ${String(cmd.period)}`, { field: 'period' });
  if (cmd.timezone !== undefined && !isTimeZone(cmd.timezone)) return refuse('invalid_timezone', `unknown time zone ${String(cmd.timezone)} (use an IANA name like UTC or Europe/Amsterdam)`, { field: 'timezone' });
  const kind = cmd.kind ?? 'budget';
  return crossNameProblem(cmd.path, kind) ?? checkLimit(cmd.limitMicros) ?? checkPolicy(cmd.policy) ?? crossPolicyProblem(kind, cmd.policy) ?? checkIdempotencyKey(cmd.idempotencyKey) ?? checkAttribution(cmd);
}

function effectiveOf(tx: Tx, b: BudgetRecord | undefined): Policy {
  if (!b) return {};
  return effectivePolicy(chainOf(tx, b).reverse().map((x) => x.policy));
}

/** Builds a budget record (not yet written) under `parent`. */
function newBudget(tx: Tx, parent: BudgetRecord | undefined, name: string, spec: { kind: BudgetKind; limitMicros: number | null; period: Period; timezone: string; policy: Policy }): BudgetRecord {
  const window = periodWindow(spec.period, spec.timezone, tx.nowMs);
  return {
    id: tx.nextBudgetId(),
    parentId: parent?.id ?? null,
    name,
    path: parent ? `${parent.path}/${name}` : name,
    kind: spec.kind,
    status: 'active',
    limitMicros: spec.limitMicros,
    period: spec.period,
    timezone: spec.timezone,
    periodStartMs: window.startMs,
    periodEndMs: window.endMs,
    policy: spec.policy,
    createdMs: tx.nowMs,
    ...freshState(spec.policy),
  };
}

/** The guard state of a budget that has just been made: nothing raised, breaker closed, windows empty. */
/** The balances and guard state of a budget that has seen nothing yet. */
export function freshState(policy: Policy): Pick<BudgetRecord, 'spentMicros' | 'reservedMicros' | 'grantedMicros' | 'overrunMicros' | 'inflight'> & ReturnType<typeof freshGuards> {
  return { spentMicros: 0, reservedMicros: 0, grantedMicros: 0, overrunMicros: 0, inflight: 0, ...freshGuards(policy) };
}

export function freshGuards(policy: Policy): Pick<BudgetRecord, 'alertSpentPct' | 'alertCommittedPct' | 'trippedUntilMs' | 'breakerTrips' | 'probeSeq' | 'breakerCode' | 'burn' | 'loops'> {
  return { alertSpentPct: 0, alertCommittedPct: 0, trippedUntilMs: null, breakerTrips: 0, probeSeq: null, breakerCode: null, burn: burnWindowsFor(policy, null), loops: loopStateFor(policy, null) };
}

/** Writes a new budget and its `budget_created` entry. */
export function insertBudget(tx: Tx, b: BudgetRecord, attribution: Attribution): void {
  tx.insertBudget(b);
  tx.append(
    draft(tx, 'budget_created', b.id, b.limitMicros ?? 0, {
      actor: attribution.actor ?? null,
      reason: attribution.reason ?? null,
      data: json({
        parentId: b.parentId,
        name: b.name,
        path: b.path,
        kind: b.kind,
        limitMicros: b.limitMicros,
        period: b.period,
        timezone: b.timezone,
        periodStartMs: b.periodStartMs,
        periodEndMs: b.periodEndMs,
        policy: b.policy,
      }),
    }),
  );
}

/**
 * Policy for a new budget: agents get the default in-flight cap, the default burn limit and the
 * default loop limit unless they set their own (an empty list of burn limits, or a loop limit
 * `off`, is a choice), never above a parent's.
 */
function initialPolicy(kind: BudgetKind, own: Policy, parentEffective: Policy): Policy {
  if (kind !== 'agent') return own;
  const policy = { ...own };
  if (own.inflightMax === undefined) policy.inflightMax = Math.min(limits.inflightMaxAgentDefault, parentEffective.inflightMax ?? Infinity);
  if (own.burnLimits === undefined) policy.burnLimits = agentBurnDefault(parentEffective);
  if (own.loopLimit === undefined) policy.loopLimit = agentLoopDefault(parentEffective);
  return policy;
}

/**
 * Creates a budget at a path, refusing when its parent is missing unless asked to create it.
 * The `tags` and `providers` roots are made with the first tag or provider budget.
 */
export function createBudget(tx: Tx, cmd: CreateBudget, defaults: BudgetDefaults): BudgetOk | Refusal {
  if (tx.budgetByPath(cmd.path)) return refuse('budget_exists', `a budget already exists at ${cmd.path}`, { field: 'path', budget: cmd.path });
  const kind = cmd.kind ?? 'budget';
  const parentAt = parentPath(cmd.path);
  let parent = parentAt === null ? undefined : tx.budgetByPath(parentAt);
  const names = cmd.path.split('/');
  const rootMade = kind === 'tag' || kind === 'provider';
  if (parentAt !== null && !parent && !cmd.createParents && !rootMade) {
    return refuse('parent_missing', `parent budget ${parentAt} does not exist; create it first (or ask to create missing parents)`, { field: 'path' });
  }
  const misplaced = parent && crossParentProblem(kind, parent);
  if (misplaced) return misplaced;
  if (parent?.status === 'closed') return refuse('budget_closed', `parent budget ${parent.path} is closed`, { budget: parent.path });
  const parentEffective = effectiveOf(tx, parent);
  const policy = initialPolicy(kind, cmd.policy ?? {}, parentEffective);
  const wide = widening(parentEffective, policy);
  if (wide) return refuse('policy_widens', wide.message, { field: `policy.${wide.field}`, budget: parent?.path });
  const timezone = cmd.timezone ?? defaults.timezone;
  if (!parent && parentAt !== null) {
    const made = createParents(tx, cmd, rootMade ? kind : undefined, timezone);
    if (!('id' in made)) return made;
    parent = made;
  }
  const b = newBudget(tx, parent, names[names.length - 1] ?? '', {
    kind,
    limitMicros: cmd.limitMicros ?? null,
    period: cmd.period ?? 'none',
    timezone,
    policy,
  });
  insertBudget(tx, b, cmd);
  return { ok: true, budget: viewBudget(b, tx.nowMs) };
}

/**
 * Creates the missing ancestors of `cmd.path`, root first, as budgets without limits: like
 * `bursar agents create --parents`, an org at the top, a team under it, plain budgets below (or
 * all of `kind`, for the `tags` and `providers` roots). Returns the parent of the new budget.
 */
function createParents(tx: Tx, cmd: CreateBudget, kind: BudgetKind | undefined, timezone: string): BudgetRecord | Refusal {
  const names = cmd.path.split('/');
  let parent: BudgetRecord | undefined;
  for (let depth = 1; depth < names.length; depth += 1) {
    const at = names.slice(0, depth).join('/');
    const existing = tx.budgetByPath(at);
    if (existing) {
      if (existing.status === 'closed') return refuse('budget_closed', `budget ${at} is closed`, { budget: at });
      parent = existing;
      continue;
    }
    const parentKind = kind ?? (depth === 1 ? 'org' : depth === 2 ? 'team' : 'budget');
    const made = newBudget(tx, parent, names[depth - 1] ?? '', { kind: parentKind, limitMicros: null, period: 'none', timezone, policy: {} });
    insertBudget(tx, made, { actor: cmd.actor, reason: `created as a parent of ${cmd.path}` });
    parent = made;
  }
  assert(parent, `no parent made for ${cmd.path}`);
  return parent;
}

export function validateUpdate(cmd: UpdateBudget): Refusal | undefined {
  if (cmd.period !== undefined && !isPeriod(cmd.period)) return refuse('invalid_period', `period must be one of none, hour, day, week, month; got ${String(cmd.period)}`, { field: 'period' });
  if (cmd.timezone !== undefined && !isTimeZone(cmd.timezone)) return refuse('invalid_timezone', `unknown time zone ${String(cmd.timezone)}`, { field: 'timezone' });
  if (cmd.policy !== undefined && cmd.policyPatch !== undefined) return refuse('invalid_policy', 'give either a policy or a policy patch, not both', { field: 'policyPatch' });
  return checkLimit(cmd.limitMicros) ?? checkPolicy(cmd.policy) ?? checkPatch(cmd.policyPatch) ?? checkIdempotencyKey(cmd.idempotencyKey) ?? checkAttribution(cmd);
}

const policyKeys = ['models', 'requestCapMicros', 'inflightMax', 'maxOutputTokens', 'alertThresholdsPct', 'burnLimits', 'loopLimit', 'onExpiry', 'requiredTags', 'brownout', 'fallbacks'];

function checkPatch(patch: UpdateBudget['policyPatch']): Refusal | undefined {
  if (patch === undefined) return undefined;
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return refuse('invalid_policy', 'policyPatch must be an object', { field: 'policyPatch' });
  const unknown = Object.keys(patch).find((k) => !policyKeys.includes(k));
  if (unknown !== undefined) return refuse('invalid_policy', `unknown policy field ${unknown}; allowed: ${policyKeys.join(', ')}`, { field: `policyPatch.${unknown}` });
  return checkPolicy(applyPatch({}, patch));
}

/** A policy with a patch applied: set fields replace, null fields are removed. */
export function applyPatch(policy: Policy, patch: NonNullable<UpdateBudget['policyPatch']>): Policy {
  const merged: Record<string, unknown> = { ...policy };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/**
 * Changes a budget's limit, period or policy. A limit lowered below what is already spent and
 * reserved refuses new reservations; history is never rewritten. A new period (or time zone)
 * closes the current one and starts a fresh window.
 */
export function updateBudget(tx: Tx, cmd: UpdateBudget): BudgetOk | Refusal {
  const b = tx.budgetByPath(cmd.path);
  if (!b) return refuse('unknown_budget', `no budget at ${cmd.path}`, { field: 'path' });
  if (b.status === 'closed') return refuse('budget_closed', `budget ${b.path} is closed`, { budget: b.path });
  const policy = cmd.policyPatch !== undefined ? applyPatch(b.policy, cmd.policyPatch) : cmd.policy;
  const routed = crossPolicyProblem(b.kind, policy);
  if (routed) return { ...routed, budget: b.path };
  if (policy !== undefined) {
    const parent = b.parentId === null ? undefined : tx.budgetById(b.parentId);
    const wide = widening(effectiveOf(tx, parent), policy);
    if (wide) return refuse('policy_widens', wide.message, { field: `policy.${wide.field}`, budget: parent?.path });
  }
  const chain = chainOf(tx, b);
  rollPeriods(tx, chain, cmd.actor ?? null);
  const attribution = { actor: cmd.actor ?? null, reason: cmd.reason ?? null };
  if (cmd.limitMicros !== undefined && cmd.limitMicros !== b.limitMicros) {
    tx.append(draft(tx, 'limit_change', b.id, cmd.limitMicros ?? 0, { ...attribution, data: json({ fromMicros: b.limitMicros, toMicros: cmd.limitMicros }) }));
    b.limitMicros = cmd.limitMicros;
  }
  const period = cmd.period ?? b.period;
  const timezone = cmd.timezone ?? b.timezone;
  if (period !== b.period || timezone !== b.timezone) {
    const next = periodWindow(period, timezone, tx.nowMs);
    tx.closePeriod({ budgetId: b.id, startMs: b.periodStartMs, endMs: tx.nowMs, spentMicros: b.spentMicros, grantedMicros: b.grantedMicros, overrunMicros: b.overrunMicros });
    tx.append(
      draft(tx, 'period_change', b.id, b.spentMicros, {
        ...attribution,
        data: json({ from: b.period, to: period, timezone, closedStartMs: b.periodStartMs, closedEndMs: tx.nowMs, spentMicros: b.spentMicros, grantedMicros: b.grantedMicros, overrunMicros: b.overrunMicros, startMs: next.startMs, endMs: next.endMs }),
      }),
    );
    Object.assign(b, { period, timezone, periodStartMs: next.startMs, periodEndMs: next.endMs, spentMicros: 0, grantedMicros: 0, overrunMicros: 0, alertSpentPct: 0, alertCommittedPct: 0 });
  }
  if (policy !== undefined && JSON.stringify(policy) !== JSON.stringify(b.policy)) {
    tx.append(draft(tx, 'policy_change', b.id, 0, { ...attribution, data: json({ policy }) }));
    b.policy = policy;
    b.burn = burnWindowsFor(policy, b.burn);
    b.loops = loopStateFor(policy, b.loops);
  }
  tx.budgetChanged(b);
  raiseAlerts(tx, chain);
  return { ok: true, budget: viewBudget(b, tx.nowMs) };
}

const transitions: Record<SetStatus['status'], { from: readonly BudgetRecord['status'][]; kind: 'pause' | 'resume' | 'close' }> = {
  paused: { from: ['active'], kind: 'pause' },
  active: { from: ['paused'], kind: 'resume' },
  closed: { from: ['active', 'paused'], kind: 'close' },
};

/** Pauses, resumes or closes a budget. Asking for the status it already has changes nothing. */
export function setStatus(tx: Tx, cmd: SetStatus): BudgetOk | Refusal {
  const rule = transitions[cmd.status];
  if (!rule) return refuse('invalid_status', `status must be active, paused or closed; got ${String(cmd.status)}`, { field: 'status' });
  const attributionProblem = checkAttribution(cmd);
  if (attributionProblem) return attributionProblem;
  const b = tx.budgetByPath(cmd.path);
  if (!b) return refuse('unknown_budget', `no budget at ${cmd.path}`, { field: 'path' });
  if (b.status === cmd.status) return { ok: true, budget: viewBudget(b, tx.nowMs) };
  if (!rule.from.includes(b.status)) return refuse('invalid_status', `budget ${b.path} is ${b.status}; a closed budget cannot be paused or resumed`, { budget: b.path });
  tx.append(draft(tx, rule.kind, b.id, 0, { actor: cmd.actor ?? null, reason: cmd.reason ?? null, data: json({ from: b.status, to: cmd.status }) }));
  b.status = cmd.status;
  tx.budgetChanged(b);
  return { ok: true, budget: viewBudget(b, tx.nowMs) };
}

export function validateGrant(cmd: Grant): Refusal | undefined {
  return checkPositiveAmount(cmd.amountMicros, 'amountMicros') ?? checkIdempotencyKey(cmd.idempotencyKey) ?? checkAttribution(cmd);
}

/** Tops up a budget for its current period: the extra allowance ends with the period. */
export function grant(tx: Tx, cmd: Grant): BudgetOk | Refusal {
  const b = tx.budgetByPath(cmd.path);
  if (!b) return refuse('unknown_budget', `no budget at ${cmd.path}`, { field: 'path' });
  if (b.status === 'closed') return refuse('budget_closed', `budget ${b.path} is closed`, { budget: b.path });
  if (b.limitMicros === null) return refuse('budget_unlimited', `budget ${b.path} has no limit to top up; set one first`, { budget: b.path });
  rollPeriods(tx, [b], cmd.actor ?? null);
  tx.append(draft(tx, 'grant', b.id, cmd.amountMicros, { actor: cmd.actor ?? null, reason: cmd.reason ?? null }));
  b.grantedMicros += cmd.amountMicros;
  tx.budgetChanged(b);
  raiseAlerts(tx, chainOf(tx, b));
  return { ok: true, budget: viewBudget(b, tx.nowMs) };
}

/**
 * Moves a budget (and everything under it) to a new parent. Refused while anything under it
 * holds a reservation, and when the new parent lies inside the budget (a cycle). Spending
 * before the move stays counted where it happened.
 */
export function moveBudget(tx: Tx, cmd: MoveBudget): BudgetOk | Refusal {
  const attributionProblem = checkAttribution(cmd);
  if (attributionProblem) return attributionProblem;
  const b = tx.budgetByPath(cmd.path);
  if (!b) return refuse('unknown_budget', `no budget at ${cmd.path}`, { field: 'path' });
  const parent = cmd.parent === null ? undefined : tx.budgetByPath(cmd.parent);
  if (cmd.parent !== null && !parent) return refuse('unknown_budget', `no budget at ${cmd.parent}`, { field: 'parent' });
  if (parent && (parent.id === b.id || parent.path.startsWith(`${b.path}/`))) {
    return refuse('tree_cycle', `cannot move ${b.path} under ${parent.path}: it lies inside ${b.path}`, { field: 'parent', budget: b.path });
  }
  if ((parent?.id ?? null) === b.parentId) return { ok: true, budget: viewBudget(b, tx.nowMs) };
  if (isCrossKind(b.kind) || (parent && isCrossKind(parent.kind))) {
    const which = isCrossKind(b.kind) ? b : (parent as BudgetRecord);
    return refuse('invalid_path', `${which.path} is a ${which.kind} budget: model, tag and provider budgets stay where they are made, and nothing moves under them`, { field: 'parent', budget: which.path });
  }
  if (parent?.status === 'closed') return refuse('budget_closed', `budget ${parent.path} is closed`, { budget: parent.path });
  if (b.inflight > 0) return refuse('budget_busy', `budget ${b.path} has ${b.inflight} open reservations; move it when they are resolved`, { budget: b.path });
  const newPath = parent ? `${parent.path}/${b.name}` : b.name;
  if (tx.budgetByPath(newPath)) return refuse('budget_exists', `a budget already exists at ${newPath}`, { budget: newPath });
  const subtree = subtreeOf(tx, b);
  const depthGain = (parent ? parent.path.split('/').length + 1 : 1) - b.path.split('/').length;
  const deepest = Math.max(...subtree.map((x) => x.path.split('/').length));
  if (deepest + depthGain > limits.pathDepthMax) return refuse('tree_too_deep', `moving ${b.path} would nest budgets deeper than ${limits.pathDepthMax} levels`, { budget: b.path });
  const wide = widening(effectiveOf(tx, parent), b.policy);
  if (wide) return refuse('policy_widens', wide.message, { field: `policy.${wide.field}`, budget: parent?.path });

  const oldPath = b.path;
  tx.append(draft(tx, 'budget_moved', b.id, 0, { actor: cmd.actor ?? null, reason: cmd.reason ?? null, data: json({ fromParentId: b.parentId, toParentId: parent?.id ?? null, fromPath: oldPath, toPath: newPath }) }));
  b.parentId = parent?.id ?? null;
  for (const x of subtree) {
    x.path = newPath + x.path.slice(oldPath.length);
    tx.budgetChanged(x);
  }
  return { ok: true, budget: viewBudget(b, tx.nowMs) };
}

/** A budget and all its descendants, breadth first (a loop, not recursion). */
export function subtreeOf(tx: Tx, root: BudgetRecord): BudgetRecord[] {
  const out = [root];
  for (let i = 0; i < out.length; i += 1) {
    const current = out[i];
    assert(current, 'subtree walk went out of bounds');
    out.push(...tx.childrenOf(current.id));
  }
  return out;
}
