import { limits } from './limits.js';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/**
 * Names of model, tag and provider budgets may also hold ":" and "@" (`model:gpt-4o*`,
 * `product:chat-bot`) and end in "*" (a model glob). Paths that address them accept these.
 */
const scopedNamePattern = /^[A-Za-z0-9][A-Za-z0-9._:@-]*\*?$/;

/** Why `name` cannot name a budget, or undefined when it can. With `scoped`, the wider names of model, tag and provider budgets pass. */
export function nameProblem(name: string, scoped = false): string | undefined {
  if (name.length === 0) return 'a budget name cannot be empty';
  if (name.includes('/')) return `budget name "${name}" contains "/"; use a path to address nested budgets`;
  if (Buffer.byteLength(name) > limits.nameBytesMax) return `budget name "${name.slice(0, 20)}…" is longer than ${limits.nameBytesMax} bytes`;
  if (namePattern.test(name) || (scoped && scopedNamePattern.test(name))) return undefined;
  if (!scoped && scopedNamePattern.test(name)) return `budget name "${name}" may use only letters, digits, ".", "_" and "-" (":", "@" and "*" are for model, tag and provider budgets)`;
  return `budget name "${name}" may use only letters, digits, ".", "_" and "-", and must start with a letter or digit`;
}

/** Splits a path into names, or explains what is wrong with it. Names of model, tag and provider budgets pass. */
export function parsePath(path: unknown): { names: string[] } | { problem: string } {
  if (typeof path !== 'string' || path.length === 0) return { problem: 'a budget path is required, like "acme/research/agent"' };
  const names = path.split('/');
  if (names.length > limits.pathDepthMax) return { problem: `budget path is deeper than ${limits.pathDepthMax} levels` };
  for (const name of names) {
    const problem = nameProblem(name, true);
    if (problem) return { problem: `in path "${path}": ${problem}` };
  }
  return { names };
}

/** The path of the parent, or null for a root. */
export function parentPath(path: string): string | null {
  const at = path.lastIndexOf('/');
  return at < 0 ? null : path.slice(0, at);
}

/** Every prefix of a path, root first: `a/b/c` → `a`, `a/b`, `a/b/c`. */
export function pathPrefixes(path: string): string[] {
  const names = path.split('/');
  return names.map((_, i) => names.slice(0, i + 1).join('/'));
}

/** A call's tag (`x-bursar-tags`): `product:chat-bot`, `customer:42`, `urgent`. */
export const tagPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** A provider's name, as the price catalog has it: `openai`, `anthropic`. */
export const providerPattern = /^[a-z0-9][a-z0-9._-]{0,31}$/;
