import { contractLimits } from './limits.js';
import { WireError } from './errors.js';

/**
 * True when JSON text nests objects and arrays deeper than `max`. Counted over the text, without
 * parsing and without recursion, so a body built to overflow a recursive reader is caught
 * before anything reads it.
 *
 * @example
 * nestsDeeper('[[[]]]', 2) // true
 * nestsDeeper('{"a":"[[[["}', 2) // false: brackets inside strings do not count
 */
export function nestsDeeper(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = closingQuote(text, i + 1);
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * Where the string whose text starts at `from` ends: the next quote not escaped (preceded by an
 * even number of backslashes), found with `indexOf` rather than character by character, since a
 * request's bytes are mostly the text of its messages. The text's end when it never closes.
 */
function closingQuote(text: string, from: number): number {
  for (let start = from; ; ) {
    const quote = text.indexOf('"', start);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (quote - backslashes - 1 >= from && text.charCodeAt(quote - backslashes - 1) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    start = quote + 1;
  }
}

/**
 * Parses a request body's JSON text, refusing (400 `bad_request`) text that nests deeper than
 * `contractLimits.jsonDepthMax` or is not JSON.
 *
 * @example
 * parseJsonText('{"model":"gpt-4o-mini"}') // { model: 'gpt-4o-mini' }
 * parseJsonText('{"a":') // throws WireError bad_request: the request body is not valid JSON: …
 */
export function parseJsonText(text: string): unknown {
  if (nestsDeeper(text, contractLimits.jsonDepthMax)) {
    throw new WireError('bad_request', `the request body nests objects and arrays more than ${contractLimits.jsonDepthMax} levels deep`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WireError('bad_request', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}
