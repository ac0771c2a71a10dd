import { hash } from 'node:crypto';
import { opsLimits } from './limits.js';

/**
 * Request fingerprints for loop detection: what a request asks, hashed, so that the same request
 * sent again and again (a retry storm, an agent that does not notice its step failed) is
 * recognised whatever varies from one call to the next. The ledger counts them per budget
 * (`Policy.loopLimit`).
 *
 * A model call's fingerprint covers the model (as priced, so an alias and its dated id are one)
 * and what the request says: `system`, `instructions`, `messages`, `input`, `prompt`,
 * `previous_response_id` and `tools`. Left out is everything that tunes, routes or labels the
 * answer, which a loop may vary without asking anything new: sampling (`temperature`, `top_p`,
 * `seed`, `n`, penalties), output caps (`max_tokens` and friends), `stream` and
 * `stream_options`, `user`, `metadata`, `store`, `service_tier`, `tool_choice`,
 * `response_format`, `reasoning`, and any other field. A tool's fingerprint covers the tool's
 * name and its params; a tool reserved without params has none (nothing says two calls are
 * the same). In a text, a run of whitespace counts as one space and leading and trailing
 * whitespace is dropped; the order of an object's keys does not matter.
 *
 * What it costs is bounded whatever the request's size: the value is walked once, without
 * recursion, up to `fingerprintNodesMax` values; a list longer than `fingerprintItemsMax` is read
 * by its first and last halves of that and its length; a text longer than
 * `fingerprintTextCharsMax` by its first and last halves (not normalised) and its length; and
 * once `fingerprintCharsHashedMax` characters of text are hashed, later texts count by their
 * length only. The canonical text this writes (at most about 64 KiB) is hashed once with
 * SHA-256: microseconds for a usual request, and a bounded cost for the largest, where a full
 * serialisation of a 4 MiB request with images would take milliseconds.
 */

/** The fields of a model request that say what it asks, in a fixed order. */
export const fingerprintFields = ['system', 'instructions', 'messages', 'input', 'prompt', 'previous_response_id', 'tools'] as const;

const whitespaceRun = /\s+/g;
/** Whether a text changes when normalised: a whitespace run, whitespace other than a space, or whitespace at either end. */
const unnormal = /\s\s|[^\S ]|^\s|\s$/;

/** One value to hash, with the object key it sits under (if any). */
interface Pending {
  value: unknown;
  key?: string;
}

/** What the walk has written (hashed in one piece at the end) and used of its bounds. */
interface Walk {
  out: string;
  nodes: number;
  chars: number;
}

/** Feeds one text: normalised when short, by its ends and length when long, by its length alone once the budget is spent. */
function writeText(walk: Walk, text: string): void {
  const max = opsLimits.fingerprintTextCharsMax;
  if (walk.chars >= opsLimits.fingerprintCharsHashedMax) {
    walk.out += `t#${text.length};`;
    return;
  }
  if (text.length <= max) {
    const normal = unnormal.test(text) ? text.replace(whitespaceRun, ' ').trim() : text;
    walk.chars += normal.length;
    walk.out += `t${normal.length}:${normal};`;
    return;
  }
  const ends = text.slice(0, max / 2) + text.slice(text.length - max / 2);
  walk.chars += ends.length;
  walk.out += `T${text.length}:${ends};`;
}

/** Pushes a list's items (its first and last halves of the bound when it is longer) so that they pop in order. */
function pushItems(stack: Pending[], items: readonly unknown[]): void {
  const half = opsLimits.fingerprintItemsMax / 2;
  const long = items.length > opsLimits.fingerprintItemsMax;
  for (let i = items.length - 1; i >= 0; i -= 1) {
    if (long && i >= half && i < items.length - half) continue;
    stack.push({ value: items[i] });
  }
}

/**
 * Sorts an object's keys in place as `sort()` does (by UTF-16 code units): insertion sort, since
 * a request's objects have a handful of keys and `sort()` allocates a work area for every call.
 */
function sortedInPlace(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i += 1) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j -= 1) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

/** A JSON value as one canonical text, walked depth first with an explicit stack, within the bounds. */
function canonicalText(root: unknown): string {
  const stack: Pending[] = [{ value: root }];
  const walk: Walk = { out: '', nodes: 0, chars: 0 };
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    walk.nodes += 1;
    if (walk.nodes > opsLimits.fingerprintNodesMax) return `${walk.out}…${stack.length + 1};`;
    if (item.key !== undefined) walk.out += `k${item.key.length}:${item.key};`;
    const v = item.value;
    if (typeof v === 'string') writeText(walk, v);
    else if (Array.isArray(v)) {
      walk.out += `[${v.length};`;
      pushItems(stack, v);
    } else if (typeof v === 'object' && v !== null) {
      const keys = sortedInPlace(Object.keys(v));
      walk.out += `{${keys.length};`;
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const key = keys[i] ?? '';
        stack.push({ value: (v as Record<string, unknown>)[key], key });
      }
    } else walk.out += `${typeof v}:${String(v)};`;
  }
  return walk.out;
}

/**
 * The fingerprint of `value` (any JSON) under a kind and a name: 16 characters of base64url.
 *
 * @example
 * fingerprintOf('tool', 'WebFetch', { url: 'https://example.com' }) // 'r1V…' (16 characters)
 */
export function fingerprintOf(kind: 'call' | 'tool', name: string, value: unknown): string {
  const text = `${kind}\n${name}\n${canonicalText(value)}`;
  // One-shot hashing: no Hash object to build for a few hundred bytes.
  return hash('sha256', text, 'base64url').slice(0, opsLimits.fingerprintChars);
}

/**
 * A model call's fingerprint: the model and the fields of the request that say what it asks.
 *
 * @example
 * callFingerprint('gpt-4o-mini', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], user: 'u1' })
 */
export function callFingerprint(model: string, body: Record<string, unknown>): string {
  return fingerprintOf('call', model, fingerprintFields.map((field) => body[field] ?? null));
}

/**
 * A tool call's fingerprint, from its name and params; undefined without params.
 *
 * @example
 * toolFingerprint('WebFetch', { url: 'https://example.com' }) // 16 characters
 * toolFingerprint('WebFetch', undefined) // undefined
 */
export function toolFingerprint(tool: string, params: Record<string, unknown> | undefined): string | undefined {
  return params === undefined ? undefined : fingerprintOf('tool', tool, params);
}
