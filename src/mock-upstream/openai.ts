import type { CallPlan } from './plan.js';
import { contentFrame, frame, type OutEvent } from './sse.js';

/*
 * OpenAI wire shapes, as the API reference documents them and the official `openai` SDK parses
 * them: Chat Completions (objects and `chat.completion.chunk` streams ending in `data: [DONE]`),
 * the Responses API (typed `response.*` events with sequence numbers), embeddings and models.
 */

function chatUsage(plan: CallPlan): Record<string, unknown> {
  const completion = plan.reportedOutputTokens * plan.call.choices;
  const promptDetails: Record<string, number> = { cached_tokens: plan.cachedTokens, audio_tokens: 0 };
  if (plan.cacheWriteTokens > 0) promptDetails.cache_write_tokens = plan.cacheWriteTokens;
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: completion,
    total_tokens: plan.promptTokens + completion,
    prompt_tokens_details: promptDetails,
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function chatBase(plan: CallPlan, object: string): Record<string, unknown> {
  return { id: `chatcmpl-mock${plan.seq}`, object, created: plan.createdS, model: plan.call.model, service_tier: 'default', system_fingerprint: 'fp_mock' };
}

const finishReason = (plan: CallPlan) => (plan.capped ? 'length' : 'stop');

/**
 * A `chat.completion` object: one choice per `n`, usage with cached (and, when set,
 * cache-write) prompt tokens.
 *
 * @example
 * chatJson(plan).usage // { prompt_tokens: 12, completion_tokens: 16, total_tokens: 28, … }
 */
export function chatJson(plan: CallPlan): Record<string, unknown> {
  const choices = Array.from({ length: plan.call.choices }, (_, index) => ({
    index,
    message: { role: 'assistant', content: plan.text, refusal: null, annotations: [] },
    logprobs: null,
    finish_reason: finishReason(plan),
  }));
  const body: Record<string, unknown> = { ...chatBase(plan, 'chat.completion'), choices };
  if (plan.usage) body.usage = chatUsage(plan);
  return body;
}

/**
 * A Chat Completions stream: a role chunk, content chunks, a finish chunk per choice, then, only
 * when the request set `stream_options.include_usage`, a chunk with empty `choices` and the usage
 * (every earlier chunk then carries `"usage": null`, as OpenAI sends it), then `data: [DONE]`.
 *
 * @example
 * chatEvents(plan).at(-1)?.text // 'data: [DONE]\n\n'
 */
export function chatEvents(plan: CallPlan): OutEvent[] {
  const base = { ...chatBase(plan, 'chat.completion.chunk'), ...(plan.call.includeUsage ? { usage: null } : {}) };
  const indexes = Array.from({ length: plan.call.choices }, (_, index) => index);
  const chunk = (index: number, delta: Record<string, unknown>, finish: string | null) => ({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: finish }] });
  const events: OutEvent[] = indexes.map((index) => frame(chunk(index, { role: 'assistant', content: '', refusal: null }, null)));
  for (const piece of plan.pieces) {
    for (const index of indexes) events.push(contentFrame(chunk(index, { content: piece }, null)));
  }
  for (const index of indexes) events.push(frame(chunk(index, {}, finishReason(plan))));
  if (plan.call.includeUsage && plan.usage) events.push(frame({ ...base, choices: [], usage: chatUsage(plan) }));
  events.push(frame('[DONE]'));
  return events;
}

function responsesUsage(plan: CallPlan): Record<string, unknown> {
  return {
    input_tokens: plan.promptTokens,
    input_tokens_details: { cached_tokens: plan.cachedTokens, cache_write_tokens: plan.cacheWriteTokens },
    output_tokens: plan.reportedOutputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: plan.promptTokens + plan.reportedOutputTokens,
  };
}

type ResponseStatus = 'in_progress' | 'completed' | 'incomplete';

const finalStatus = (plan: CallPlan): ResponseStatus => (plan.capped ? 'incomplete' : 'completed');
const itemId = (plan: CallPlan) => `msg_mock${plan.seq}`;
const textPart = (text: string) => ({ type: 'output_text', annotations: [], logprobs: [], text });

function messageItem(plan: CallPlan, status: ResponseStatus, text: string | null): Record<string, unknown> {
  return { id: itemId(plan), type: 'message', status, role: 'assistant', content: text === null ? [] : [textPart(text)] };
}

function responseObject(plan: CallPlan, status: ResponseStatus, output: unknown[], withUsage: boolean): Record<string, unknown> {
  const body = plan.call.body;
  return {
    id: `resp_mock${plan.seq}`,
    object: 'response',
    created_at: plan.createdS,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: typeof body.instructions === 'string' ? body.instructions : null,
    max_output_tokens: plan.call.cap ?? null,
    metadata: {},
    model: plan.call.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: true,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: withUsage && plan.usage ? responsesUsage(plan) : null,
    user: null,
  };
}

/**
 * A Responses API `response` object with one output message and usage (input, cached and
 * cache-write input, output and reasoning tokens). `status` is `incomplete` when the output hit
 * `max_output_tokens`.
 *
 * @example
 * responsesJson(plan).usage // { input_tokens: 12, input_tokens_details: { cached_tokens: 0, … }, … }
 */
export function responsesJson(plan: CallPlan): Record<string, unknown> {
  const status = finalStatus(plan);
  const body = responseObject(plan, status, [messageItem(plan, status === 'completed' ? 'completed' : 'incomplete', plan.text)], true);
  if (!plan.usage) delete body.usage;
  return body;
}

/**
 * A Responses API stream: `response.created`, `response.in_progress`, the output item and
 * content part being added, `response.output_text.delta` per chunk, the matching `.done`
 * events, then `response.completed` (or `response.incomplete`) carrying the usage. Each event
 * has an `event:` line and a `sequence_number`.
 *
 * @example
 * responsesEvents(plan)[0]?.text.startsWith('event: response.created') // true
 */
export function responsesEvents(plan: CallPlan): OutEvent[] {
  let sequence = 0;
  const make = (type: string, fields: Record<string, unknown>, content = false): OutEvent => {
    const data = { type, sequence_number: sequence++, ...fields };
    return content ? contentFrame(data, type) : frame(data, type);
  };
  const status = finalStatus(plan);
  const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
  const at = { item_id: itemId(plan), output_index: 0, content_index: 0 };
  const events = [
    make('response.created', { response: responseObject(plan, 'in_progress', [], false) }),
    make('response.in_progress', { response: responseObject(plan, 'in_progress', [], false) }),
    make('response.output_item.added', { output_index: 0, item: messageItem(plan, 'in_progress', null) }),
    make('response.content_part.added', { ...at, part: textPart('') }),
  ];
  for (const piece of plan.pieces) events.push(make('response.output_text.delta', { ...at, delta: piece, logprobs: [] }, true));
  events.push(
    make('response.output_text.done', { ...at, text: plan.text, logprobs: [] }),
    make('response.content_part.done', { ...at, part: textPart(plan.text) }),
    make('response.output_item.done', { output_index: 0, item: messageItem(plan, itemStatus, plan.text) }),
    make(`response.${status}`, { response: responseObject(plan, status, [messageItem(plan, itemStatus, plan.text)], true) }),
  );
  return events;
}

/** A deterministic unit-ish vector for input `index`. */
function vector(index: number, dimensions: number): Float32Array {
  const values = new Float32Array(dimensions);
  for (let j = 0; j < dimensions; j += 1) values[j] = (((index + 1) * (j + 3)) % 17) / 17 - 0.5;
  return values;
}

/**
 * An embeddings list: one vector per input (base64-encoded float32 when the request asked, as
 * the `openai` SDK does by default), and usage `{ prompt_tokens, total_tokens }`.
 *
 * @example
 * embeddingsJson(plan).usage // { prompt_tokens: 5, total_tokens: 5 }
 */
export function embeddingsJson(plan: CallPlan): Record<string, unknown> {
  const spec = plan.call.embeddings ?? { count: 1, dimensions: 8, base64: false };
  const data = Array.from({ length: spec.count }, (_, index) => {
    const values = vector(index, spec.dimensions);
    const embedding = spec.base64 ? Buffer.from(values.buffer).toString('base64') : Array.from(values);
    return { object: 'embedding', index, embedding };
  });
  const body: Record<string, unknown> = { object: 'list', data, model: plan.call.model };
  if (plan.usage) body.usage = { prompt_tokens: plan.promptTokens, total_tokens: plan.promptTokens };
  return body;
}

/**
 * `GET /v1/models` in OpenAI's shape.
 *
 * @example
 * openaiModels(['gpt-4o-mini'], 1_700_000_000).data // [{ id: 'gpt-4o-mini', object: 'model', … }]
 */
export function openaiModels(models: readonly string[], createdS: number): Record<string, unknown> {
  const ownedBy = (id: string) => (id.startsWith('claude') ? 'anthropic' : 'openai');
  return { object: 'list', data: models.map((id) => ({ id, object: 'model', created: createdS, owned_by: ownedBy(id) })) };
}
