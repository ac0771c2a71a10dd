import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverLimits } from '../../src/server/index.js';
import { startHarness, type Harness } from '../gateway/harness.js';
import { deepJson, flood, longConversation, subscribe, trickle } from '../support/abusers.js';

/*
 * A normal call still answers while the server is abused: idle connections trickling their
 * headers byte by byte, more event-stream subscribers than it takes, a body nested 100,000
 * levels deep, 40 MB bodies and a 10,000-message conversation, all at once. The counts are
 * scaled for a test (bench/abuse.ts runs the full-size version and prints the normal call's
 * latency): up to 2,000 trickling connections (fewer if the file limit is low), 300 subscribers
 * against the server's 256. The header timeout is shortened so the test sees it close them.
 */

const headersTimeoutMs = 1_000;
const subscribers = 300;
const abusiveBytes = 40 * 1024 * 1024;

/** Idle connections this process can hold (each takes a descriptor on both ends), at most 2,000. */
function idleConnections(): number {
  const soft = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  return Math.max(100, Math.min(2_000, Math.floor((Number(soft ?? 1_024) - 1_500) / 2)));
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ connections: { headersTimeoutMs, requestTimeoutMs: 2 * headersTimeoutMs, connectionsCheckingIntervalMs: 100 } });
});
afterAll(() => h.close());

async function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; code: string | null }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  await res.arrayBuffer();
  return { status: res.status, code: res.headers.get('x-bursar-code') };
}

describe('abuse', () => {
  it('answers a normal call while trickling connections, surplus subscribers, deep, huge and long bodies all arrive, and closes the trickling ones at the header timeout', { timeout: 60_000 }, async () => {
    // Proves no abuse of the transport or of the body takes the server down, starves a caller, or makes its memory grow without bound.
    const admin = String(h.server.generatedAdminKey);
    const token = { authorization: `Bearer ${h.secret}` };
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'warm up' }] });
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    const idle = idleConnections();
    const slow = await trickle(h.server.port, idle, { byteEveryMs: 200 });
    const subs = await Promise.all(Array.from({ length: subscribers }, () => subscribe(h.server.url, admin)));
    const deep = deepJson(100_000);
    const abuse = Promise.all([
      post(`${h.server.url}/v1/chat/completions`, token, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":${deep}}]}`),
      post(`${h.server.url}/v1/messages`, { 'x-api-key': h.secret }, `{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"metadata":${deep}}`),
      post(`${h.server.url}/api/preflight`, { authorization: `Bearer ${admin}` }, `{"items":${deep}}`),
      flood(`${h.server.url}/v1/chat/completions`, token, abusiveBytes, true),
      flood(`${h.server.url}/v1/chat/completions`, token, abusiveBytes, false),
      flood(`${h.server.url}/api/budgets`, { authorization: `Bearer ${admin}` }, abusiveBytes, false),
      post(`${h.server.url}/v1/chat/completions`, token, longConversation(10_000)),
    ]);
    // The normal calls, in the middle of it all.
    const normal = await h.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'still there?' }] });
    expect(normal.choices[0]?.message.content).toBeTruthy();
    const streamed = await h.anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'and streaming?' }] }).finalMessage();
    expect(streamed.content.length).toBeGreaterThan(0);

    const [deepChat, deepMessages, deepPlan, declared, chunked, adminFlood, long] = await abuse;
    expect([deepChat, deepMessages, deepPlan].map((r) => [r.status, r.code])).toEqual([[400, 'bad_request'], [400, 'bad_request'], [400, 'bad_request']]);
    for (const r of [declared, chunked, adminFlood]) expect([0, 413]).toContain(r.status);
    expect([declared.status, declared.code]).toEqual([413, 'payload_too_large']);
    expect(long.status).toBe(200);

    // The subscribers the server took got the normal calls' entries; the rest were told it is full.
    const accepted = subs.filter((s) => s.status === 200);
    expect(accepted.length).toBeGreaterThan(0);
    expect(subs.filter((s) => s.status !== 200).every((s) => s.status === 503 && s.code === 'too_many_streams')).toBe(true);
    await waitFor(() => accepted.every((s) => s.ledgerEvents > 0));
    // Every trickling connection is closed by the server once its headers are overdue.
    await waitFor(() => slow.closed() === idle, 30_000);
    expect(slow.answer()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*x-bursar-code: request_timeout/);
    slow.stop();
    clearInterval(sampler);
    for (const s of subs) s.res.destroy();
    console.log(JSON.stringify({ idle_connections: idle, subscribers, accepted: accepted.length, rss_before_mb: mb(rssBefore), rss_peak_mb: mb(rssPeak) }));
    // Nothing is buffered per abuser: 40 MB bodies and 2,000 connections cost far less than they weigh.
    expect(rssPeak - rssBefore).toBeLessThan(256 * 1024 * 1024);
    expect(accepted.length).toBeLessThanOrEqual(subscribers);
    expect(serverLimits.headersTimeoutMs).toBeLessThanOrEqual(30_000);
    expect((await h.openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'after' }] })).choices.length).toBe(1);
  });
});

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
