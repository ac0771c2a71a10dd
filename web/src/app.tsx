import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, apiClient, whoAmI, type Role } from './api.js';
import { Live } from './live.js';
import { formatUsd, parseMoney, usd } from './money.js';
import { AgentsPage } from './pages/agents.js';
import { LedgerPage } from './pages/ledger.js';
import { OverviewPage } from './pages/overview.js';
import { SessionsPage } from './pages/sessions.js';
import { TokensPage } from './pages/tokens.js';
import { TreePage } from './pages/tree.js';
import { loadSettings, saveSettings, type Settings } from './settings.js';
import { Dialog, ErrorText, LiveContext, SettingsContext, useLive } from './ui.js';

/**
 * The dashboard's shell: sign-in with an admin or viewer key (kept in this tab's
 * sessionStorage, sent only as a header), the live model, navigation by URL hash, the
 * connection state, and display settings.
 */

const keyStorage = 'bursar.dashboard.key';

const pages = [
  { path: '/', label: 'Overview' },
  { path: '/agents', label: 'Agents' },
  { path: '/budgets', label: 'Budgets' },
  { path: '/ledger', label: 'Ledger' },
  { path: '/sessions', label: 'Sessions' },
  { path: '/tokens', label: 'Tokens' },
] as const;

function storedKey(): string | null {
  try {
    return sessionStorage.getItem(keyStorage);
  } catch {
    return null;
  }
}

function storeKey(key: string | null): void {
  try {
    if (key === null) sessionStorage.removeItem(keyStorage);
    else sessionStorage.setItem(keyStorage, key);
  } catch {
    // Without storage the key lasts until the page is reloaded.
  }
}

/** The page and its query from the URL hash: `#/ledger?session=run-42`. */
function route(): { path: string; params: URLSearchParams } {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  return { path: path || '/', params: new URLSearchParams(query ?? '') };
}

function useRoute() {
  const [r, setR] = useState(route);
  useEffect(() => {
    const on = () => setR(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return r;
}

function Login({ onKey, notice }: { onKey: (key: string, role: Role) => void; notice: string | undefined }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(notice);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const me = await whoAmI(key.trim());
      onKey(key.trim(), me.role);
    } catch (problem) {
      setError(problem instanceof ApiFailure ? problem.message : (problem as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="login">
      <form class="login-card form" onSubmit={(e) => void submit(e)}>
        <h1>
          <img src="/favicon.svg" alt="" width={28} height={28} /> Bursar
        </h1>
        <p>Sign in with an admin or viewer key to watch spending live.</p>
        <label>
          API key
          <input type="password" name="key" autoComplete="off" value={key} onInput={(e) => setKey(e.currentTarget.value)} required autoFocus />
        </label>
        <ErrorText message={error} />
        <button type="submit" class="primary" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
        <p class="hint">
          <code>bursar serve</code> prints an admin key at start unless <code>BURSAR_ADMIN_KEY</code> is set; <code>BURSAR_VIEWER_KEY</code> holds read-only keys. The key stays in this tab only and is sent as a header, never in a URL.
        </p>
      </form>
    </main>
  );
}

const connectionText = { connecting: 'Connecting…', live: 'Live', down: 'Reconnecting…', refused: 'Key refused' } as const;

function Connection() {
  const live = useLive();
  return (
    <span class={`connection connection-${live.connection}`} data-testid="connection" data-state={live.connection} role="status">
      <span class="dot" aria-hidden="true" /> {connectionText[live.connection]}
    </span>
  );
}

function SettingsDialog({ settings, onSave, onClose }: { settings: Settings; onSave: (s: Settings) => void; onClose: () => void }) {
  const money = (m: number) => formatUsd(m).replace(/^\$/, '').replace(/,/g, '');
  const [d, setD] = useState({ kind: settings.unit.kind, rate: money(settings.unit.microsPerCredit), yellow: money(settings.yellowMicros), red: money(settings.redMicros), high: money(settings.requestHighMicros) });
  const [error, setError] = useState<string>();
  function submit(e: Event) {
    e.preventDefault();
    const parsed = [d.rate, d.yellow, d.red, d.high].map((t) => parseMoney(t, usd));
    const bad = parsed.findIndex((p) => !p.ok || p.micros <= 0);
    if (bad >= 0) return setError(`${['Credit value', 'Yellow from', 'Red above', 'High cost per request'][bad]}: type a positive amount in USD`);
    const [rate, yellow, red, high] = parsed.map((p) => (p.ok ? p.micros : 0)) as [number, number, number, number];
    if (red < yellow) return setError('Red above must be at least Yellow from');
    onSave({ unit: { kind: d.kind, microsPerCredit: rate }, yellowMicros: yellow, redMicros: red, requestHighMicros: high });
    onClose();
  }
  const field = (k: 'rate' | 'yellow' | 'red' | 'high', label: string) => (
    <label>
      {label}
      <input name={k} inputMode="decimal" value={d[k]} onInput={(e) => setD({ ...d, [k]: e.currentTarget.value })} />
    </label>
  );
  return (
    <Dialog title="Display settings" onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <fieldset>
          <legend>Show amounts in</legend>
          <label class="check">
            <input type="radio" name="unit" checked={d.kind === 'usd'} onChange={() => setD({ ...d, kind: 'usd' })} /> US dollars
          </label>
          <label class="check">
            <input type="radio" name="unit" checked={d.kind === 'credits'} onChange={() => setD({ ...d, kind: 'credits' })} /> Credits
          </label>
          {field('rate', 'One credit is worth (USD)')}
        </fieldset>
        <fieldset>
          <legend>Agent card colours (session spend, USD)</legend>
          <div class="form-row">
            {field('yellow', 'Yellow from')}
            {field('red', 'Red above')}
          </div>
          {field('high', 'Flag a cost per request above (USD)')}
        </fieldset>
        <p class="hint">Kept in this browser only. The API always counts in integer micro-USD.</p>
        <ErrorText message={error} />
        <div class="form-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary">Save</button>
        </div>
      </form>
    </Dialog>
  );
}

function Header({ onSettings, onSignOut }: { onSettings: () => void; onSignOut: () => void }) {
  const live = useLive();
  const { path } = useRoute();
  return (
    <header class="topbar">
      <a class="brand" href="#/">
        <img src="/favicon.svg" alt="" width={24} height={24} /> Bursar
      </a>
      <nav aria-label="Pages">
        {pages.map((p) => (
          <a href={`#${p.path}`} aria-current={path === p.path ? 'page' : undefined}>
            {p.label}
          </a>
        ))}
      </nav>
      <div class="topbar-right">
        <Connection />
        <span class={`role role-${live.role}`} data-testid="role" title={live.role === 'viewer' ? 'a viewer key reads everything and changes nothing' : 'an admin key reads and changes'}>
          {live.role === 'viewer' ? 'viewer · read-only' : 'admin'}
        </span>
        <button type="button" class="ghost" onClick={onSettings}>
          Settings
        </button>
        <button type="button" class="ghost" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function Page() {
  const { path, params } = useRoute();
  switch (path) {
    case '/agents':
      return <AgentsPage params={params} />;
    case '/budgets':
      return <TreePage />;
    case '/ledger':
      return <LedgerPage params={params} key={params.toString()} />;
    case '/sessions':
      return <SessionsPage />;
    case '/tokens':
      return <TokensPage />;
    default:
      return <OverviewPage />;
  }
}

function Shell({ live, onSignOut }: { live: Live; onSignOut: () => void }) {
  const [settings, setSettings] = useState(loadSettings);
  const [editing, setEditing] = useState(false);
  const [, setLoaded] = useState(live.loaded);
  useEffect(() => live.subscribe(() => setLoaded(live.loaded)), [live]);
  return (
    <LiveContext.Provider value={live}>
      <SettingsContext.Provider value={settings}>
        <Header onSettings={() => setEditing(true)} onSignOut={onSignOut} />
        <main class="main">{live.loaded ? <Page /> : <p class="loading">Loading…</p>}</main>
        {editing && (
          <SettingsDialog
            settings={settings}
            onClose={() => setEditing(false)}
            onSave={(s) => {
              saveSettings(s);
              setSettings(s);
            }}
          />
        )}
      </SettingsContext.Provider>
    </LiveContext.Provider>
  );
}

type Session = { state: 'signed-out'; notice?: string } | { state: 'checking' } | { state: 'in'; live: Live } | { state: 'unreachable'; message: string };

/** Starts the live model for a key; a refused key signs out with a notice. */
function begin(key: string, role: Role, set: (s: Session) => void): Live {
  const signOut = (notice: string) => {
    storeKey(null);
    live.stop();
    set({ state: 'signed-out', notice });
  };
  const api = apiClient(key, (failure) => signOut(`The server no longer accepts this key: ${failure.message}`));
  const live = new Live(api, key, role, () => signOut('The server no longer accepts this key (was it restarted with other keys?)'));
  live.start().catch((error: unknown) => {
    if (error instanceof ApiFailure && error.status === 401) return;
    live.stop();
    set({ state: 'unreachable', message: (error as Error).message });
  });
  return live;
}

export function App() {
  const [session, setSession] = useState<Session>(() => (storedKey() ? { state: 'checking' } : { state: 'signed-out' }));
  useEffect(() => {
    if (session.state !== 'checking') return;
    const key = storedKey();
    if (!key) return setSession({ state: 'signed-out' });
    whoAmI(key).then(
      (me) => setSession({ state: 'in', live: begin(key, me.role, setSession) }),
      (error: unknown) => {
        if (error instanceof ApiFailure && error.status === 401) {
          storeKey(null);
          setSession({ state: 'signed-out', notice: `The server no longer accepts the stored key: ${error.message}` });
        } else setSession({ state: 'unreachable', message: (error as Error).message });
      },
    );
  }, [session.state]);
  switch (session.state) {
    case 'signed-out':
      return (
        <Login
          notice={session.notice}
          onKey={(key, role) => {
            storeKey(key);
            setSession({ state: 'in', live: begin(key, role, setSession) });
          }}
        />
      );
    case 'checking':
      return <p class="loading">Loading…</p>;
    case 'unreachable':
      return (
        <main class="login">
          <div class="login-card">
            <h1>Bursar is not answering</h1>
            <ErrorText message={session.message} />
            <button type="button" class="primary" onClick={() => setSession({ state: 'checking' })}>
              Try again
            </button>
          </div>
        </main>
      );
    case 'in':
      return (
        <Shell
          live={session.live}
          onSignOut={() => {
            session.live.stop();
            storeKey(null);
            setSession({ state: 'signed-out' });
          }}
        />
      );
  }
}
