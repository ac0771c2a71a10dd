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
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
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
