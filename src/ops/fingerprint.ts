import { createHash } from 'node:crypto';
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
 * the same). Whitespace is normalised: a run of spaces, tabs or newlines is one space, and a
 * text's leading and trailing whitespace is dropped. Objects are read in the order the client
 * wrote their keys (an SDK writes one request the same way every time).
 *
 * What it costs: one `JSON.stringify` of those fields (native, and the gateway's tokenizer reads
 * all of them anyway), then at most `fingerprintCharsHashedMax` characters normalised by two
 * regular expressions and hashed with SHA-256: a few microseconds for a usual request, and a
 * bounded cost for the largest (their first and last 32 KiB and their length).
 */

/** The fields of a model request that say what it asks, in a fixed order. */
export const fingerprintFields = ['system', 'instructions', 'messages', 'input', 'prompt', 'previous_response_id', 'tools'] as const;

/** A run of whitespace, literal or as a JSON escape (`\n`, `\r`, `\t`). */
const whitespaceRun = /(?:\s|\\[nrt])+/g;
/** The one space left at either end of a text once runs are collapsed. */
const spaceAtQuote = /" | "/g;

/**
 * The fingerprint of `value` (any JSON) under a kind and a name: 16 characters of base64url.
 *
 * @example
 * fingerprintOf('tool', 'WebFetch', { url: 'https://example.com' }) // 'r1V…' (16 characters)
 */
export function fingerprintOf(kind: 'call' | 'tool', name: string, value: unknown): string {
  let text = JSON.stringify(value) ?? 'null';
  const chars = text.length;
  const max = opsLimits.fingerprintCharsHashedMax;
  if (chars > max) text = text.slice(0, max / 2) + text.slice(chars - max / 2);
  const normalised = text.replace(whitespaceRun, ' ').replace(spaceAtQuote, '"');
  const hash = createHash('sha256').update(`${kind}\n${name}\n${chars > max ? chars : ''}\n`).update(normalised);
  return hash.digest('base64url').slice(0, opsLimits.fingerprintChars);
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
