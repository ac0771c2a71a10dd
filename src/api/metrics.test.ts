import { describe, expect, it } from 'vitest';
import { apiLimits } from './limits.js';
import { Metrics } from './metrics.js';

describe('Metrics', () => {
  it('counts gateway calls by route and code, and times upstream and reservation latency', () => {
    // Proves observeCall: requests, refusals (status 4xx/5xx only), and both histograms in seconds.
    const m = new Metrics({ nowMs: () => 1_700_000_000_000 });
    m.observeCall({ route: '/v1/messages', status: 200, code: 'ok', upstreamMs: 300, reserveMs: 2 });
    m.observeCall({ route: '/v1/messages', status: 402, code: 'budget_exceeded' });
    const text = m.render();
    expect(text).toContain('bursar_requests_total{surface="gateway",route="/v1/messages",code="ok"} 1');
    expect(text).toContain('bursar_refusals_total{surface="gateway",route="/v1/messages",code="budget_exceeded"} 1');
    expect(text).not.toContain('bursar_refusals_total{surface="gateway",route="/v1/messages",code="ok"}');
    expect(text).toContain('bursar_upstream_duration_seconds_bucket{route="/v1/messages",le="0.25"} 0');
    expect(text).toContain('bursar_upstream_duration_seconds_bucket{route="/v1/messages",le="0.5"} 1');
    expect(text).toContain('bursar_upstream_duration_seconds_sum{route="/v1/messages"} 0.3');
    expect(text).toContain('bursar_reserve_duration_seconds_bucket{le="0.0025"} 1');
    expect(text).toContain('bursar_process_start_time_seconds 1700000000');
  });

  it('keeps label values from fixed sets and caps the number of series', () => {
    // Proves no input can grow metrics without bound: odd values become "other", and past the cap new series fold into one.
    const m = new Metrics();
    m.observeApi('/api/x"y\nz', 400, 'Bad Code!');
    for (let i = 0; i < apiLimits.metricSeriesMax + 50; i += 1) m.observeApi(`/api/r${i}`, 200, 'ok');
    const lines = m.render().split('\n').filter((l) => l.startsWith('bursar_requests_total'));
    expect(lines).toContain('bursar_requests_total{surface="api",route="other",code="other"} 1');
    // 999 more series fit under the cap; the remaining 51 requests share one overflow series.
    expect(lines).toContain('bursar_requests_total{surface="other",route="other",code="other"} 51');
    expect(lines.length).toBe(apiLimits.metricSeriesMax + 1);
  });
});
