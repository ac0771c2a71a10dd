import { limits } from './limits.js';
import { isMicros } from './money.js';
import { expiryRules, type ExpiryRule } from './types.js';

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
  /** Spent-percentage thresholds that raise alerts, once each per period. */
  alertThresholdsPct?: number[];
  /**
   * What expiry does with a tool reservation's hold that was neither settled nor voided: charge
   * it (the default: a crashed agent may have run the tool) or release it. Calls the gateway
   * forwards are always charged. `charge` is the narrower rule.
   */
  onExpiry?: ExpiryRule;
}

/** What expiry does when no budget of the chain sets `onExpiry`. */
export const onExpiryDefault: ExpiryRule = 'charge';

export const alertThresholdsPctDefault = [50, 75, 90, 100];

const modelPattern = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}\*?$|^\*$/;

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
    if (!Array.isArray(pcts) || pcts.length > limits.alertThresholdsMax || pcts.some((p) => !Number.isInteger(p) || p < 1 || p > 1000)) {
      return { field: 'alertThresholdsPct', message: `alert thresholds must be at most ${limits.alertThresholdsMax} whole percentages from 1 to 1000` };
    }
  }
  if (policy.onExpiry !== undefined && !(expiryRules as readonly unknown[]).includes(policy.onExpiry)) {
    return { field: 'onExpiry', message: `onExpiry must be one of ${expiryRules.join(', ')}` };
  }
  return undefined;
}

/** True when `model` matches one of `patterns` (exact, or prefix ending in `*`). */
export function modelAllowed(patterns: readonly string[], model: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? model.startsWith(p.slice(0, -1)) : p === model));
}

/** True when every model that `child` allows is also allowed by `parent`. */
function patternWithin(parent: readonly string[], child: string): boolean {
  if (!child.endsWith('*')) return modelAllowed(parent, child);
  const prefix = child.slice(0, -1);
  return parent.some((p) => p.endsWith('*') && prefix.startsWith(p.slice(0, -1)));
}

/**
 * Combines policies from root to leaf into the policy that applies at the leaf: allowed models
 * intersect (a model must be allowed on every level), caps take their minimum.
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
    if (p.onExpiry !== undefined && out.onExpiry !== 'charge') out.onExpiry = p.onExpiry;
  }
  if (modelLists.length > 0) {
    // The leaf-most list narrowed by every list above it.
    const leafMost = modelLists[modelLists.length - 1] ?? [];
    out.models = leafMost.filter((m) => modelLists.every((list) => patternWithin(list, m)));
  }
  for (const key of Object.keys(out) as (keyof Policy)[]) if (out[key] === undefined) delete out[key];
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
  for (const field of ['requestCapMicros', 'inflightMax', 'maxOutputTokens'] as const) {
    const parentValue = parentEffective[field];
    const childValue = child[field];
    if (parentValue !== undefined && childValue !== undefined && childValue > parentValue) {
      return { field, message: `${field} ${childValue} is above the parent's ${parentValue}; a child can only narrow` };
    }
  }
  return undefined;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
