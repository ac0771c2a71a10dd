import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApi, type ApiServer } from './api-harness.js';

/** Sample lines of a Prometheus text exposition: `name{labels} value`. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

describe('health and metrics', () => {
  let s: ApiServer;
  beforeEach(async () => {
    s = await startApi();
  });
  afterEach(async () => s.close());

  it('answers /healthz always and /readyz only while the store answers', async () => {
    // Proves liveness and readiness: no key needed; readiness turns 503 store_unavailable when the store is gone.
    expect((await s.call('GET', '/healthz', { key: null })).status).toBe(200);
    expect((await s.call('GET', '/readyz', { key: null })).json).toEqual({ ok: true, status: 'ready', store: 'sqlite' });
    await s.store.close();
    const down = await s.call('GET', '/readyz', { key: null });
    expect(down.status).toBe(503);
    expect(down.json.error.code).toBe('store_unavailable');
    expect((await s.call('GET', '/healthz', { key: null })).status).toBe(200);
  });

  it('exposes well-formed Prometheus metrics for API requests, gateway calls, reservations and ledger entries', async () => {
    // Proves /metrics: valid exposition lines, requests and refusals by surface/route/code, entry counts, reserve latency.
    await s.call('POST', '/api/budgets', { body: { path: 'acme', limit_micros: 1_000 } });
    await s.call('POST', '/api/budgets', { body: { path: 'acme' } });
    await s.call('GET', '/api/budgets', { key: 'not-a-real-key-at-all' });
    await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const timed = s.metrics.timeReserve(s.store);
    const r = await timed.reserve({ path: 'acme', amountMicros: 10 });
    expect(r.ok).toBe(true);
    expect(timed.kind).toBe('sqlite');

    const res = await s.call('GET', '/metrics', { key: null });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = samples(res.text);
    expect(m.get('bursar_requests_total{surface="api",route="/api/budgets",code="ok"}')).toBe(1);
    expect(m.get('bursar_refusals_total{surface="api",route="/api/budgets",code="budget_exists"}')).toBe(1);
    expect(m.get('bursar_refusals_total{surface="api",route="/api/budgets",code="unauthorized"}')).toBe(1);
    expect(m.get('bursar_refusals_total{surface="gateway",route="/v1/chat/completions",code="token_invalid"}')).toBe(1);
    expect(m.get('bursar_ledger_entries_total{kind="budget_created"}')).toBe(1);
    expect(m.get('bursar_ledger_entries_total{kind="reserve"}')).toBe(1);
    expect(m.get('bursar_reserve_duration_seconds_count')).toBe(1);
    expect(m.get('bursar_reserve_duration_seconds_bucket{le="+Inf"}')).toBe(1);
    expect(res.text).toMatch(/^# TYPE bursar_upstream_duration_seconds histogram$/m);
  });

  it('never lets request input grow a metric label: unknown routes count as unmatched', async () => {
    // Proves bounded labels: thirty different unknown URLs add one series, not thirty.
    for (let i = 0; i < 30; i += 1) await s.call('GET', `/api/nothing-${i}`);
    const m = samples((await s.call('GET', '/metrics')).text);
    expect(m.get('bursar_requests_total{surface="api",route="unmatched",code="not_found"}')).toBe(30);
    expect([...m.keys()].some((k) => k.includes('nothing-'))).toBe(false);
  });
});
