import { limits } from './limits.js';
import { isMicros } from './money.js';
import { globMatches, modelPattern, routePolicyProblem, type BrownoutTier, type FallbackRule } from './route-policy.js';
import { expiryRules, type ExpiryRule } from './types.js';

export type { BrownoutTier, FallbackRule } from './route-policy.js';

/**
 * Spending policy of a budget. Every field is optional; a budget's effective policy is the
 * intersection of its own and all its ancestors', so a child can only narrow.
 */
export interface Policy {
  /** Models that may be used: exact ids, or a prefix ending in `*` (`claude-*`). */
  models?: string[];
  /** Largest single reservation. */
  requestCapMicros?: number;
  /** Most reservations that may be open at once on this budget and everything under it. */
  inflightMax?: number;
  /** Output tokens the gateway asks for when a request sets none. */
  maxOutputTokens?: number;
  /**
   * Percentages of the limit (plus grants) at which an alert is raised, once each per period,
   * when spent and, separately, spent + reserved reach them. Unset: the nearest ancestor's, else
   * `alertThresholdsPctDefault`.
   */
  alertThresholdsPct?: number[];
  /**
   * Rolling-window caps on what this budget and everything under it commit (reserved, then
   * settled): `{ amountMicros: 2_000_000, windowMs: 60_000 }` is 2 USD in any minute. Crossing
   * one trips the budget's breaker. Each budget enforces its own, so a child adds to its
   * parents' limits and never lifts one.
   */
  burnLimits?: BurnLimit[];
  /**
   * Loop detection: at most `repeats` reservations with one request fingerprint in `windowMs`
   * on this budget and everything under it; one more trips the budget's breaker. `off`: this
   * budget detects no loops of its own (an agent's default is 20 in 10 minutes). Each budget
   * enforces its own, so a child adds a tighter one and never lifts a parent's.
   */
  loopLimit?: LoopLimit | 'off';
  /**
   * What expiry does with a tool reservation's hold that was neither settled nor voided: charge
   * it (the default: a crashed agent may have run the tool) or release it. Calls the gateway
   * forwards are always charged. `charge` is the narrower rule.
   */
  onExpiry?: ExpiryRule;
  /**
   * Tags every call under this budget must carry (`x-bursar-tags`): a key (`product`, met by any
   * `product:…` tag) or a whole tag. Each level requires its own.
   */
  requiredTags?: string[];
  /**
   * Past `atPct` of this budget (spent + reserved against limit + grants), calls under it for
   * `from` are sent to `to` instead, decided in the reservation's own transaction.
   */
  brownout?: BrownoutTier[];
  /** When the budgets cannot take a call for `from`, it is tried with each of `to`, in order. */
  fallbacks?: FallbackRule[];
}

/** At most `amountMicros` committed in any `windowMs`. */
export interface BurnLimit {
  amountMicros: number;
  windowMs: number;
}

/** At most `repeats` reservations of one request fingerprint in any `windowMs`. */
export interface LoopLimit {
  repeats: number;
  windowMs: number;
}

/** What expiry does when no budget of the chain sets `onExpiry`. */
export const onExpiryDefault: ExpiryRule = 'charge';

export const alertThresholdsPctDefault = [50, 75, 90, 100];

/** Checks a policy's shape. Returns the name of the first bad field, or undefined. */
export function policyProblem(policy: Policy): { field: string; message: string } | undefined {
  if (policy.models !== undefined) {
    if (!Array.isArray(policy.models) || policy.models.length > limits.modelsPerPolicyMax) {
      return { field: 'models', message: `models must be a list of at most ${limits.modelsPerPolicyMax} model ids` };
    }
    const bad = policy.models.find((m) => typeof m !== 'string' || !modelPattern.test(m));
    if (bad !== undefined) return { field: 'models', message: `"${String(bad)}" is not a model id (letters, digits, . _ : @ / -, optional trailing *)` };
  }
  if (policy.requestCapMicros !== undefined && !(isMicros(policy.requestCapMicros) && policy.requestCapMicros > 0)) {
    return { field: 'requestCapMicros', message: 'the per-request cap must be a positive whole number of micros' };
  }
  for (const field of ['inflightMax', 'maxOutputTokens'] as const) {
    const value = policy[field];
    const max = field === 'inflightMax' ? limits.inflightMax : limits.tokensPerRequestMax;
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0 && value <= max)) {
      return { field, message: `${field} must be a whole number from 1 to ${max}` };
    }
  }
  const pcts = policy.alertThresholdsPct;
  if (pcts !== undefined) {
    if (!Array.isArray(pcts) || pcts.length > limits.alertThresholdsMax || pcts.some((p) => !Number.isInteger(p) || p < 1 || p > limits.alertThresholdPctMax)) {
      return { field: 'alertThresholdsPct', message: `alert thresholds must be at most ${limits.alertThresholdsMax} whole percentages from 1 to ${limits.alertThresholdPctMax}` };
    }
  }
  const burn = burnLimitsProblem(policy.burnLimits) ?? loopLimitProblem(policy.loopLimit);
  if (burn) return burn;
  if (policy.onExpiry !== undefined && !(expiryRules as readonly unknown[]).includes(policy.onExpiry)) {
    return { field: 'onExpiry', message: `onExpiry must be one of ${expiryRules.join(', ')}` };
  }
  return routePolicyProblem(policy);
}

function burnLimitsProblem(burn: unknown): { field: string; message: string } | undefined {
  if (burn === undefined) return undefined;
  if (!Array.isArray(burn) || burn.length > limits.burnLimitsPerPolicyMax) {
    return { field: 'burnLimits', message: `burnLimits must be a list of at most ${limits.burnLimitsPerPolicyMax} { amountMicros, windowMs } limits` };
  }
  const windows = new Set<number>();
  for (const [i, item] of burn.entries()) {
    const limit = item as Partial<BurnLimit> | null;
    if (typeof limit !== 'object' || limit === null || Array.isArray(limit)) return { field: `burnLimits.${i}`, message: 'a burn limit must be an object { amountMicros, windowMs }' };
    const extra = Object.keys(limit).find((k) => k !== 'amountMicros' && k !== 'windowMs');
    if (extra !== undefined) return { field: `burnLimits.${i}.${extra}`, message: `unknown burn limit field ${extra}; a burn limit has amountMicros and windowMs` };
    if (!(isMicros(limit.amountMicros) && limit.amountMicros > 0)) return { field: `burnLimits.${i}.amountMicros`, message: 'a burn limit\'s amount must be a positive whole number of micros' };
    const w = limit.windowMs;
    if (!(Number.isSafeInteger(w) && (w as number) >= limits.burnWindowMsMin && (w as number) <= limits.burnWindowMsMax)) {
      return { field: `burnLimits.${i}.windowMs`, message: `a burn limit's window must be a whole number of milliseconds from ${limits.burnWindowMsMin} (1 s) to ${limits.burnWindowMsMax} (7 days)` };
    }
    if (windows.has(w as number)) return { field: `burnLimits.${i}.windowMs`, message: `two burn limits share the window ${String(w)} ms; keep the tighter one` };
    windows.add(w as number);
  }
  return undefined;
}

function loopLimitProblem(loop: unknown): { field: string; message: string } | undefined {
  if (loop === undefined || loop === 'off') return undefined;
  const shape = 'loopLimit must be off or { repeats, windowMs }: at most repeats of one request in a window';
  if (typeof loop !== 'object' || loop === null || Array.isArray(loop)) return { field: 'loopLimit', message: shape };
  const extra = Object.keys(loop).find((k) => k !== 'repeats' && k !== 'windowMs');
  if (extra !== undefined) return { field: `loopLimit.${extra}`, message: `unknown loop limit field ${extra}; ${shape}` };
  const { repeats, windowMs } = loop as Partial<LoopLimit>;
  if (!(Number.isSafeInteger(repeats) && (repeats as number) >= 1 && (repeats as number) <= limits.loopRepeatsMax)) {
    return { field: 'loopLimit.repeats', message: `a loop limit's repeats must be a whole number from 1 to ${limits.loopRepeatsMax}` };
  }
  if (!(Number.isSafeInteger(windowMs) && (windowMs as number) >= limits.loopWindowMsMin && (windowMs as number) <= limits.loopWindowMsMax)) {
    return { field: 'loopLimit.windowMs', message: `a loop limit's window must be a whole number of milliseconds from ${limits.loopWindowMsMin} (1 s) to ${limits.loopWindowMsMax} (7 days)` };
  }
  return undefined;
}

/** True when `model` matches one of `patterns` (exact, or prefix ending in `*`). */
export function modelAllowed(patterns: readonly string[], model: string): boolean {
  return patterns.some((p) => globMatches(p, model));
}

/** True when every model that `child` allows is also allowed by `parent`. */
function patternWithin(parent: readonly string[], child: string): boolean {
  if (!child.endsWith('*')) return modelAllowed(parent, child);
  const prefix = child.slice(0, -1);
  return parent.some((p) => p.endsWith('*') && prefix.startsWith(p.slice(0, -1)));
}

/**
 * Combines policies from root to leaf into the policy that applies at the leaf: allowed models
 * intersect (a model must be allowed on every level), caps take their minimum, required tags add
 * up. Brownout tiers and fallbacks stay each budget's own (each is measured on its budget).
 */
export function effectivePolicy(chainRootFirst: readonly Policy[]): Policy {
  const out: Policy = {};
  const modelLists: string[][] = [];
  for (const p of chainRootFirst) {
    if (p.models) modelLists.push(p.models);
    out.requestCapMicros = minDefined(out.requestCapMicros, p.requestCapMicros);
    out.inflightMax = minDefined(out.inflightMax, p.inflightMax);
    out.maxOutputTokens = minDefined(out.maxOutputTokens, p.maxOutputTokens);
    if (p.alertThresholdsPct) out.alertThresholdsPct = p.alertThresholdsPct;
    if (p.burnLimits && p.burnLimits.length > 0) out.burnLimits = tightestBurn(out.burnLimits ?? [], p.burnLimits);
    if (p.loopLimit !== undefined && p.loopLimit !== 'off') out.loopLimit = tightestLoop(out.loopLimit, p.loopLimit);
    if (p.onExpiry !== undefined && out.onExpiry !== 'charge') out.onExpiry = p.onExpiry;
    if (p.requiredTags) out.requiredTags = [...new Set([...(out.requiredTags ?? []), ...p.requiredTags])];
  }
  if (modelLists.length > 0) {
    // The leaf-most list narrowed by every list above it.
    const leafMost = modelLists[modelLists.length - 1] ?? [];
    out.models = leafMost.filter((m) => modelLists.every((list) => patternWithin(list, m)));
  }
  for (const key of Object.keys(out) as (keyof Policy)[]) if (out[key] === undefined) delete out[key];
  return out;
}

/**
 * A cap as the effective policy has it (the least any level sets), without building the rest:
 * what the gateway reads on every call.
 *
 * @example
 * chainCap([{ maxOutputTokens: 500 }, {}, { maxOutputTokens: 2_000 }], 'maxOutputTokens') // 500
 */
export function chainCap(policies: readonly Policy[], cap: 'maxOutputTokens' | 'requestCapMicros' | 'inflightMax'): number | undefined {
  let out: number | undefined;
  for (const p of policies) out = minDefined(out, p[cap]);
  return out;
}

/** True when a model is allowed by every level of a chain's policies. */
export function modelAllowedOnChain(chainPolicies: readonly Policy[], model: string): Policy | undefined {
  return chainPolicies.find((p) => p.models !== undefined && !modelAllowed(p.models, model));
}

/**
 * The first field in which `child` would allow more than `parentEffective`, or undefined when
 * the child only narrows.
 */
export function widening(parentEffective: Policy, child: Policy): { field: string; message: string } | undefined {
  if (child.models && parentEffective.models) {
    const wide = child.models.find((m) => !patternWithin(parentEffective.models ?? [], m));
    if (wide !== undefined) return { field: 'models', message: `model "${wide}" is not allowed by the parent budget` };
  }
  if (child.onExpiry === 'release' && parentEffective.onExpiry === 'charge') {
    return { field: 'onExpiry', message: 'onExpiry release is wider than the parent\'s charge; a child can only narrow' };
  }
  const burn = burnWidening(parentEffective.burnLimits ?? [], child.burnLimits ?? []) ?? loopWidening(parentEffective.loopLimit, child.loopLimit);
  if (burn) return burn;
  for (const field of ['requestCapMicros', 'inflightMax', 'maxOutputTokens'] as const) {
    const parentValue = parentEffective[field];
    const childValue = child[field];
    if (parentValue !== undefined && childValue !== undefined && childValue > parentValue) {
      return { field, message: `${field} ${childValue} is above the parent's ${parentValue}; a child can only narrow` };
    }
  }
  return undefined;
}

/** Burn limits of two levels together: the lower amount where both cap the same window. */
function tightestBurn(above: readonly BurnLimit[], own: readonly BurnLimit[]): BurnLimit[] {
  const out = above.map((l) => ({ ...l }));
  for (const l of own) {
    const same = out.find((x) => x.windowMs === l.windowMs);
    if (!same) out.push({ ...l });
    else same.amountMicros = Math.min(same.amountMicros, l.amountMicros);
  }
  return out.sort((a, b) => a.windowMs - b.windowMs);
}

/** A child's burn limit above what its parents allow in the same window. */
function burnWidening(parent: readonly BurnLimit[], child: readonly BurnLimit[]): { field: string; message: string } | undefined {
  for (const [i, l] of child.entries()) {
    const cap = parent.find((p) => p.windowMs === l.windowMs);
    if (cap && l.amountMicros > cap.amountMicros) {
      return { field: `burnLimits.${i}.amountMicros`, message: `burn limit ${l.amountMicros} micros per ${l.windowMs} ms is above the parent's ${cap.amountMicros}; a child can only narrow` };
    }
  }
  return undefined;
}

/**
 * Loop limits of two levels together: at least as strict as each, the fewest repeats in the
 * longest window. Children may set only limits that narrow their parents', so along a chain
 * this is the leaf-most limit.
 */
function tightestLoop(above: Policy['loopLimit'], own: LoopLimit): LoopLimit {
  if (above === undefined || above === 'off') return { ...own };
  return { repeats: Math.min(above.repeats, own.repeats), windowMs: Math.max(above.windowMs, own.windowMs) };
}

/**
 * A child's loop limit that would let a loop through that the parent's catches: more repeats or
 * a shorter window. `off` only stops the child's own detection; the parents' still counts the
 * child's requests.
 */
function loopWidening(parent: Policy['loopLimit'], child: Policy['loopLimit']): { field: string; message: string } | undefined {
  if (parent === undefined || parent === 'off' || child === undefined || child === 'off') return undefined;
  const inWindow = `at most ${parent.repeats} repeats in at least ${parent.windowMs} ms`;
  if (child.repeats > parent.repeats) return { field: 'loopLimit.repeats', message: `loop limit of ${child.repeats} repeats is above the parent's ${parent.repeats}; a child can only narrow (${inWindow})` };
  if (child.windowMs < parent.windowMs) return { field: 'loopLimit.windowMs', message: `loop limit window of ${child.windowMs} ms is shorter than the parent's ${parent.windowMs} ms; a child can only narrow (${inWindow})` };
  return undefined;
}

/**
 * The loop limit a new agent gets when its policy sets none: the default, narrowed to what its
 * parents allow.
 */
export function agentLoopDefault(parentEffective: Policy): LoopLimit {
  return tightestLoop(parentEffective.loopLimit, limits.loopLimitAgentDefault);
}

/**
 * The burn limits a new agent gets when its policy sets none: the default, lowered to what its
 * parents allow in the same window.
 */
export function agentBurnDefault(parentEffective: Policy): BurnLimit[] {
  const d = limits.burnLimitAgentDefault;
  const cap = parentEffective.burnLimits?.find((p) => p.windowMs === d.windowMs);
  return [{ amountMicros: Math.min(d.amountMicros, cap?.amountMicros ?? Infinity), windowMs: d.windowMs }];
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
