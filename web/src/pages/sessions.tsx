import { useState } from 'preact/hooks';
import type { Session } from '../api.js';
import { saveFile, toCsv } from '../csv.js';
import { formatDuration, formatTime } from '../format.js';
import { useReload } from '../hooks.js';
import { formatTokens } from '../money.js';
import { ErrorText, Money, Panel, useLive, useLiveModel } from '../ui.js';

/**
 * The last 30 sessions (the x-bursar-session label of calls): start, end, tokens in and out,
 * cost and agents, read again as calls settle (at most every 5 s: the server totals each
 * session from its entries); the list as CSV, and each session's entries as CSV from the API.
 */

const sessionsShown = 30;

/** The session list as CSV: integer micros and an exact USD column, like the ledger export. */
function sessionsCsv(sessions: readonly Session[]): string {
  const usd = (m: number) => `${Math.floor(m / 1_000_000)}.${String(m % 1_000_000).padStart(6, '0')}`;
  return toCsv(
    ['session', 'started_at', 'ended_at', 'calls', 'tokens_in', 'tokens_out', 'tokens_cached', 'cost_micros', 'cost_usd', 'agents', 'models'],
    sessions.map((s) => [s.id, s.started_at, s.ended_at, s.calls, s.tokens_in, s.tokens_out, s.tokens_cached, s.cost_micros, usd(s.cost_micros), s.agents.join(' '), s.models.join(' ')]),
  );
}

function SessionRow({ s, onEntries }: { s: Session; onEntries: (id: string) => void }) {
  return (
    <tr data-session={s.id}>
      <th scope="row">
        <a href={`#/ledger?session=${encodeURIComponent(s.id)}`} title="show its entries in the ledger">
          {s.id}
        </a>
      </th>
      <td class="nowrap">{formatTime(s.started_at)}</td>
      <td class="nowrap">{formatTime(s.ended_at)}</td>
      <td class="muted">{formatDuration(Date.parse(s.ended_at) - Date.parse(s.started_at))}</td>
      <td class="num">{s.calls}</td>
      <td class="num">{formatTokens(s.tokens_in)}</td>
      <td class="num">{formatTokens(s.tokens_out)}</td>
      <td class="num"><Money micros={s.cost_micros} /></td>
      <td class="agents-cell">{s.agents.join(', ')}</td>
      <td>
        <button type="button" onClick={() => onEntries(s.id)} aria-label={`Download the entries of session ${s.id} as CSV`}>
          CSV
        </button>
      </td>
    </tr>
  );
}

export function SessionsPage() {
  const live = useLive();
  const model = useLiveModel();
  const [error, setError] = useState<string>();
  const list = useReload(() => model.api.get<{ sessions: Session[]; truncated: boolean }>(`/api/sessions?last=${sessionsShown}`), live.ledgerVersion, 5_000, 'sessions');
  const sessions = list.data?.sessions ?? [];
  async function entriesCsv(id: string) {
    setError(undefined);
    try {
      const name = id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
      saveFile(await model.api.blob(`/api/sessions/${encodeURIComponent(id)}?format=csv`, 'text/csv'), `bursar-session-${name}.csv`);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <div class="page sessions">
      <h1 class="visually-hidden">Sessions</h1>
      <Panel
        title={`Last ${sessionsShown} sessions`}
        actions={
          <button type="button" disabled={sessions.length === 0} onClick={() => saveFile(new Blob([sessionsCsv(sessions)], { type: 'text/csv' }), 'bursar-sessions.csv')}>
            Export CSV
          </button>
        }
      >
        <ErrorText message={list.error ?? error} />
        {list.data && sessions.length === 0 ? (
          <p class="empty">
            No sessions yet. Calls join a session when they carry the <code>x-bursar-session</code> header.
          </p>
        ) : (
          <div class="table-wrap">
            <table class="table sessions-table" aria-busy={list.loading}>
              <thead>
                <tr>
                  <th scope="col">Session</th>
                  <th scope="col">Start</th>
                  <th scope="col">End</th>
                  <th scope="col">Length</th>
                  <th scope="col" class="num">Calls</th>
                  <th scope="col" class="num">Tokens in</th>
                  <th scope="col" class="num">Tokens out</th>
                  <th scope="col" class="num">Cost</th>
                  <th scope="col">Agents</th>
                  <th scope="col">Entries</th>
                </tr>
              </thead>
              <tbody>
                {sessions.map((s) => (
                  <SessionRow key={s.id} s={s} onEntries={(id) => void entriesCsv(id)} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list.data?.truncated && <p class="muted">The server stopped reading at its bound; older sessions may be missing.</p>}
      </Panel>
    </div>
  );
}
