import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { wireErrorOf, wireErrorOfThrown, type Failure, type FieldNames } from '../contract/index.js';
import { StoreUnavailableError } from '../store/index.js';

/**
 * Refusals at Bursar's MCP doors: as a tool error (a call Bursar refused) or as the details a
 * JSON-RPC error carries (a request refused at the HTTP door). Loads nothing of the MCP SDK.
 */

/** Where unexpected errors go: a line on stderr (stdout may be the MCP channel). */
export const stderrLog = (error: unknown) => process.stderr.write(`bursar mcp: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);

/** What a refusal carries besides its text: the code, the field, the refusing budget and what it has left. */
export function errorMeta(failure: Omit<Failure, 'ok'>, fields: FieldNames = {}): Record<string, unknown> {
  const e = wireErrorOf(failure, fields);
  return { code: e.code, message: e.message, field: e.field ?? null, budget: e.budget ?? null, remaining_micros: e.remainingMicros ?? null, retry_after_s: e.retryAfterS ?? null };
}

/**
 * A refusal as an MCP tool error: text an agent reads (`budget_exceeded: budget acme/bot has
 * $0.01 left; …`), and the details under `_meta["bursar/error"]`. It has no structured content,
 * since a client checks structured content against the tool's output schema even on an error.
 *
 * @example
 * toolError({ ok: false, code: 'budget_exceeded', message: '…', budget: 'acme/bot', remainingMicros: 10_000 })
 */
export function toolError(failure: Failure, fields?: FieldNames): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `${failure.code}: ${failure.message}` }], _meta: { 'bursar/error': errorMeta(failure, fields) } };
}

/** A thrown error as a refusal: the store down is `store_unavailable`; anything else `internal`, logged. */
export function thrownFailure(error: unknown, log: (error: unknown) => void, bodyBytesMax = 0): Failure {
  const e = wireErrorOfThrown(error, { bodyBytesMax, isStoreDown: (x) => x instanceof StoreUnavailableError, log });
  return { ok: false, code: e.code, message: e.message };
}

