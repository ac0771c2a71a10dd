import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/core/index.js';
import { generatedText, mockUpstreamLimits, type MockFault } from '../../src/mock-upstream/index.js';
import { countTokens } from '../../src/pricing/index.js';
import { eventually, expectedCost, useHarness, type Harness } from './harness.js';

/*
 * Every upstream fault on every generating route, streamed and not, one test each: the client
 * gets a sane error or the answer, the reservation is voided or settled at what was generated
 * (never $0 for generated text, never negative), and the server keeps serving. Faults that hang
 * go to a server with a short upstream timeout; the rest to one with room for a 20 MB answer.
 */

let patient: Harness;
let impatient: Harness;
// Every case asks the same question, so loop detection is off: faults are what is under test.
const agentPolicy = { inflightMax: 1_000, loopLimit: 'off' as const };
useHarness((started) => (patient = started), { upstreamTimeoutMs: 30_000, agentPolicy });
useHarness((started) => (impatient = started), { upstreamTimeoutMs: 3_000, agentPolicy });

const apis = ['chat', 'responses', 'messages'] as const;
type Api = (typeof apis)[number];
const modelOf: Record<Api, string> = { chat: 'gpt-4o-mini', responses: 'gpt-4o-mini', messages: 'claude-haiku-4-5' };
const capTokens = 40;
const generatedTokens = 24;

/** What the client saw: the reservation, the text it got, and the error it raised (if any). */
interface Seen {
  reservation: string;
  text: string;
  error?: { status: number | undefined; code: string | undefined; retryAfter: string | null | undefined };
}

type Answer = { answer: true } | { status?: number; code?: string; retryAfter?: boolean; partial?: boolean };
/** How the reservation must end: voided, or settled at the hold, at the reported usage, above it, or from the text. */
type Settled = 'void' | 'hold' | 'usage' | 'over' | 'text' | 'partial';

interface Row {
  fault: MockFault;
  proves: string;
  /** The provider never finishes: tested against the server with the short upstream timeout. */
  hangs?: boolean;
  client(stream: boolean): Answer;
  ledger(stream: boolean): Settled;
}

const rows: Row[] = [
  { fault: '500', proves: 'a provider 500 reaches the client and nothing is charged', client: () => ({ status: 500 }), ledger: () => 'void' },
  { fault: '429', proves: 'a provider 429 reaches the client with its retry-after and nothing is charged', client: () => ({ status: 429, retryAfter: true }), ledger: () => 'void' },
  { fault: 'timeout', hangs: true, proves: 'a provider that never answers is a 504 after the upstream timeout and nothing is charged', client: () => ({ status: 504, code: 'upstream_timeout' }), ledger: () => 'void' },
  {
    fault: 'stall',
    hangs: true,
    proves: 'a provider that stops halfway is cut at the upstream timeout and charged what it sent, or its hold when the body cannot be read',
    client: (stream) => (stream ? { code: 'upstream_timeout', partial: true } : { status: 504, code: 'upstream_timeout' }),
    ledger: (stream) => (stream ? 'partial' : 'hold'),
  },
  {
    fault: 'truncate',
    proves: 'a connection cut between events ends the stream with an error and is charged what was generated',
    client: (stream) => (stream ? { code: 'upstream_error', partial: true } : { status: 502, code: 'upstream_error' }),
    ledger: (stream) => (stream ? 'partial' : 'hold'),
  },
  {
    fault: 'cut-mid-chunk',
    proves: 'a connection cut inside an event ends the stream with an error and is charged what was generated',
    client: (stream) => (stream ? { code: 'upstream_error', partial: true } : { status: 502, code: 'upstream_error' }),
    ledger: (stream) => (stream ? 'partial' : 'hold'),
  },
  {
    fault: 'garbage',
    proves: 'an answer that is not the provider format is an error and charged at its hold, since what it cost cannot be read',
    client: (stream) => (stream ? { code: 'upstream_error' } : { status: 502, code: 'upstream_error' }),
    ledger: () => 'hold',
  },
  { fault: 'no-usage', proves: 'an answer without usage is priced from its text', client: () => ({ answer: true }), ledger: () => 'text' },
  {
    fault: 'huge-chunk',
    proves: 'a 20 MB chunk is relayed when it is a whole body, and ends a stream (charged at its hold) since no stream event is that large',
    client: (stream) => (stream ? { code: 'upstream_error' } : { answer: true }),
    ledger: (stream) => (stream ? 'hold' : 'usage'),
  },
  { fault: 'huge-usage', proves: 'usage beyond any request is settled at the reservation', client: () => ({ answer: true }), ledger: () => 'hold' },
  { fault: 'over-usage', proves: 'usage above the reservation is charged in full and recorded as an overrun', client: () => ({ answer: true }), ledger: () => 'over' },
  { fault: 'negative-usage', proves: 'negative usage is not believed: the answer is priced from its text', client: () => ({ answer: true }), ledger: () => 'text' },
  { fault: 'fractional-usage', proves: 'usage that is not a whole number is not believed: the answer is priced from its text', client: () => ({ answer: true }), ledger: () => 'text' },
];

function headersFor(fault: MockFault | undefined, tag: string): Record<string, string> {
  return { ...(fault ? { 'x-mock-fault': fault } : {}), 'x-mock-output-tokens': String(generatedTokens), 'x-mock-chunks': '6', 'x-mock-case': tag };
}

function errorOf(error: unknown): Seen['error'] & { reservation: string | null } {
  if (!(error instanceof OpenAI.APIError) && !(error instanceof Anthropic.APIError)) throw error;
  const { status, headers } = error as { status: number | undefined; headers: Headers | undefined };
  const body = error.error as { code?: unknown; error?: { code?: unknown } } | undefined;
  const code = (error as { code?: unknown }).code ?? body?.error?.code ?? body?.code;
  return { status, code: typeof code === 'string' ? code : undefined, retryAfter: headers?.get('retry-after'), reservation: headers?.get('x-bursar-reservation') ?? null };
}

/** Reads a stream to its end (or its error), gathering the text; the error is returned, not thrown. */
async function drain<T>(stream: AsyncIterable<T>, textOf: (event: T) => string | undefined): Promise<{ text: string; error?: unknown }> {
  let text = '';
  try {
    for await (const event of stream) text += textOf(event) ?? '';
    return { text };
  } catch (error) {
    return { text, error };
  }
}

async function streamed(h: Harness, api: Api, options: { headers: Record<string, string> }): Promise<{ reservation: string; text: string; error?: unknown }> {
  const model = modelOf[api];
  const content = `stream through a fault (${api})`;
  if (api === 'chat') {
    const { data, response } = await h.openai.chat.completions.create({ model, max_tokens: capTokens, stream: true, messages: [{ role: 'user', content }] }, options).withResponse();
    return { reservation: response.headers.get('x-bursar-reservation') ?? '', ...(await drain(data, (c) => c.choices[0]?.delta?.content ?? undefined)) };
  }
  if (api === 'responses') {
    const { data, response } = await h.openai.responses.create({ model, max_output_tokens: capTokens, stream: true, input: content }, options).withResponse();
    return { reservation: response.headers.get('x-bursar-reservation') ?? '', ...(await drain(data, (e) => (e.type === 'response.output_text.delta' ? e.delta : undefined))) };
  }
  const { data, response } = await h.anthropic.messages.create({ model, max_tokens: capTokens, stream: true, messages: [{ role: 'user', content }] }, options).withResponse();
  return { reservation: response.headers.get('x-bursar-reservation') ?? '', ...(await drain(data, (e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : undefined))) };
}

async function whole(h: Harness, api: Api, options: { headers: Record<string, string> }): Promise<{ reservation: string; text: string }> {
  const model = modelOf[api];
  const content = `answer through a fault (${api})`;
  if (api === 'chat') {
    const { data, response } = await h.openai.chat.completions.create({ model, max_tokens: capTokens, messages: [{ role: 'user', content }] }, options).withResponse();
    return { reservation: response.headers.get('x-bursar-reservation') ?? '', text: data.choices[0]?.message.content ?? '' };
  }
  if (api === 'responses') {
    const { data, response } = await h.openai.responses.create({ model, max_output_tokens: capTokens, input: content }, options).withResponse();
    return { reservation: response.headers.get('x-bursar-reservation') ?? '', text: data.output_text };
  }
  const { data, response } = await h.anthropic.messages.create({ model, max_tokens: capTokens, messages: [{ role: 'user', content }] }, options).withResponse();
  const block = data.content[0];
  return { reservation: response.headers.get('x-bursar-reservation') ?? '', text: block?.type === 'text' ? block.text : '' };
}

/** One call through the gateway with the fault, as the official SDK sees it. */
async function call(h: Harness, api: Api, stream: boolean, fault: MockFault | undefined, tag: string): Promise<Seen> {
  const options = { headers: headersFor(fault, tag) };
  try {
    if (!stream) return await whole(h, api, options);
    const got = await streamed(h, api, options);
    if (got.error === undefined) return { reservation: got.reservation, text: got.text };
    const { reservation: _ignored, ...error } = errorOf(got.error);
    return { reservation: got.reservation, text: got.text, error };
  } catch (thrown) {
    const { reservation, ...error } = errorOf(thrown);
    return { reservation: reservation ?? '', text: '', error };
  }
}

function expectAnswer(seen: Seen, expected: Answer): void {
  if ('answer' in expected) {
    expect(seen.error).toBeUndefined();
    expect(seen.text.length).toBeGreaterThan(0);
    return;
  }
  expect(seen.error).toBeDefined();
  if (expected.status !== undefined) expect(seen.error?.status).toBe(expected.status);
  if (expected.code !== undefined) expect(seen.error?.code).toBe(expected.code);
  if (expected.retryAfter) expect(seen.error?.retryAfter).toBe(String(mockUpstreamLimits.retryAfterS));
  if (expected.partial) expect(seen.text.length).toBeGreaterThan(0);
}

/** The reservation's reserve entry and its resolution, once written. */
async function resolutionOf(h: Harness, reservation: string): Promise<{ reserve: LedgerEntry; end: LedgerEntry; overrun: LedgerEntry | undefined }> {
  const seq = Number(reservation.slice(4));
  expect(seq).toBeGreaterThan(0);
  return eventually(async () => {
    const entries = (await h.entries(['reserve', 'settle', 'void', 'overrun'])).filter((e) => e.reservationSeq === seq);
    const reserve = entries.find((e) => e.kind === 'reserve');
    const end = entries.find((e) => e.kind === 'settle' || e.kind === 'void');
    return reserve && end ? { reserve, end, overrun: entries.find((e) => e.kind === 'overrun') } : undefined;
  });
}

async function expectSettled(h: Harness, api: Api, seen: Seen, expected: Settled, tag: string): Promise<void> {
  const { reserve, end, overrun } = await resolutionOf(h, seen.reservation);
  const model = modelOf[api];
  expect(end.amountMicros).toBeGreaterThanOrEqual(0);
  if (expected === 'void') return expect(end.kind).toBe('void');
  expect(end.kind).toBe('settle');
  expect(end.amountMicros).toBeGreaterThan(0);
  if (expected === 'hold') return expect(end.amountMicros).toBe(reserve.amountMicros);
  const upstream = h.server.mock?.requests.find((r) => r.headers['x-mock-case'] === tag);
  if (expected === 'usage') return expect(end.amountMicros).toBe(expectedCost(model, { inputTokens: upstream?.promptTokens ?? -1, outputTokens: upstream?.outputTokens ?? -1 }));
  if (expected === 'over') {
    const reported = 2 * capTokens + mockUpstreamLimits.overUsageExtraTokens;
    expect(end.amountMicros).toBe(expectedCost(model, { inputTokens: upstream?.promptTokens ?? -1, outputTokens: reported }));
    expect(end.amountMicros).toBeGreaterThan(reserve.amountMicros);
    return expect(overrun?.amountMicros).toBe(end.amountMicros - reserve.amountMicros);
  }
  // Priced from the text the client got: all of it ('text'), or what came before the cut ('partial').
  expect(end.tokensOut).toBe(countTokens(seen.text, model));
  if (expected === 'text') expect(seen.text).toBe(generatedText(generatedTokens));
  expect(end.amountMicros).toBe(expectedCost(model, { inputTokens: end.tokensIn ?? -1, outputTokens: end.tokensOut ?? -1 }));
  expect(end.amountMicros).toBeLessThanOrEqual(expected === 'partial' ? reserve.amountMicros : Number.MAX_SAFE_INTEGER);
}

let cases = 0;

describe.concurrent('upstream faults on every generating route', () => {
  for (const row of rows) {
    for (const api of apis) {
      for (const stream of [false, true]) {
        it(`${row.fault} on ${api}, ${stream ? 'streamed' : 'not streamed'}: ${row.proves}`, async () => {
          const h = row.hangs ? impatient : patient;
          const tag = `case-${(cases += 1)}`;
          const seen = await call(h, api, stream, row.fault, tag);
          expectAnswer(seen, row.client(stream));
          await expectSettled(h, api, seen, row.ledger(stream), tag);
          // The server keeps serving.
          const after = await call(h, api, stream, undefined, `${tag}-after`);
          expect(after.error).toBeUndefined();
          expect(after.text.length).toBeGreaterThan(0);
        });
      }
    }
  }
});
