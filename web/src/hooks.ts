import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  /** Loads again now. */
  reload: () => void;
}

/**
 * Data read from the API, read again when `trigger` changes (a live counter), at most once
 * per `minIntervalMs`, and at once when `key` changes (new filters).
 *
 * @example
 * const sessions = useReload(() => api.get('/api/sessions?last=30'), live.ledgerVersion, 2_000, 'sessions');
 */
export function useReload<T>(load: () => Promise<T>, trigger: number, minIntervalMs: number, key: string): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: string | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const last = useRef({ atMs: 0, key: '', seq: 0, timer: undefined as ReturnType<typeof setTimeout> | undefined });
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    const l = last.current;
    const run = () => {
      l.timer = undefined;
      l.atMs = Date.now();
      const seq = (l.seq += 1);
      setState((s) => ({ ...s, loading: true }));
      // Only the newest read may land: an older one finishing late must not overwrite it.
      loader.current().then(
        (data) => seq === l.seq && setState({ data, error: undefined, loading: false }),
        (error: unknown) => seq === l.seq && setState((s) => ({ data: s.data, error: error instanceof ApiFailure ? error.message : (error as Error).message, loading: false })),
      );
    };
    if (l.key !== key) {
      l.key = key;
      clearTimeout(l.timer);
      run();
      return;
    }
    if (l.timer !== undefined) return;
    l.timer = setTimeout(run, Math.max(0, l.atMs + minIntervalMs - Date.now()));
  }, [trigger, key, tick, minIntervalMs]);
  useEffect(() => () => clearTimeout(last.current.timer), []);
  const reload = () => {
    last.current.key = '';
    setTick((t) => t + 1);
  };
  return { ...state, reload };
}
