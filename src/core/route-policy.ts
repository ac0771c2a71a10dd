import { limits } from './limits.js';
import { tagPattern } from './names.js';

/**
 * The routing parts of a budget's policy: brownout tiers (past a share of the budget, calls for
 * one model go to another), fallbacks (a call the budgets cannot take for one model tries the
 * next), and the tags every call must carry. Shapes and checks only; `routing.ts` applies them.
 */

/** At `atPct` percent of the budget's limit (plus grants) committed, calls for `from` are sent to `to`. */
export interface BrownoutTier {
  atPct: number;
  /** A model id, or a prefix ending in `*`. */
  from: string;
  /** The model id the call is sent to instead. */
  to: string;
}

/** When the budgets cannot take a call for `from`, it is tried with each of `to`, in order. */
export interface FallbackRule {
  from: string;
  to: string[];
}

/** A model id, or a prefix ending in `*` (`claude-*`), or `*`. */
export const modelPattern = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}\*?$|^\*$/;
/** An exact model id: what a call is sent to. */
const modelIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

/**
 * True when `model` matches `pattern`: the same id, or a prefix ending in `*`.
 *
 * @example
 * globMatches('gpt-4o*', 'gpt-4o-mini') // true
 */
export function globMatches(pattern: string, model: string): boolean {
  return pattern.endsWith('*') ? model.startsWith(pattern.slice(0, -1)) : pattern === model;
}

type Problem = { field: string; message: string };

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function extraKey(item: Record<string, unknown>, keys: readonly string[]): string | undefined {
  return Object.keys(item).find((k) => !keys.includes(k));
}

/** The first problem with a policy's routing fields, or undefined. */
export function routePolicyProblem(policy: { requiredTags?: unknown; brownout?: unknown; fallbacks?: unknown }): Problem | undefined {
  return requiredTagsProblem(policy.requiredTags) ?? brownoutProblem(policy.brownout) ?? fallbacksProblem(policy.fallbacks);
}

function requiredTagsProblem(tags: unknown): Problem | undefined {
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags) || tags.length > limits.requiredTagsMax) return { field: 'requiredTags', message: `requiredTags must be a list of at most ${limits.requiredTagsMax} tags or tag keys` };
  const bad = tags.findIndex((t) => typeof t !== 'string' || !tagPattern.test(t));
  if (bad >= 0) return { field: `requiredTags.${bad}`, message: `"${String(tags[bad])}" is not a tag (letters, digits, . _ : -; e.g. product or product:chat-bot)` };
  return undefined;
}

function brownoutProblem(tiers: unknown): Problem | undefined {
  if (tiers === undefined) return undefined;
  if (!Array.isArray(tiers) || tiers.length > limits.brownoutTiersMax) return { field: 'brownout', message: `brownout must be a list of at most ${limits.brownoutTiersMax} tiers { atPct, from, to }` };
  for (const [i, value] of tiers.entries()) {
    const tier = record(value);
    const at = `brownout.${i}`;
    if (!tier) return { field: at, message: 'a brownout tier is an object { atPct, from, to }' };
    const extra = extraKey(tier, ['atPct', 'from', 'to']);
    if (extra !== undefined) return { field: `${at}.${extra}`, message: `unknown brownout field ${extra}; a tier has atPct, from and to` };
    if (!(Number.isInteger(tier.atPct) && (tier.atPct as number) >= 1 && (tier.atPct as number) <= 100)) {
      return { field: `${at}.atPct`, message: `a brownout tier starts at a whole percentage of the budget from 1 to 100, got ${String(tier.atPct)}` };
    }
    if (typeof tier.from !== 'string' || !modelPattern.test(tier.from)) return { field: `${at}.from`, message: 'from must be a model id or a prefix ending in *' };
    if (typeof tier.to !== 'string' || !modelIdPattern.test(tier.to)) return { field: `${at}.to`, message: 'to must be a model id (no *)' };
  }
  const cycle = cycleIn((tiers as BrownoutTier[]).map((t) => ({ from: t.from, to: [t.to] })));
  return cycle && { field: 'brownout', message: `brownout tiers route in a cycle (${cycle.join(' → ')}); a tier must lead to a model no tier sends back` };
}

function fallbacksProblem(rules: unknown): Problem | undefined {
  if (rules === undefined) return undefined;
  if (!Array.isArray(rules) || rules.length > limits.fallbackRulesMax) return { field: 'fallbacks', message: `fallbacks must be a list of at most ${limits.fallbackRulesMax} rules { from, to }` };
  const froms = new Set<string>();
  for (const [i, value] of rules.entries()) {
    const rule = record(value);
    const at = `fallbacks.${i}`;
    if (!rule) return { field: at, message: 'a fallback rule is an object { from, to: [models] }' };
    const extra = extraKey(rule, ['from', 'to']);
    if (extra !== undefined) return { field: `${at}.${extra}`, message: `unknown fallback field ${extra}; a rule has from and to` };
    if (typeof rule.from !== 'string' || !modelPattern.test(rule.from)) return { field: `${at}.from`, message: 'from must be a model id or a prefix ending in *' };
    if (froms.has(rule.from)) return { field: `${at}.from`, message: `two fallback rules start from ${rule.from}; list every model in one rule` };
    froms.add(rule.from);
    const to = rule.to;
    if (!Array.isArray(to) || to.length === 0 || to.length > limits.fallbackModelsMax) return { field: `${at}.to`, message: `to must list 1 to ${limits.fallbackModelsMax} models, tried in order` };
    const bad = to.findIndex((m) => typeof m !== 'string' || !modelIdPattern.test(m));
    if (bad >= 0) return { field: `${at}.to.${bad}`, message: 'a fallback is a model id (no *)' };
  }
  const cycle = cycleIn(rules as FallbackRule[]);
  return cycle && { field: 'fallbacks', message: `fallbacks lead back to a model they start from (${cycle.join(' → ')}); a fallback must not fall back to where it came from` };
}

/**
 * A cycle among rules (each sends a matching model to its targets), as the models along it, or
 * undefined. A walk from each rule over a stack: at most rules × targets steps each.
 *
 * @example
 * cycleIn([{ from: 'a', to: ['b'] }, { from: 'b', to: ['a'] }]) // ['a', 'b', 'a']
 */
export function cycleIn(rules: readonly { from: string; to: readonly string[] }[]): string[] | undefined {
  for (let start = 0; start < rules.length; start += 1) {
    const first = rules[start];
    if (!first) continue;
    const seen = new Set<number>();
    const stack: { rule: number; path: string[] }[] = [{ rule: start, path: [first.from] }];
    while (stack.length > 0) {
      const { rule, path } = stack.pop() as { rule: number; path: string[] };
      for (const target of rules[rule]?.to ?? []) {
        for (let next = 0; next < rules.length; next += 1) {
          // A target its own rule matches again is sent to itself: no step, no cycle.
          if (next === rule || !globMatches(rules[next]?.from ?? '', target)) continue;
          if (next === start) return [...path, target];
          if (seen.has(next)) continue;
          seen.add(next);
          stack.push({ rule: next, path: [...path, target] });
        }
      }
    }
  }
  return undefined;
}

/**
 * Every model the brownout tiers and fallbacks of a chain's policies may send a call for `model`
 * to, followed hop by hop, `model` itself left out: what a caller prices before it reserves.
 *
 * @example
 * routeTargets([{ brownout: [{ atPct: 90, from: 'gpt-4o', to: 'gpt-4o-mini' }] }], 'gpt-4o') // ['gpt-4o-mini']
 */
export function routeTargets(policies: readonly { brownout?: readonly BrownoutTier[]; fallbacks?: readonly FallbackRule[] }[], model: string): string[] {
  const out: string[] = [];
  const max = limits.routeHopsMax * limits.fallbackModelsMax - 1;
  const add = (to: string) => {
    if (to !== model && !out.includes(to) && out.length < max) out.push(to);
  };
  for (let i = -1; i < out.length; i += 1) {
    const from = i < 0 ? model : (out[i] ?? '');
    for (const p of policies) {
      for (const t of p.brownout ?? []) if (globMatches(t.from, from)) add(t.to);
      for (const r of p.fallbacks ?? []) if (globMatches(r.from, from)) r.to.forEach(add);
    }
  }
  return out;
}
