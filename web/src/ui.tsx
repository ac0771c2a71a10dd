import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Budget } from './api.js';
import { timeAgo } from './format.js';
import type { Live } from './live.js';
import { formatMoney } from './money.js';
import { settingsDefault, type Settings } from './settings.js';

/** Shared pieces of the dashboard's pages: contexts, money, bars, badges, dialogs. */

export const LiveContext = createContext<Live | null>(null);
export const SettingsContext = createContext<Settings>(settingsDefault);

/** The live model without following its changes (for actions: buttons, dialogs). */
export function useLiveModel(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLiveModel outside LiveContext');
  return live;
}

/** The live model, re-rendering the caller whenever it changes. */
export function useLive(): Live {
  const live = useLiveModel();
  const [, setVersion] = useState(0);
  useEffect(() => live.subscribe(() => setVersion(live.version)), [live]);
  return live;
}

export function useSettings(): Settings {
  return useContext(SettingsContext);
}

/** An amount in the chosen unit; the exact USD in its tooltip when credits are shown. */
export function Money({ micros, class: cls }: { micros: number | null | undefined; class?: string }) {
  const settings = useSettings();
  if (micros === null || micros === undefined) return <span class={cls}>—</span>;
  const title = settings.unit.kind === 'credits' ? formatMoney(micros, { ...settings.unit, kind: 'usd' }) : undefined;
  return (
    <span class={cls} title={title} data-micros={micros}>
      {formatMoney(micros, settings.unit)}
    </span>
  );
}

/** The share of an allowance, as a whole percent up to 100 (for bar widths). */
function pct(part: number, whole: number): number {
  if (whole <= 0) return part > 0 ? 100 : 0;
  return Math.min(100, Math.max(0, (part * 100) / whole));
}

/**
 * A bar of spent (solid) and reserved (striped) against a budget's allowance (limit plus
 * grants). Without a limit it shows only that there is none.
 */
export function Bar({ budget, compact }: { budget: Pick<Budget, 'spent_micros' | 'reserved_micros' | 'limit_micros' | 'granted_micros' | 'used_pct'>; compact?: boolean }) {
  const settings = useSettings();
  const allowance = budget.limit_micros === null ? null : budget.limit_micros + budget.granted_micros;
  const fmt = (m: number) => formatMoney(m, settings.unit);
  const label =
    allowance === null
      ? `spent ${fmt(budget.spent_micros)}, reserved ${fmt(budget.reserved_micros)}, no limit`
      : `spent ${fmt(budget.spent_micros)} and reserved ${fmt(budget.reserved_micros)} of ${fmt(allowance)} (${budget.used_pct ?? 0}%)`;
  const used = budget.used_pct ?? 0;
  const tone = used >= 90 ? 'bar-red' : used >= 75 ? 'bar-yellow' : '';
  return (
    <div class={`bar ${compact ? 'bar-compact' : ''} ${tone} ${allowance === null ? 'bar-unlimited' : ''}`} role="img" aria-label={label} title={label}>
      {allowance !== null && (
        <>
          <div class="bar-spent" style={{ width: `${pct(budget.spent_micros, allowance)}%` }} />
          <div class="bar-reserved" style={{ width: `${pct(budget.reserved_micros, allowance)}%` }} />
        </>
      )}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

/** "12 s ago", with the exact time in the tooltip. */
export function TimeAgo({ iso, nowMs }: { iso: string | null; nowMs: number }) {
  if (!iso) return <span class="muted">never</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {timeAgo(Date.parse(iso), nowMs)}
    </time>
  );
}

/**
 * A modal dialog (the browser's own <dialog>: focus stays inside, Escape closes it).
 *
 * @example
 * {open && <Dialog title="Change limit" onClose={() => setOpen(false)}>…</Dialog>}
 */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-label={title} onClose={onClose} onCancel={onClose}>
      <header class="dialog-head">
        <h2>{title}</h2>
        <button type="button" class="icon-button" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      {children}
    </dialog>
  );
}

/** An error message for a form, read out when it appears. */
export function ErrorText({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p class="error-text" role="alert">
      {message}
    </p>
  );
}

export function Panel({ title, actions, children, class: cls }: { title?: string; actions?: ComponentChildren; children: ComponentChildren; class?: string }) {
  return (
    <section class={`panel ${cls ?? ''}`} aria-label={title}>
      {(title || actions) && (
        <header class="panel-head">
          {title && <h2>{title}</h2>}
          {actions && <div class="panel-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

/** The last path segment, and the path above it. */
export function splitPath(path: string): { name: string; parent: string } {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? { name: path, parent: '' } : { name: path.slice(slash + 1), parent: path.slice(0, slash) };
}
