import type { CallPlan } from './plan.js';
import { contentFrame, frame, type OutEvent } from './sse.js';

/*
 * Anthropic Messages wire shapes, as the API reference documents them and `@anthropic-ai/sdk`
 * parses them. Anthropic's `input_tokens` excludes cache reads and writes, which are reported
 * apart; the mock's prompt count is their sum.
 */

function usage(plan: CallPlan, outputTokens: number): Record<string, unknown> {
  return {
    input_tokens: plan.promptTokens - plan.cachedTokens - plan.cacheWriteTokens,
    cache_creation_input_tokens: plan.cacheWriteTokens,
    cache_read_input_tokens: plan.cachedTokens,
    cache_creation: { ephemeral_5m_input_tokens: plan.cacheWriteTokens, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function message(plan: CallPlan, done: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: `msg_mock${plan.seq}`,
    type: 'message',
    role: 'assistant',
    model: plan.call.model,
    content: done ? [{ type: 'text', text: plan.text }] : [],
    stop_reason: done ? stopReason(plan) : null,
    stop_sequence: null,
  };
  // message_start reports the input and a first output token, as the API does.
  if (plan.usage) body.usage = usage(plan, done ? plan.reportedOutputTokens : Math.min(1, plan.outputTokens));
  return body;
}

const stopReason = (plan: CallPlan) => (plan.capped ? 'max_tokens' : 'end_turn');

/**
 * A `message` object with one text block, `stop_reason` (`max_tokens` when capped) and usage
 * (`input_tokens`, `cache_creation_input_tokens`, `cache_read_input_tokens`, `output_tokens`).
 *
 * @example
 * messagesJson(plan).usage // { input_tokens: 9, cache_read_input_tokens: 0, output_tokens: 16, … }
 */
export function messagesJson(plan: CallPlan): Record<string, unknown> {
  return message(plan, true);
}

/**
 * A Messages stream with `event:` lines as Anthropic sends them: `message_start` (input usage),
 * `content_block_start`, `ping`, `content_block_delta` (`text_delta`) per chunk,
 * `content_block_stop`, `message_delta` (stop reason and cumulative usage) and `message_stop`.
 *
 * @example
 * messagesEvents(plan).at(-1)?.text // 'event: message_stop\ndata: {"type":"message_stop"}\n\n'
 */
export function messagesEvents(plan: CallPlan): OutEvent[] {
  const event = (type: string, fields: Record<string, unknown> = {}) => frame({ type, ...fields }, type);
  const events = [
    event('message_start', { message: message(plan, false) }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    event('ping'),
  ];
  for (const piece of plan.pieces) {
    events.push(contentFrame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } }, 'content_block_delta'));
  }
  const delta: Record<string, unknown> = { delta: { stop_reason: stopReason(plan), stop_sequence: null } };
  if (plan.usage) delta.usage = usage(plan, plan.reportedOutputTokens);
  events.push(event('content_block_stop', { index: 0 }), event('message_delta', delta), event('message_stop'));
  return events;
}

/**
 * `GET /v1/models` in Anthropic's shape (sent when the request has an `anthropic-version` header).
 *
 * @example
 * anthropicModels(['claude-haiku-4-5'], '2026-01-01T00:00:00Z').data // [{ type: 'model', id: 'claude-haiku-4-5', … }]
 */
export function anthropicModels(models: readonly string[], createdAt: string): Record<string, unknown> {
  const data = models.map((id) => ({ type: 'model', id, display_name: id, created_at: createdAt }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
