import { useMemo, useState } from 'preact/hooks';
import { ApiFailure, type Token } from '../api.js';
import { formatTime } from '../format.js';
import { useReload } from '../hooks.js';
import { parseMoney } from '../money.js';
import { Dialog, ErrorText, Money, Panel, StatusBadge, useLive, useLiveModel, useSettings } from '../ui.js';

/**
 * Spend tokens: the list (never a secret), minting one (its secret is shown once, with a copy
 * button) and revoking one with everything delegated from it.
 */

interface MintDraft {
  budget: string;
  maxSpend: string;
  models: string;
  expiresHours: string;
  delegate: boolean;
  session: string;
  task: string;
}

function mintBody(d: MintDraft, unit: ReturnType<typeof useSettings>['unit']): Record<string, unknown> {
  const body: Record<string, unknown> = { budget: d.budget.trim() };
  if (d.maxSpend.trim() !== '') {
    const parsed = parseMoney(d.maxSpend, unit);
    if (!parsed.ok) throw new Error(`Max spend: ${parsed.message}`);
    body.max_spend_micros = parsed.micros;
  }
  const models = d.models.split(',').map((m) => m.trim()).filter((m) => m !== '');
  if (models.length > 0) body.models = models;
  if (d.expiresHours.trim() !== '') {
    if (!/^\d{1,5}$/.test(d.expiresHours.trim()) || Number(d.expiresHours) === 0) throw new Error('Expires: a whole number of hours, or empty for never');
    body.expires_in_ms = Number(d.expiresHours) * 3_600_000;
  }
  if (d.delegate) body.scopes = ['delegate'];
  const labels: Record<string, string> = {};
  if (d.session.trim() !== '') labels.session = d.session.trim();
  if (d.task.trim() !== '') labels.task = d.task.trim();
  if (Object.keys(labels).length > 0) body.labels = labels;
  return body;
}

function Secret({ secret }: { secret: string }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <div class="secret">
      <p>
        <strong>Copy the secret now: it is shown only once.</strong> Agents send it as <code>Authorization: Bearer …</code> to the gateway.
      </p>
      <div class="secret-row">
        <input readOnly value={secret} aria-label="Token secret" data-testid="token-secret" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" class="primary" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

function MintDialog({ agents, onClose, onMinted }: { agents: string[]; onClose: () => void; onMinted: () => void }) {
  const live = useLiveModel();
  const { unit } = useSettings();
  const [d, setD] = useState<MintDraft>({ budget: agents[0] ?? '', maxSpend: '', models: '', expiresHours: '24', delegate: false, session: '', task: '' });
  const [error, setError] = useState<string>();
  const [secret, setSecret] = useState<string>();
  const set = (k: keyof MintDraft) => (e: Event) => setD({ ...d, [k]: (e.currentTarget as HTMLInputElement).value });
  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    try {
      const minted = await live.api.send<{ token: string }>('POST', '/api/tokens', mintBody(d, unit));
      setSecret(minted.token);
      onMinted();
    } catch (problem) {
      setError(problem instanceof ApiFailure ? `${problem.message} (${problem.code})` : (problem as Error).message);
    }
  }
  return (
    <Dialog title="Mint a spend token" onClose={onClose}>
      {secret ? (
        <>
          <Secret secret={secret} />
          <div class="form-actions">
            <button type="button" class="primary" onClick={onClose}>Done</button>
          </div>
        </>
      ) : (
        <form class="form" onSubmit={(e) => void submit(e)}>
          <label>
            Budget (usually an agent)
            <input name="budget" list="token-budgets" value={d.budget} onInput={set('budget')} required autoFocus />
            <datalist id="token-budgets">{agents.map((a) => <option value={a} />)}</datalist>
          </label>
          <div class="form-row">
            <label>
              Max spend ({unit.kind === 'credits' ? 'credits' : 'USD'}; empty for none)
              <input name="max_spend" inputMode="decimal" value={d.maxSpend} onInput={set('maxSpend')} />
            </label>
            <label>
              Expires in (hours; empty for never)
              <input name="expires_hours" inputMode="numeric" value={d.expiresHours} onInput={set('expiresHours')} />
            </label>
          </div>
          <label>
            Allowed models (comma-separated; empty for the budget's)
            <input name="models" value={d.models} onInput={set('models')} placeholder="gpt-4o-mini" />
          </label>
          <div class="form-row">
            <label>
              Session label
              <input name="session" value={d.session} onInput={set('session')} />
            </label>
            <label>
              Task label
              <input name="task" value={d.task} onInput={set('task')} />
            </label>
          </div>
          <label class="check">
            <input type="checkbox" name="delegate" checked={d.delegate} onChange={(e) => setD({ ...d, delegate: e.currentTarget.checked })} /> May mint narrower child tokens (delegate)
          </label>
          <ErrorText message={error} />
          <div class="form-actions">
            <button type="button" onClick={onClose}>Cancel</button>
            <button type="submit" class="primary">Mint</button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

function RevokeButton({ token, onDone }: { token: Token; onDone: () => void }) {
  const live = useLiveModel();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();
  async function revoke() {
    try {
      await live.api.send('POST', `/api/tokens/${token.id}/revoke`, { reason: 'revoked from the dashboard' });
      setConfirming(false);
      onDone();
    } catch (problem) {
      setError((problem as Error).message);
    }
  }
  return (
    <>
      <button type="button" onClick={() => setConfirming(true)} aria-label={`Revoke ${token.id}`}>
        Revoke
      </button>
      {confirming && (
        <Dialog title={`Revoke ${token.id}?`} onClose={() => setConfirming(false)}>
          <p>Calls with this token, and with every token delegated from it, are refused from now on. This cannot be undone.</p>
          <ErrorText message={error} />
          <div class="form-actions">
            <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
            <button type="button" class="danger" onClick={() => void revoke()}>Revoke</button>
          </div>
        </Dialog>
      )}
    </>
  );
}

export function TokensPage() {
  const live = useLive();
  const admin = live.role === 'admin';
  const [status, setStatus] = useState('active');
  const [minting, setMinting] = useState(false);
  const list = useReload(() => live.api.get<{ tokens: Token[] }>(`/api/tokens${status ? `?status=${status}` : ''}`), live.ledgerVersion, 5_000, `tokens:${status}`);
  const agents = useMemo(() => [...live.budgets.values()].filter((b) => b.kind === 'agent').map((b) => b.path).sort(), [live.budgetsVersion]);
  const tokens = [...(list.data?.tokens ?? [])].reverse();
  return (
    <div class="page tokens">
      <h1 class="visually-hidden">Tokens</h1>
      <Panel
        title="Spend tokens"
        actions={
          <>
            <label>
              Show{' '}
              <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
                <option value="active">active</option>
                <option value="revoked">revoked</option>
                <option value="">all</option>
              </select>
            </label>
            {admin && (
              <button type="button" class="primary" onClick={() => setMinting(true)}>
                Mint token
              </button>
            )}
          </>
        }
      >
        <ErrorText message={list.error} />
        <div class="table-wrap">
          <table class="table" aria-busy={list.loading}>
            <thead>
              <tr>
                <th scope="col">Token</th>
                <th scope="col">Envelope budget</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">Spent</th>
                <th scope="col" class="num">Max spend</th>
                <th scope="col">Scopes</th>
                <th scope="col">Labels</th>
                <th scope="col">Expires</th>
                <th scope="col">Created</th>
                {admin && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id} data-token={t.id}>
                  <th scope="row"><code>{t.id}</code>{t.parent_token_id && <span class="muted"> ← {t.parent_token_id}</span>}</th>
                  <td class="path-cell">{t.budget}</td>
                  <td><StatusBadge status={t.status} /></td>
                  <td class="num"><Money micros={live.budgets.get(t.budget)?.spent_micros} /></td>
                  <td class="num">{live.budgets.get(t.budget)?.limit_micros === null ? 'none' : <Money micros={live.budgets.get(t.budget)?.limit_micros} />}</td>
                  <td>{t.scopes.join(', ')}</td>
                  <td class="muted">{[t.labels.session && `session ${t.labels.session}`, t.labels.task && `task ${t.labels.task}`].filter(Boolean).join(', ')}</td>
                  <td class="nowrap">{t.expires_at ? formatTime(t.expires_at) : 'never'}</td>
                  <td class="nowrap">{formatTime(t.created_at)}</td>
                  {admin && <td>{t.status === 'active' && <RevokeButton token={t} onDone={list.reload} />}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {list.data && tokens.length === 0 && <p class="empty">No {status} tokens.</p>}
      </Panel>
      {minting && <MintDialog agents={agents} onClose={() => setMinting(false)} onMinted={list.reload} />}
    </div>
  );
}
