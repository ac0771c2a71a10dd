import { useMemo } from 'preact/hooks';
import { minuteMs } from '../activity.js';
import type { Budget, Entry } from '../api.js';
import { Chart } from '../chart.js';
import { forecast } from '../forecast.js';
import { formatDuration, formatTime } from '../format.js';
import { useReload } from '../hooks.js';
import type { Live } from '../live.js';
import { formatMoney } from '../money.js';
import { Bar, Money, Panel, StatusBadge, TimeAgo, useLive, useSettings } from '../ui.js';

/**
 * The control room's first page: each org's spend this period against its limit with a
 * forecast, the burn rate now, the last 24 hours, the top spenders, budgets past an alert
 * threshold, refusals, and the latest notable ledger entries.
 */

const alertThresholdsDefault = [50, 75, 90, 100];
const topSpendersMax = 8;

function ForecastText({ budget, burnPerHour, nowMs }: { budget: Budget; burnPerHour: number; nowMs: number }) {
  const f = forecast(budget, burnPerHour, nowMs);
  switch (f.kind) {
    case 'unlimited':
      return <span class="muted">no limit</span>;
    case 'exhausted':
      return <span class="text-red">limit reached: new calls are refused</span>;
    case 'idle':
      return <span class="muted">no spend in the last hour</span>;
    case 'outlasts':
      return <span class="text-green">lasts the period at this rate (ends {formatTime(new Date(f.periodEndMs).toISOString())})</span>;
    case 'runs_out':
      return (
        <span class={f.inMs < 3_600_000 ? 'text-red' : 'text-yellow'}>
          runs out in {formatDuration(f.inMs)} at this rate ({formatTime(new Date(f.atMs).toISOString())})
        </span>
      );
  }
}

function OrgCard({ budget, live }: { budget: Budget; live: Live }) {
  const nowMs = live.nowMs();
  const burnPerHour = live.burn.series(budget.path, nowMs).reduce((a, b) => a + b, 0);
  return (
    <article class="org-card" aria-label={`org ${budget.path}`}>
      <header>
        <h3>{budget.name}</h3>
        <StatusBadge status={budget.status} />
      </header>
      <p class="big-number">
        <Money micros={budget.spent_micros} />
        <span class="of">
          {budget.limit_micros === null ? ' spent, no limit' : <> of <Money micros={budget.limit_micros + budget.granted_micros} /></>} this {budget.period === 'none' ? 'budget' : budget.period}
        </span>
      </p>
      <Bar budget={budget} />
      <dl class="facts">
        <div>
          <dt>Reserved</dt>
          <dd><Money micros={budget.reserved_micros} /></dd>
        </div>
        <div>
          <dt>Remaining</dt>
          <dd><Money micros={budget.remaining_micros} /></dd>
        </div>
        <div>
          <dt>Last hour</dt>
          <dd><Money micros={burnPerHour} /></dd>
        </div>
      </dl>
      <p class="forecast">
        <ForecastText budget={budget} burnPerHour={burnPerHour} nowMs={nowMs} />
      </p>
    </article>
  );
}

function BurnPanel({ live }: { live: Live }) {
  const { unit } = useSettings();
  const nowMs = live.nowMs();
  const series = live.burn.series(undefined, nowMs);
  const lastFive = series.slice(-5).reduce((a, b) => a + b, 0);
  const perHour = series.reduce((a, b) => a + b, 0);
  const firstMs = (Math.floor(nowMs / minuteMs) - series.length + 1) * minuteMs;
  const times = series.map((_, i) => firstMs + i * minuteMs);
  return (
    <Panel title="Burn rate" class="burn">
      <div class="burn-figures">
        <div>
          <span class="big-number" data-testid="burn-per-minute"><Money micros={Math.floor(lastFive / 5)} /></span>
          <span class="unit-label">per minute (last 5 min)</span>
        </div>
        <div>
          <span class="big-number" data-testid="burn-per-hour"><Money micros={perHour} /></span>
          <span class="unit-label">per hour (last 60 min)</span>
        </div>
      </div>
      <Chart kind="line" height={96} times={times} values={series} format={(m) => formatMoney(m, unit)} label={`spend per minute over the last hour, ${formatMoney(perHour, unit)} in all`} />
    </Panel>
  );
}

function HourlyPanel({ live }: { live: Live }) {
  const { unit } = useSettings();
  const hourMs = 3_600_000;
  const usage = useReload(
    () => live.api.get<{ rows: { key: string | null; cost_micros: number }[] }>(`/api/usage?group_by=hour&since=${new Date(Math.floor(live.nowMs() / hourMs) * hourMs - 23 * hourMs).toISOString()}`),
    live.ledgerVersion,
    15_000,
    'hourly',
  );
  const firstMs = Math.floor(live.nowMs() / hourMs) * hourMs - 23 * hourMs;
  const times = Array.from({ length: 24 }, (_, i) => firstMs + i * hourMs);
  const values = times.map((t) => usage.data?.rows.find((r) => r.key !== null && Date.parse(r.key) === t)?.cost_micros ?? 0);
  return (
    <Panel title="Last 24 hours" class="hourly">
      <Chart kind="bars" axes height={150} times={times} values={values} format={(m) => formatMoney(m, unit)} label="spend per hour over the last 24 hours" />
    </Panel>
  );
}

function TopSpenders({ live }: { live: Live }) {
  const agents = useMemo(
    () => [...live.budgets.values()].filter((b) => b.kind === 'agent' && b.spent_micros > 0).sort((a, b) => b.spent_micros - a.spent_micros).slice(0, topSpendersMax),
    [live.budgetsVersion],
  );
  return (
    <Panel title="Top spenders this period">
      {agents.length === 0 ? (
        <p class="empty">No agent has spent anything this period.</p>
      ) : (
        <ol class="spenders">
          {agents.map((b) => (
            <li key={b.path}>
              <a href={`#/agents?q=${encodeURIComponent(b.path)}`}>{b.path}</a>
              <Money micros={b.spent_micros} class="amount" />
              <Bar budget={b} compact />
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}

function thresholdsOf(b: Budget, budgets: ReadonlyMap<string, Budget>): number[] {
  // A child inherits its nearest ancestor's thresholds when it sets none.
  for (let at: string | undefined = b.path; at !== undefined; at = at.includes('/') ? at.slice(0, at.lastIndexOf('/')) : undefined) {
    const own = budgets.get(at)?.policy.alert_thresholds_pct;
    if (own && own.length > 0) return own;
  }
  return alertThresholdsDefault;
}

function AlertsPanel({ live }: { live: Live }) {
  const over = useMemo(() => {
    const rows: { budget: Budget; threshold: number }[] = [];
    for (const b of live.budgets.values()) {
      if (b.used_pct === null || b.kind === 'envelope') continue;
      const crossed = thresholdsOf(b, live.budgets).filter((t) => b.used_pct !== null && b.used_pct >= t);
      if (crossed.length > 0) rows.push({ budget: b, threshold: Math.max(...crossed) });
    }
    return rows.sort((a, b) => (b.budget.used_pct ?? 0) - (a.budget.used_pct ?? 0)).slice(0, 20);
  }, [live.budgetsVersion]);
  const alerts = live.notices.filter((n) => n.kind === 'alert');
  return (
    <Panel title="Alerts">
      {over.length === 0 && alerts.length === 0 && <p class="empty">No budget has reached an alert threshold.</p>}
      <ul class="alerts">
        {alerts.map((n) => (
          <li class="alert-item">
            <span class="badge badge-alert">{n.code}</span> {n.budget && <strong>{n.budget}</strong>} {n.message} <span class="muted">{formatTime(n.ts)}</span>
          </li>
        ))}
        {over.map(({ budget, threshold }) => (
          <li key={budget.path} class={`alert-item ${threshold >= 100 ? 'alert-red' : threshold >= 90 ? 'alert-yellow' : ''}`}>
            <strong>{budget.path}</strong> at {budget.used_pct}% of its limit <span class="muted">(threshold {threshold}%)</span>
          </li>
        ))}
      </ul>
    </Panel>
  );
}

/** Gateway refusals by code since the server started, from its Prometheus counters. */
function refusalCounts(metrics: string): { code: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const m of metrics.matchAll(/^bursar_refusals_total\{([^}]*)\} (\d+)/gm)) {
    const labels = m[1] ?? '';
    if (!labels.includes('surface="gateway"')) continue;
    const code = /code="([^"]*)"/.exec(labels)?.[1] ?? 'other';
    counts.set(code, (counts.get(code) ?? 0) + Number(m[2]));
  }
  return [...counts].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count);
}

function RefusalsPanel({ live }: { live: Live }) {
  const metrics = useReload(async () => {
    const res = await fetch('/metrics', { cache: 'no-store' });
    return res.ok ? res.text() : '';
  }, Math.floor(live.version / 4), 10_000, 'metrics');
  const counts = refusalCounts(metrics.data ?? '');
  const refusals = live.notices.filter((n) => n.kind === 'refusal');
  return (
    <Panel title="Refusals">
      {counts.length === 0 && refusals.length === 0 ? (
        <p class="empty">No call has been refused since the server started.</p>
      ) : (
        <table class="table compact">
          <caption class="muted">Gateway calls refused since the server started, by code</caption>
          <tbody>
            {counts.map((c) => (
              <tr key={c.code}>
                <td><code>{c.code}</code></td>
                <td class="num">{c.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {refusals.length > 0 && (
        <ul class="alerts">
          {refusals.slice(0, 20).map((n) => (
            <li class="alert-item">
              <code>{n.code}</code>{n.count > 1 && <span class="muted"> ×{n.count}</span>} {n.budget && <strong>{n.budget}</strong>} {n.message} <span class="muted">{formatTime(n.ts)}</span>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

const feedVerbs: Record<string, string> = {
  pause: 'paused',
  resume: 'resumed',
  close: 'closed',
  overrun: 'overran its reservation by',
  expire: 'let a reservation expire:',
  limit_change: 'limit changed to',
  policy_change: 'policy changed',
  grant: 'topped up by',
  token_minted: 'token minted, max',
  token_revoked: 'token revoked',
  budget_created: 'created',
  budget_moved: 'moved',
  alert: 'reached an alert threshold:',
  breaker_tripped: 'crossed a burn limit; its breaker tripped at',
  breaker_closed: 'breaker closed',
};

const withAmount = new Set(['overrun', 'expire', 'limit_change', 'grant', 'token_minted', 'alert', 'breaker_tripped']);

function FeedItem({ e, nowMs }: { e: Entry; nowMs: number }) {
  return (
    <li class={`feed-item feed-${e.kind}`}>
      <TimeAgo iso={e.ts} nowMs={nowMs} />
      <span>
        <strong>{e.budget}</strong> {feedVerbs[e.kind] ?? e.kind} {withAmount.has(e.kind) && <Money micros={e.amount_micros} />}
        {e.actor && <span class="muted"> by {e.actor}</span>}
        {e.reason && <span class="muted"> ({e.reason})</span>}
      </span>
    </li>
  );
}

export function OverviewPage() {
  const live = useLive();
  const roots = useMemo(() => [...live.budgets.values()].filter((b) => b.parent_id === null && b.kind !== 'tag' && b.kind !== 'provider').sort((a, b) => (a.path < b.path ? -1 : 1)), [live.budgetsVersion]);
  const nowMs = live.nowMs();
  return (
    <div class="page overview">
      <h1 class="visually-hidden">Overview</h1>
      <section class="orgs" aria-label="Spend this period">
        {roots.length === 0 ? <p class="empty">No budgets yet. Create one with <code>bursar budgets create</code> or POST /api/budgets.</p> : roots.map((b) => <OrgCard key={b.path} budget={b} live={live} />)}
      </section>
      <div class="grid-2">
        <BurnPanel live={live} />
        <HourlyPanel live={live} />
      </div>
      <div class="grid-3">
        <TopSpenders live={live} />
        <AlertsPanel live={live} />
        <RefusalsPanel live={live} />
      </div>
      <Panel title="Latest changes">
        {live.feed.length === 0 ? (
          <p class="empty">Nothing yet: pauses, limit changes, top-ups, overruns and tokens appear here as they happen.</p>
        ) : (
          <ul class="feed">
            {live.feed.slice(0, 15).map((e) => (
              <FeedItem key={e.seq} e={e} nowMs={nowMs} />
            ))}
          </ul>
        )}
      </Panel>
    </div>
  );
}
