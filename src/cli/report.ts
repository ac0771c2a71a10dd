import { firstEvent, formatUsd } from '../core/index.js';

/*
 * What every command writes, the server's included: chunks to a stream, money, and failures.
 * Nothing here loads the contract's schemas, so `bursar serve` starts without them.
 */

/** Where the CLI writes; tests and the server-side renderer can pass their own streams. */
export interface CliStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Writes a chunk and waits while the stream's buffer is full, so a long export never holds
 * more than one page in memory. Resolves false when the reader has gone (a closed pipe).
 *
 * @example
 * await writeChunk(process.stdout, 'seq,kind\n');
 */
export function writeChunk(stream: NodeJS.WritableStream, chunk: string): Promise<boolean> {
  const writable = stream as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
  if (writable.destroyed === true || writable.writableEnded === true) return Promise.resolve(false);
  if (stream.write(chunk)) return Promise.resolve(true);
  return firstEvent(stream, ['drain', 'close', 'error']).then((event) => event === 'drain');
}

/**
 * Money as people read it: `$1,234.50`, or `-` when there is no amount.
 *
 * @example
 * usd(5_000_000) // '$5.00'
 */
export function usd(micros: number | null): string {
  return micros === null ? '-' : formatUsd(micros);
}

/** A failed command as the CLI reports it: a stable code, a message, and where. */
export interface Failure {
  code: string;
  message: string;
  /** The budget that refused, when one did. */
  budget?: string;
  /** What that budget can still take, in micros. */
  remainingMicros?: number | null;
  field?: string;
}

/**
 * A failure as one line for stderr: `bursar: <code>: <message>`, plus what the refusing
 * budget has left when the refusal says.
 *
 * @example
 * failureLine({ code: 'budget_exceeded', message: 'over', budget: 'acme', remainingMicros: 0 })
 * // 'bursar: budget_exceeded: over (budget acme, remaining $0.00)'
 */
export function failureLine(f: Failure): string {
  const where: string[] = [];
  if (f.budget !== undefined && !f.message.includes(f.budget)) where.push(`budget ${f.budget}`);
  if (f.remainingMicros !== undefined) where.push(`remaining ${f.remainingMicros === null ? 'unlimited' : usd(f.remainingMicros)}`);
  const oneLine = f.message.replace(/\s*\n\s*/g, ' ');
  return `bursar: ${f.code}: ${oneLine}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
}

/**
 * A failure as the JSON object `--json` prints to stderr.
 *
 * @example
 * failureJson({ code: 'tree_cycle', message: 'cannot move' }) // { ok: false, code: 'tree_cycle', message: 'cannot move' }
 */
export function failureJson(f: Failure): Record<string, unknown> {
  const out: Record<string, unknown> = { ok: false, code: f.code, message: f.message };
  if (f.budget !== undefined) out.budget = f.budget;
  if (f.remainingMicros !== undefined) out.remaining_micros = f.remainingMicros;
  if (f.field !== undefined) out.field = f.field;
  return out;
}
