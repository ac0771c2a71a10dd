/** Times on the page: local time of the browser, to the second. */

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * A time as `YYYY-MM-DD HH:MM:SS` in the browser's time zone; `—` for none.
 *
 * @example
 * formatTime('2026-12-03T10:21:05.000Z') // '2026-12-03 11:21:05' in Amsterdam
 */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * A time without its year, for dense tables: `12-03 10:21:05`; the full time is in `formatTime`.
 *
 * @example
 * formatTimeShort('2026-12-03T10:21:05.000Z') // '12-03 11:21:05' in Amsterdam
 */
export function formatTimeShort(iso: string | null | undefined): string {
  return formatTime(iso).replace(/^\d{4}-/, '');
}

/**
 * How long ago, roughly: `just now`, `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
 *
 * @example
 * timeAgo(Date.now() - 90_000, Date.now()) // '1 min ago'
 */
export function timeAgo(thenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/**
 * A span of time in its two largest units: `3 h 20 min`, `2 d 4 h`, `45 s`, `0.4 s`.
 *
 * @example
 * formatDuration(12_000_000) // '3 h 20 min'
 */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, Math.round(ms / 100)) / 10).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/**
 * A `datetime-local` input's value (local time) as ISO 8601 UTC for the API; undefined when empty.
 *
 * @example
 * localInputToIso('2026-12-03T11:21') // '2026-12-03T10:21:00.000Z' in Amsterdam
 */
export function localInputToIso(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
