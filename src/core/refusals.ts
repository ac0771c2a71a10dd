import { tokenIdPattern } from './token-secret.js';

/**
 * Refusals as Bursar records them: not ledger entries (a refusal moves no money), but rows of
 * their own that say who was refused what, where and how often.
 */

/** One row of the refusals table: a run of refusals with the same code, budget and agent. */
export interface RefusalRecord {
  id: number;
  firstMs: number;
  lastMs: number;
  /** Refusals the row stands for (first at `firstMs`, latest at `lastMs`). */
  count: number;
  code: string;
  /** The HTTP status the refusal was answered with. */
  status: number;
  /** The budget that refused, or the one the spend was for when no budget refused (an unpriced model). */
  budget: string | null;
  /** The budget the spend was for without its token envelopes: usually the agent. */
  agent: string | null;
  /** The first characters of the spend token's id (never its secret). */
  tokenIdPrefix: string | null;
  model: string | null;
  tool: string | null;
  /** What was asked for (the worst case of a call, a tool's estimate), when it was known. */
  amountMicros: number | null;
  /** The latest refusal's message, as the caller got it. */
  message: string;
  /** The latest refusal's request id. */
  requestId: string | null;
  /** Where it was refused: the gateway or API route. */
  route: string | null;
}

/** A row to write: `id` null inserts it; an id rewrites that row's count, times and latest details. */
export type RefusalWrite = Omit<RefusalRecord, 'id'> & { id: number | null };

/**
 * The budget spend on `path` is for: the path without the token envelopes at its end (their
 * names are token ids). For a token's envelope that is the agent (or whatever budget the token
 * was minted under).
 *
 * @example
 * agentOfSpend('acme/research/bot/tok_AbCdEfGhIjKl/tok_MnOpQrStUvWx') // 'acme/research/bot'
 */
export function agentOfSpend(path: string): string {
  const names = path.split('/');
  while (names.length > 1 && tokenIdPattern.test(names[names.length - 1] ?? '')) names.pop();
  return names.join('/');
}
