/** One server-sent event to write, and whether it carries generated content (for pacing). */
export interface OutEvent {
  text: string;
  content: boolean;
}

/**
 * Formats one SSE event: an optional `event:` line (Anthropic and the Responses API send one,
 * Chat Completions does not) and a `data:` line, then the blank line that ends it.
 *
 * @example
 * sse({ a: 1 }, 'message_stop') // 'event: message_stop\ndata: {"a":1}\n\n'
 */
export function sse(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${payload}\n\n`;
}

/**
 * An event that is not content (start, stop, usage…).
 *
 * @example
 * frame('[DONE]').text // 'data: [DONE]\n\n'
 */
export function frame(data: unknown, event?: string): OutEvent {
  return { text: sse(data, event), content: false };
}

/**
 * An event carrying a piece of generated text: a stream is paced and cut on these.
 *
 * @example
 * contentFrame({ type: 'content_block_delta' }, 'content_block_delta').content // true
 */
export function contentFrame(data: unknown, event?: string): OutEvent {
  return { text: sse(data, event), content: true };
}
