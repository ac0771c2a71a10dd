import { memo } from 'preact/compat';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AgentActivity, Budget } from '../api.js';
import { EditBudgetDialog, setPaused } from '../budget-dialogs.js';
import { formatMoney, formatTokens } from '../money.js';
import type { Settings } from '../settings.js';
import { arrows, costTrend, levelOf, type Level } from '../trend.js';
import { Bar, ErrorText, Money, splitPath, StatusBadge, TimeAgo, useLive, useLiveModel, useSettings } from '../ui.js';

/**
 * One card per agent: tokens and cost this session and this period, cost per request with its
 * trend over the last 10 requests, a colour by session spend, the last request, status, a bar
 * to the limit, and (for an admin) pause/resume and the limit. Only the cards in view are in
 * the page (rows are windowed), so hundreds of agents scroll and update cheaply.
 */

/** Card heights: with the admin's buttons, and without (a viewer). */
const cardHeightPx = { admin: 224, viewer: 188 } as const;
const gapPx = 12;
const columnWidthMinPx = 300;
/** Rows drawn above and below the visible ones, so a quick scroll shows no blank. */
const overscanRows = 2;
/** Relative times on cards move on in steps this long, so an unchanged card is not redrawn in between. */
const tickMs = 5_000;

type SortKey = 'name' | 'period' | 'session' | 'recent' | 'used' | 'cost_per_request';

const sorts: { key: SortKey; label: string }[] = [
  { key: 'name', label: 'Path' },
  { key: 'period', label: 'Spend this period' },
  { key: 'session', label: 'Spend this session' },
  { key: 'recent', label: 'Last request' },
  { key: 'used', label: 'Share of limit' },
  { key: 'cost_per_request', label: 'Cost per request' },
];

const periodHeading: Record<Budget['period'], string> = { none: 'In all', hour: 'This hour', day: 'Today', week: 'This week', month: 'This month' };

interface Row {
  budget: Budget;
  activity: AgentActivity | undefined;
  level: Level;
  averageMicros: number;
}

/** Session spend picks the colour; an agent whose calls carry no session is coloured by its period spend. */
function levelMicros(r: Pick<Row, 'budget' | 'activity'>): number {
  return r.activity?.session?.cost_micros ?? r.budget.spent_micros;
}

function compare(key: SortKey): (a: Row, b: Row) => number {
  const byName = (a: Row, b: Row) => (a.budget.path < b.budget.path ? -1 : a.budget.path > b.budget.path ? 1 : 0);
  const desc = (f: (r: Row) => number) => (a: Row, b: Row) => f(b) - f(a) || byName(a, b);
  switch (key) {
    case 'name':
      return byName;
    case 'period':
      return desc((r) => r.budget.spent_micros);
    case 'session':
      return desc((r) => r.activity?.session?.cost_micros ?? -1);
    case 'recent':
      return desc((r) => (r.activity?.last_request_at ? Date.parse(r.activity.last_request_at) : 0));
    case 'used':
      return desc((r) => r.budget.used_pct ?? -1);
    case 'cost_per_request':
      return desc((r) => r.averageMicros);
  }
}

interface Filters {
  q: string;
  status: string;
  level: string;
  sort: SortKey;
}

/** Rows by budget object: an agent whose budget and activity did not change keeps its row, so its card is not redrawn. */
const rowCache = new WeakMap<Budget, Row>();

function rowOf(budget: Budget, a: AgentActivity | undefined, settings: Settings): Row {
  const level = levelOf(levelMicros({ budget, activity: a }), settings);
  const cached = rowCache.get(budget);
  if (cached && cached.activity === a && cached.level === level) return cached;
  const row: Row = { budget, activity: a, level, averageMicros: costTrend(a?.recent_costs_micros ?? []).averageMicros };
  rowCache.set(budget, row);
  return row;
}

function rowsOf(budgets: Iterable<Budget>, activity: ReadonlyMap<string, AgentActivity>, settings: Settings, f: Filters): { rows: Row[]; total: number } {
  const q = f.q.trim().toLowerCase();
  const rows: Row[] = [];
  let total = 0;
  for (const budget of budgets) {
    if (budget.kind !== 'agent') continue;
    total += 1;
    const row = rowOf(budget, activity.get(budget.path), settings);
    if (q !== '' && !budget.path.toLowerCase().includes(q)) continue;
    if (f.status !== '' && budget.status !== f.status) continue;
    if (f.level !== '' && row.level !== f.level) continue;
    rows.push(row);
  }
  return { rows: rows.sort(compare(f.sort)), total };
}

function CostPerRequest({ activity, settings }: { activity: AgentActivity | undefined; settings: Settings }) {
  const trend = costTrend(activity?.recent_costs_micros ?? []);
  if (trend.requests === 0) return <span class="muted">no requests yet</span>;
  const average = formatMoney(trend.averageMicros, settings.unit);
  const tip = `Avg cost/request: ${average} (last ${trend.requests} request${trend.requests === 1 ? '' : 's'})`;
  const high = trend.averageMicros > settings.requestHighMicros;
  return (
    <span class={`cpr ${high ? 'cpr-high' : ''}`} title={tip} aria-label={`cost per request ${average}, trend ${trend.direction}. ${tip}`} tabIndex={0} data-trend={trend.direction}>
      {average}
      <span class={`arrow arrow-${trend.direction}`} aria-hidden="true">
        {' '}
        {arrows[trend.direction]}
      </span>
    </span>
  );
}

function CardActions({ budget }: { budget: Budget }) {
  const live = useLiveModel();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [editing, setEditing] = useState(false);
  const paused = budget.status === 'paused';
  async function toggle() {
    setBusy(true);
    setError(await setPaused(live, budget.path, !paused));
    setBusy(false);
  }
  if (budget.status === 'closed') return null;
  return (
    <div class="card-actions">
      <button type="button" class={paused ? 'primary' : ''} disabled={busy} onClick={() => void toggle()} aria-label={`${paused ? 'Resume' : 'Pause'} ${budget.path}`}>
        {paused ? 'Resume' : 'Pause'}
      </button>
      <button type="button" onClick={() => setEditing(true)} aria-label={`Change the limit of ${budget.path}`}>
        Change limit
      </button>
      <ErrorText message={error} />
      {editing && <EditBudgetDialog budget={budget} full={false} onClose={() => setEditing(false)} />}
    </div>
  );
}

const AgentCard = memo(function AgentCard({ row, nowMs, admin, settings }: { row: Row; nowMs: number; admin: boolean; settings: Settings }) {
  const { budget: b, activity: a } = row;
  const { name, parent } = splitPath(b.path);
  const session = a?.session;
  const periodTokens = (a?.period.tokens_in ?? 0) + (a?.period.tokens_out ?? 0);
  return (
    <article class={`agent-card level-${row.level}`} aria-label={`agent ${b.path}`} data-path={b.path} data-level={row.level}>
      <header>
        <div class="agent-title">
          <h3 title={b.path}>{name}</h3>
          <span class="muted path">{parent}</span>
        </div>
        <StatusBadge status={b.status} />
      </header>
      <table class="agent-figures">
        <thead>
          <tr>
            <td />
            <th scope="col" title={session ? `session ${session.id}` : 'the last call carried no x-bursar-session label'}>
              This session
            </th>
            <th scope="col">{periodHeading[b.period]}</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">Tokens</th>
            <td data-testid="session-tokens">{session ? formatTokens(session.tokens_in + session.tokens_out) : '—'}</td>
            <td data-testid="period-tokens">{formatTokens(periodTokens)}</td>
          </tr>
          <tr>
            <th scope="row">Cost</th>
            <td data-testid="session-cost">{session ? <Money micros={session.cost_micros} class={`level-text-${row.level}`} /> : '—'}</td>
            <td data-testid="period-cost"><Money micros={b.spent_micros} /></td>
          </tr>
        </tbody>
      </table>
      <div class="agent-line">
        <span>
          <span class="muted">Cost/request </span>
          <CostPerRequest activity={a} settings={settings} />
        </span>
        <span>
          <span class="muted">Last </span>
          <TimeAgo iso={a?.last_request_at ?? null} nowMs={nowMs} />
        </span>
      </div>
      <Bar budget={b} compact />
      <div class="agent-limit muted">
        {b.limit_micros === null ? 'no limit' : <>{b.used_pct ?? 0}% of <Money micros={b.limit_micros + b.granted_micros} /> {b.period === 'none' ? '' : `per ${b.period}`}</>}
        {b.reserved_micros > 0 && <> · <Money micros={b.reserved_micros} /> reserved</>}
      </div>
      {admin && <CardActions budget={b} />}
    </article>
  );
});

/** Rows of cards, only those in view (plus a margin) in the page. */
function CardGrid({ rows, nowMs, admin, settings }: { rows: Row[]; nowMs: number; admin: boolean; settings: Settings }) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800, width: 1200 });
  const measure = () => {
    const el = box.current;
    if (el) setView({ top: el.scrollTop, height: el.clientHeight, width: el.clientWidth });
  };
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    measure();
    const resize = new ResizeObserver(measure);
    resize.observe(el);
    el.addEventListener('scroll', measure, { passive: true });
    return () => {
      resize.disconnect();
      el.removeEventListener('scroll', measure);
    };
  }, []);
  const columns = Math.max(1, Math.floor((view.width + gapPx) / (columnWidthMinPx + gapPx)));
  const rowCount = Math.ceil(rows.length / columns);
  const heightPx = admin ? cardHeightPx.admin : cardHeightPx.viewer;
  const rowPx = heightPx + gapPx;
  // A shorter list (a filter) moves the scroll position up without a scroll event: read it again.
  useLayoutEffect(measure, [rowCount]);
  const top = Math.min(view.top, Math.max(0, rowCount * rowPx - view.height));
  const first = Math.max(0, Math.floor(top / rowPx) - overscanRows);
  const last = Math.min(rowCount, Math.ceil((top + view.height) / rowPx) + overscanRows);
  const shown = rows.slice(first * columns, last * columns);
  return (
    <div class="card-scroll" ref={box} data-testid="agent-grid" style={{ height: `${rowCount * rowPx}px` }}>
      <div class="card-space" style={{ height: `${rowCount * rowPx}px` }}>
        <div class="card-grid" style={{ transform: `translateY(${first * rowPx}px)`, gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`, gridAutoRows: `${heightPx}px` }}>
          {shown.map((r) => (
            <AgentCard key={r.budget.path} row={r} nowMs={nowMs} admin={admin} settings={settings} />
          ))}
        </div>
      </div>
    </div>
  );
}

function Toolbar({ filters, set, shown, total }: { filters: Filters; set: (f: Filters) => void; shown: number; total: number }) {
  return (
    <div class="toolbar" role="search">
      <label>
        Filter
        <input type="search" name="q" placeholder="name or path" value={filters.q} onInput={(e) => set({ ...filters, q: e.currentTarget.value })} />
      </label>
      <label>
        Status
        <select name="status" value={filters.status} onChange={(e) => set({ ...filters, status: e.currentTarget.value })}>
          <option value="">all</option>
          <option value="active">active</option>
          <option value="paused">paused</option>
          <option value="closed">closed</option>
        </select>
      </label>
      <label>
        Level
        <select name="level" value={filters.level} onChange={(e) => set({ ...filters, level: e.currentTarget.value })}>
          <option value="">all</option>
          <option value="green">green</option>
          <option value="yellow">yellow</option>
          <option value="red">red</option>
        </select>
      </label>
      <label>
        Sort by
        <select name="sort" value={filters.sort} onChange={(e) => set({ ...filters, sort: e.currentTarget.value as SortKey })}>
          {sorts.map((s) => (
            <option value={s.key}>{s.label}</option>
          ))}
        </select>
      </label>
      <output class="count" aria-live="polite" data-testid="agent-count">
        {shown === total ? `${total} agent${total === 1 ? '' : 's'}` : `${shown} of ${total} agents`}
      </output>
    </div>
  );
}

export function AgentsPage({ params }: { params: URLSearchParams }) {
  const live = useLive();
  const settings = useSettings();
  const [filters, setFilters] = useState<Filters>({ q: params.get('q') ?? '', status: '', level: '', sort: 'name' });
  const { rows, total } = useMemo(() => rowsOf(live.budgets.values(), live.activity, settings, filters), [live.version, settings, filters]);
  return (
    <div class="page agents">
      <h1 class="visually-hidden">Agents</h1>
      <Toolbar filters={filters} set={setFilters} shown={rows.length} total={total} />
      {total === 0 ? (
        <p class="empty">No agents yet. Create one with <code>bursar agents create acme/research/bot --budget-limit 5.00 --parents</code>.</p>
      ) : (
        <CardGrid rows={rows} nowMs={Math.floor(live.nowMs() / tickMs) * tickMs} admin={live.role === 'admin'} settings={settings} />
      )}
      <p class="legend muted">
        Colour by session spend: green below {formatMoney(settings.yellowMicros, settings.unit)}, yellow up to {formatMoney(settings.redMicros, settings.unit)}, red above (Settings to change). Cost per request is flagged above{' '}
        {formatMoney(settings.requestHighMicros, settings.unit)}.
      </p>
    </div>
  );
}
