import { z } from 'zod';
import { countChatInputTokens, resolveModel, worstCaseMicros } from '../pricing/index.js';
import { Bursar, BursarError } from '../sdk/index.js';

/**
 * The demo's runaway agent: a market-research loop whose analysis never completes, so it asks
 * for the same dataset again and again through the official OpenAI SDK (plain fetch when the
 * optional `openai` package is not installed), several loops at once, until Bursar refuses it.
 */

/**
 * Bounds of the runaway, units last: it stops at whichever comes first.
 *
 * @example
 * if (state.calls >= runawayLimits.callsMax) stop();
 */
export const runawayLimits = {
  /** Loops at once: the agent's default in-flight cap. */
  workers: 4,
  callsMax: 2_000,
  durationMsMax: 20_000,
  /** Refusals in a row after which a loop gives up (a real runaway would retry for ever). */
  refusalsInARowMax: 10,
} as const;

/** What one call came to: admitted, refused with a code, or failed otherwise. */
export type CallOutcome = { ok: true } | { ok: false; status: number; code: string; budget: string | null; remainingMicros: number | null };

/** What the runaway did. */
export interface RunawayReport {
  calls: number;
  admitted: number;
  refused: number;
  /** Refusals by code. */
  codes: Record<string, number>;
  /** The first budget_exceeded refusal: the budget that stopped it and what it had left. */
  stoppedBy: { budget: string | null; remainingMicros: number | null } | null;
  elapsedMs: number;
  via: 'openai-sdk' | 'fetch';
}

export const runawayModel = 'gpt-4o';
const maxOutputTokens = 16_000;
/** The mock writes this many output tokens per answer (of the 16,000 asked for). */
const outputTokens = 12_000;

const dataset = Array.from({ length: 60 }, (_, i) => `competitor-${String(i + 1).padStart(3, '0')},q3,revenue ${(i * 37) % 900 + 100}k,growth ${(i * 7) % 40}%`).join('\n');

const request = {
  model: runawayModel,
  max_tokens: maxOutputTokens,
  messages: [
    { role: 'system' as const, content: 'You are a market research analyst. Return the complete dataset with your analysis.' },
    { role: 'user' as const, content: `TASK-0042 Competitor analysis. Fetch the full Q3 competitor dataset again and re-run the trend analysis:\n${dataset}` },
  ],
};

/**
 * What the gateway reserves for one runaway call: its worst case, the counted input plus every
 * output token it may ask for.
 *
 * @example
 * callWorstCaseMicros() // 162_533 ($0.16)
 */
export function callWorstCaseMicros(): number {
  const model = resolveModel(runawayModel);
  if (!model.ok) return 0;
  return worstCaseMicros(model.entry, { inputTokens: countChatInputTokens('chat', request, runawayModel).tokens, maxOutputTokens });
}

const mockHeaders = { 'x-mock-output-tokens': String(outputTokens) };

const RefusalBody = z.object({ error: z.object({ code: z.string().optional(), budget: z.string().nullable().optional(), remaining_micros: z.number().nullable().optional() }) });

function refusal(status: number, body: unknown): CallOutcome {
  const parsed = RefusalBody.safeParse(body);
  const e = parsed.success ? parsed.data.error : undefined;
  return { ok: false, status, code: e?.code ?? `http_${status}`, budget: e?.budget ?? null, remainingMicros: e?.remaining_micros ?? null };
}

/** One call through the official SDK: its typed errors carry the gateway's body. */
async function sdkCaller(bursar: Bursar): Promise<() => Promise<CallOutcome>> {
  const client = await bursar.openai({ maxRetries: 0 });
  return async () => {
    try {
      await client.chat.completions.create(request, { headers: mockHeaders });
      return { ok: true };
    } catch (error) {
      const e = error as { status?: unknown; error?: unknown };
      if (typeof e.status !== 'number') throw error;
      return refusal(e.status, { error: e.error });
    }
  };
}

/** The same call with fetch, for installs without the optional `openai` package. */
function fetchCaller(url: string, token: string, labels: Record<string, string>): () => Promise<CallOutcome> {
  return async () => {
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...labels, ...mockHeaders }, body: JSON.stringify(request) });
    const body: unknown = await res.json();
    return res.ok ? { ok: true } : refusal(res.status, body);
  };
}

interface RunState extends RunawayReport {
  deadlineMs: number;
}

async function loop(call: () => Promise<CallOutcome>, state: RunState): Promise<void> {
  let refusedInARow = 0;
  while (state.calls < runawayLimits.callsMax && Date.now() < state.deadlineMs && refusedInARow < runawayLimits.refusalsInARowMax) {
    state.calls += 1;
    const outcome = await call();
    if (outcome.ok) {
      state.admitted += 1;
      refusedInARow = 0;
      continue;
    }
    state.refused += 1;
    refusedInARow += 1;
    state.codes[outcome.code] = (state.codes[outcome.code] ?? 0) + 1;
    if (outcome.code === 'budget_exceeded') state.stoppedBy ??= { budget: outcome.budget, remainingMicros: outcome.remainingMicros };
  }
}

/**
 * Runs the runaway with a spend token until the budget stops it (or a bound is reached).
 *
 * @example
 * const report = await runRunaway({ url: server.url, token: minted.secret, session: 'weekend-runaway', task: 'TASK-0042' });
 * report.admitted // e.g. 406
 */
export async function runRunaway(o: { url: string; token: string; session: string; task: string }): Promise<RunawayReport> {
  const bursar = Bursar.remote({ url: o.url, token: o.token, session: o.session, task: o.task });
  let call: () => Promise<CallOutcome>;
  let via: RunawayReport['via'] = 'openai-sdk';
  try {
    call = await sdkCaller(bursar);
  } catch (error) {
    if (!(error instanceof BursarError && error.code === 'sdk_missing')) throw error;
    call = fetchCaller(o.url, o.token, { 'x-bursar-session': o.session, 'x-bursar-task': o.task });
    via = 'fetch';
  }
  const startedMs = Date.now();
  const state: RunState = { calls: 0, admitted: 0, refused: 0, codes: {}, stoppedBy: null, elapsedMs: 0, via, deadlineMs: startedMs + runawayLimits.durationMsMax };
  await Promise.all(Array.from({ length: runawayLimits.workers }, () => loop(call, state)));
  const { deadlineMs: _deadline, ...report } = state;
  return { ...report, elapsedMs: Date.now() - startedMs };
}

/**
 * One ordinary call from another agent's token: the rest of the org still works.
 *
 * @example
 * const ok = (await oneCall(server.url, reviewerToken)).ok;
 */
export async function oneCall(url: string, token: string): Promise<CallOutcome> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-bursar-session': 'code-review', 'x-mock-output-tokens': '200' },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 400, messages: [{ role: 'user', content: 'Review this diff: - retry() + retry(maxAttempts)' }] }),
  });
  const body: unknown = await res.json();
  return res.ok ? { ok: true } : refusal(res.status, body);
}
