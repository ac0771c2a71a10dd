import { limits } from './limits.js';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why `name` cannot name a budget, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a budget name cannot be empty';
  if (name.includes('/')) return `budget name "${name}" contains "/"; use a path to address nested budgets`;
  if (Buffer.byteLength(name) > limits.nameBytesMax) return `budget name "${name.slice(0, 20)}…" is longer than ${limits.nameBytesMax} bytes`;
  if (!namePattern.test(name)) return `budget name "${name}" may use only letters, digits, ".", "_" and "-", and must start with a letter or digit`;
  return undefined;
}

/** Splits a path into names, or explains what is wrong with it. */
export function parsePath(path: unknown): { names: string[] } | { problem: string } {
  if (typeof path !== 'string' || path.length === 0) return { problem: 'a budget path is required, like "acme/research/agent"' };
  const names = path.split('/');
  if (names.length > limits.pathDepthMax) return { problem: `budget path is deeper than ${limits.pathDepthMax} levels` };
  for (const name of names) {
    const problem = nameProblem(name);
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
