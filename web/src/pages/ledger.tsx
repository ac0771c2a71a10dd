import { useRef, useState } from 'preact/hooks';
import type { Api, Entry, Reservation } from '../api.js';
import { saveFile } from '../csv.js';
import { formatDuration, formatTime, formatTimeShort, localInputToIso } from '../format.js';
import { useReload } from '../hooks.js';
import { complete, fold, labelOf, lifeStatus, type Line, type ReservationLine } from '../ledger-lines.js';
import { formatTokens } from '../money.js';
import { ErrorText, Money, Panel, useLive, useLiveModel } from '../ui.js';

/**
 * The ledger explorer: filter by budget, agent, session, task, model, kind and time; page with
 * the API's cursors; export every matching entry as CSV; and read a reservation's whole life
 * (reserve → settle, void or expire) on one line.
 */

const kinds = ['reserve', 'settle', 'void', 'expire', 'late_charge', 'overrun', 'grant', 'limit_change', 'policy_change', 'period_change', 'period_reset', 'pause', 'resume', 'close', 'budget_created', 'budget_moved', 'token_minted', 'token_revoked'] as const;
const pageSize = 50;
/** Reservations of one page whose missing part is read from the API, at most. */
const lookupsMax = 20;

interface Filters {
  budget: string;
  agent: string;
  session: string;
  task: string;
  model: string;
  kinds: string[];
  since: string;
  until: string;
}

const noFilters: Filters = { budget: '', agent: '', session: '', task: '', model: '', kinds: [], since: '', until: '' };

/** The API query for the filters (times converted from local input to UTC). */
function queryOf(f: Filters): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of ['budget', 'agent', 'session', 'task', 'model'] as const) if (f[k].trim() !== '') q.set(k, f[k].trim());
  if (f.kinds.length > 0) q.set('kind', f.kinds.join(','));
  const since = localInputToIso(f.since);
  const until = localInputToIso(f.until);
  if (since) q.set('since', since);
  if (until) q.set('until', until);
  return q;
}

/** Reads the part of a reservation's life a page lacks (a few at a time). */
async function lookUp(api: Api, lines: Line[]): Promise<void> {
  const partial = lines.filter((l): l is ReservationLine => l.kind === 'reservation' && !complete(l)).slice(0, lookupsMax);
  for (let i = 0; i < partial.length; i += 4) {
    await Promise.all(
      partial.slice(i, i + 4).map(async (l) => {
        try {
          l.looked = (await api.get<{ reservation: Reservation }>(`/api/reservations/rsv_${l.seq}`)).reservation;
        } catch {
          // The line shows what the page has.
        }
      }),
    );
  }
}

function FilterForm({ applied, apply }: { applied: Filters; apply: (f: Filters) => void }) {
  const [f, setF] = useState(applied);
  const kindsBox = useRef<HTMLDetailsElement>(null);
  const text = (k: 'budget' | 'agent' | 'session' | 'task' | 'model', label: string, placeholder: string) => (
    <label>
      {label}
      <input name={k} value={f[k]} placeholder={placeholder} onInput={(e) => setF({ ...f, [k]: e.currentTarget.value })} />
    </label>
  );
  const toggleKind = (k: string) => setF({ ...f, kinds: f.kinds.includes(k) ? f.kinds.filter((x) => x !== k) : [...f.kinds, k] });
  return (
    <form
      class="filters"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (kindsBox.current) kindsBox.current.open = false;
        apply(f);
      }}
    >
      {text('budget', 'Budget', 'acme/research')}
      {text('agent', 'Agent', 'path or name')}
      {text('session', 'Session', 'run-42')}
      {text('task', 'Task', '')}
      {text('model', 'Model', 'gpt-4o-mini')}
      <label>
        Since
        <input type="datetime-local" name="since" step={1} value={f.since} onInput={(e) => setF({ ...f, since: e.currentTarget.value })} />
      </label>
      <label>
        Until
        <input type="datetime-local" name="until" step={1} value={f.until} onInput={(e) => setF({ ...f, until: e.currentTarget.value })} />
      </label>
      <details class="kinds" ref={kindsBox}>
        <summary>Kinds{f.kinds.length > 0 ? ` (${f.kinds.length})` : ': all'}</summary>
        <div class="kind-list">
          {kinds.map((k) => (
            <label class="check">
              <input type="checkbox" name="kind" value={k} checked={f.kinds.includes(k)} onChange={() => toggleKind(k)} /> {k}
            </label>
          ))}
        </div>
      </details>
      <div class="filter-actions">
        <button type="submit" class="primary">Apply</button>
        <button
          type="button"
          onClick={() => {
            setF(noFilters);
            apply(noFilters);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

/** A cell cut to one line, the whole text in its tooltip. */
function Ellipsis({ text, class: cls }: { text: string; class?: string }) {
  return (
    <td class={`ellipsis ${cls ?? ''}`} title={text}>
      {text}
    </td>
  );
}

/** A budget path, with a spend token's envelope shortened to its id's start. */
function PathText({ path }: { path: string | null }) {
  if (path === null) return null;
  const slash = path.lastIndexOf('/');
  const last = path.slice(slash + 1);
  if (!last.startsWith('tok_')) return <span title={path}>{path}</span>;
  return (
    <span title={path}>
      {path.slice(0, slash + 1)}
      <span class="muted">{last.slice(0, 8)}…</span>
    </span>
  );
}

function Labels({ session, task }: { session: string | null; task: string | null }) {
  return (
    <span>
      {session ?? ''}
      {task && <span class="muted"> · {task}</span>}
    </span>
  );
}

function Tokens({ e }: { e: { tokens_in: number | null; tokens_out: number | null } | undefined }) {
  if (!e || (e.tokens_in === null && e.tokens_out === null)) return <span class="muted">—</span>;
  return (
    <span>
      {formatTokens(e.tokens_in ?? 0)} / {formatTokens(e.tokens_out ?? 0)}
    </span>
  );
}

function EntryRow({ e }: { e: Entry }) {
  return (
    <tr data-seq={e.seq} data-kind={e.kind}>
      <td class="num muted">{e.seq}</td>
      <td title={formatTime(e.ts)}>{formatTimeShort(e.ts)}</td>
      <td><span class={`kind kind-${e.kind}`}>{e.kind}</span></td>
      <td class="path-cell"><PathText path={e.budget} /></td>
      <td><Money micros={e.amount_micros} /></td>
      <td>{e.model ?? ''}</td>
      <td><Tokens e={e} /></td>
      <td><Labels session={e.session} task={e.task} /></td>
      <Ellipsis class="muted" text={[e.actor, e.reason].filter(Boolean).join(' · ')} />
    </tr>
  );
}

/** A reservation's life in words: "reserved $0.012 → settled $0.004 after 0.4 s". */
function Life({ line }: { line: ReservationLine }) {
  const status = lifeStatus(line);
  const reserved = line.reserve?.amount_micros ?? line.looked?.amount_micros;
  const startMs = line.reserve?.ts_ms ?? (line.looked ? Date.parse(line.looked.created_at) : undefined);
  const settle = line.outcomes.find((e) => e.kind === 'settle' || e.kind === 'late_charge');
  const end = line.outcomes.find((e) => e.kind !== 'overrun');
  const endMs = end?.ts_ms ?? (line.looked?.resolved_at ? Date.parse(line.looked.resolved_at) : undefined);
  const actual = settle?.amount_micros ?? line.looked?.actual_micros ?? undefined;
  const overrun = line.outcomes.find((e) => e.kind === 'overrun');
  return (
    <span class="life">
      reserved {reserved === undefined ? '?' : <Money micros={reserved} />} <span aria-hidden="true">→</span> <span class={`life-status life-${status}`}>{status.replace('_', ' ')}</span>
      {actual !== undefined && actual !== null && status !== 'voided' && <> <Money micros={actual} /></>}
      {overrun && <span class="text-red"> (overrun <Money micros={overrun.amount_micros} />)</span>}
      {startMs !== undefined && endMs !== undefined && status !== 'open' && <span class="muted"> after {formatDuration(endMs - startMs)}</span>}
    </span>
  );
}

function ReservationRow({ line }: { line: ReservationLine }) {
  const first = line.reserve ?? line.outcomes[0];
  const tokens = line.outcomes.find((e) => e.tokens_in !== null || e.tokens_out !== null);
  return (
    <tr data-reservation={line.seq} class="reservation-row">
      <td class="num muted">{line.seq}</td>
      <td title={formatTime(first?.ts ?? line.looked?.created_at)}>{formatTimeShort(first?.ts ?? line.looked?.created_at)}</td>
      <td><span class="kind kind-reservation" title={`rsv_${line.seq}`}>reservation</span></td>
      <td class="path-cell"><PathText path={labelOf(line, 'budget')} /></td>
      <td><Life line={line} /></td>
      <td>{labelOf(line, 'model') ?? ''}</td>
      <td><Tokens e={tokens} /></td>
      <td><Labels session={labelOf(line, 'session')} task={labelOf(line, 'task')} /></td>
      <Ellipsis class="muted" text={labelOf(line, 'actor') ?? ''} />
    </tr>
  );
}

function Pager({ page, next, onNewer, onOlder }: { page: number; next: string | null | undefined; onNewer: () => void; onOlder: () => void }) {
  return (
    <nav class="pager" aria-label="Ledger pages">
      <button type="button" onClick={onNewer} disabled={page === 0}>
        ← Newer
      </button>
      <span class="muted">Page {page + 1}</span>
      <button type="button" onClick={onOlder} disabled={!next}>
        Older →
      </button>
    </nav>
  );
}

function LedgerTable({ lines, busy }: { lines: Line[]; busy: boolean }) {
  return (
    <div class="table-wrap">
      <table class="table ledger-table" aria-busy={busy}>
        <thead>
          <tr>
            <th scope="col" class="num">Seq</th>
            <th scope="col">Time</th>
            <th scope="col">Kind</th>
            <th scope="col">Budget</th>
            <th scope="col">Amount, or a reservation's life</th>
            <th scope="col">Model</th>
            <th scope="col">Tokens in/out</th>
            <th scope="col">Session · task</th>
            <th scope="col">Actor · reason</th>
          </tr>
        </thead>
        <tbody>{lines.map((l) => (l.kind === 'entry' ? <EntryRow key={l.key} e={l.entry} /> : <ReservationRow key={l.key} line={l} />))}</tbody>
      </table>
    </div>
  );
}

export function LedgerPage({ params }: { params: URLSearchParams }) {
  const live = useLive();
  const model = useLiveModel();
  const [filters, setFilters] = useState<Filters>({ ...noFilters, session: params.get('session') ?? '', agent: params.get('agent') ?? '', budget: params.get('budget') ?? '' });
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [grouped, setGrouped] = useState(true);
  const [exportError, setExportError] = useState<string>();
  const [exporting, setExporting] = useState(false);
  const query = queryOf(filters);
  const cursor = cursors[cursors.length - 1];
  const pageQuery = new URLSearchParams(query);
  pageQuery.set('order', 'desc');
  pageQuery.set('limit', String(pageSize));
  if (cursor) pageQuery.set('cursor', cursor);
  // The first page follows new entries as they commit; older pages stay as they were read.
  const page = useReload(
    async () => {
      const answer = await model.api.get<{ entries: Entry[]; next_cursor: string | null }>(`/api/ledger?${pageQuery.toString()}`);
      const lines = fold(answer.entries);
      await lookUp(model.api, lines);
      return { ...answer, lines };
    },
    cursors.length === 1 ? live.ledgerVersion : 0,
    2_000,
    pageQuery.toString(),
  );
  async function exportCsv() {
    setExportError(undefined);
    setExporting(true);
    try {
      const q = new URLSearchParams(query);
      q.set('format', 'csv');
      saveFile(await model.api.blob(`/api/ledger?${q.toString()}`, 'text/csv'), 'bursar-ledger.csv');
    } catch (error) {
      setExportError((error as Error).message);
    } finally {
      setExporting(false);
    }
  }
  const lines: Line[] = page.data ? (grouped ? page.data.lines : page.data.entries.map((entry) => ({ kind: 'entry', key: `e${entry.seq}`, entry }))) : [];
  return (
    <div class="page ledger">
      <h1 class="visually-hidden">Ledger</h1>
      <FilterForm
        applied={filters}
        apply={(f) => {
          setFilters(f);
          setCursors([undefined]);
        }}
      />
      <Panel
        title="Entries, newest first"
        actions={
          <>
            <label class="check">
              <input type="checkbox" name="grouped" checked={grouped} onChange={(e) => setGrouped(e.currentTarget.checked)} /> One line per reservation
            </label>
            <button type="button" onClick={() => void exportCsv()} disabled={exporting}>
              Export CSV
            </button>
          </>
        }
      >
        <ErrorText message={page.error ?? exportError} />
        <LedgerTable lines={lines} busy={page.loading} />
        {page.data && page.data.entries.length === 0 && <p class="empty">No entries match these filters.</p>}
        <Pager page={cursors.length - 1} next={page.data?.next_cursor} onNewer={() => setCursors(cursors.slice(0, -1))} onOlder={() => page.data?.next_cursor && setCursors([...cursors, page.data.next_cursor])} />
      </Panel>
    </div>
  );
}
