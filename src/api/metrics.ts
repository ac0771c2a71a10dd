import { entryKinds, spendOf, type LedgerEntry } from '../core/index.js';
import type { Store } from '../store/index.js';
import { apiLimits } from './limits.js';

/**
 * Prometheus metrics, written in the text exposition format by hand: a few counters and
 * histograms with small, fixed label sets do not need a client library (and `prom-client` would
 * be a runtime dependency with a process-global registry). Label values come only from fixed
 * sets (route templates, stable codes, entry kinds); anything else is counted as `other`, and
 * each metric keeps at most `apiLimits.metricSeriesMax` label sets, then one more in which
 * every label is `other`. Model names are left out.
 */

type Labels = Record<string, string>;

/** What the gateway reports of each proxied call (its `CallOutcome`). */
export interface ProxiedCall {
  route: string;
  status: number;
  code: string;
  costMicros?: number;
  reserveMs?: number;
  upstreamMs?: number;
}

const secondsBucketsReserve = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const secondsBucketsUpstream = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** A map key for a label set: cheap to build on every update (rendering escapes, this does not). */
function labelKey(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${name}\u0001${labels[name]}\u0002`;
  return key;
}

/** A metric's label sets, capped so that no input can grow it without bound. */
class Series<T> {
  private readonly byKey = new Map<string, { labels: Labels; value: T }>();

  constructor(private readonly make: () => T) {}

  get(labels: Labels): T {
    let key = labelKey(labels);
    let found = this.byKey.get(key);
    if (!found) {
      if (this.byKey.size >= apiLimits.metricSeriesMax) {
        const other = Object.fromEntries(Object.keys(labels).map((k) => [k, 'other']));
        key = labelKey(other);
        found = this.byKey.get(key);
        labels = other;
      }
      if (!found) {
        found = { labels, value: this.make() };
        this.byKey.set(key, found);
      }
    }
    return found.value;
  }

  entries(): { labels: Labels; value: T }[] {
    return [...this.byKey.values()];
  }
}

class Counter {
  private readonly series = new Series(() => ({ n: 0 }));

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  add(labels: Labels, by = 1): void {
    this.series.get(labels).n += by;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.series.entries()) lines.push(`${this.name}${labelText(labels)} ${value.n}`);
    return lines;
  }
}

class Histogram {
  private readonly series: Series<{ counts: number[]; sum: number; count: number }>;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    this.series = new Series(() => ({ counts: buckets.map(() => 0), sum: 0, count: 0 }));
  }

  observe(labels: Labels, value: number): void {
    const s = this.series.get(labels);
    for (let i = 0; i < this.buckets.length; i += 1) if (value <= (this.buckets[i] ?? Infinity)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, value } of this.series.entries()) {
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText({ ...labels, le: String(le) })} ${value.counts[i] ?? 0}`));
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${value.count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${value.sum}`);
      lines.push(`${this.name}_count${labelText(labels)} ${value.count}`);
    }
    return lines;
  }
}

const routePattern = /^\/[A-Za-z0-9/:_.{}-]{0,80}$/;
const codePattern = /^[a-z][a-z0-9_]{0,47}$/;
const kinds: ReadonlySet<string> = new Set(entryKinds);

function routeLabel(route: string | undefined): string {
  if (route === undefined) return 'unmatched';
  return routePattern.test(route) ? route : 'other';
}

function codeLabel(code: string): string {
  return codePattern.test(code) ? code : 'other';
}

/**
 * Bursar's metrics. The gateway reports each call with `observeCall` (its `onCall` hook), the
 * admin API each request with `observeApi`, reservations their latency with `observeReserve`
 * (or by wrapping the store with `timeReserve`), and `attach` counts committed ledger entries.
 *
 * @example
 * const metrics = new Metrics();
 * const store = metrics.timeReserve(await openStore({ db }));
 * const gateway = { store, …, onCall: (o) => metrics.observeCall(o) };
 */
export class Metrics {
  private readonly requests = new Counter('bursar_requests_total', 'HTTP requests answered, by surface (gateway or api), route template and result code.');
  private readonly refusals = new Counter('bursar_refusals_total', 'Requests answered with a 4xx or 5xx status, by surface, route template and code.');
  private readonly reserve = new Histogram('bursar_reserve_duration_seconds', 'Time a reservation takes in the store (the whole chain, atomically).', secondsBucketsReserve);
  private readonly upstream = new Histogram('bursar_upstream_duration_seconds', 'Time from forwarding a call to the provider until its response headers, by gateway route.', secondsBucketsUpstream);
  private readonly entries = new Counter('bursar_ledger_entries_total', 'Ledger entries committed, by kind.');
  private readonly settled = new Counter('bursar_settled_micros_total', 'Micro-USD charged: settlements, late charges and expiries that charged their hold.');
  private readonly refunded = new Counter('bursar_refunded_micros_total', 'Micro-USD given back when the actual cost of a charged expiry arrived.');
  private readonly settlements = new Counter('bursar_deferred_settlements_total', 'Settlements the store could not take at once, by what became of them (queued, written, written_late, dropped).');
  private readonly webhooks = new Counter('bursar_webhook_deliveries_total', 'Webhook delivery attempts this process made, by outcome: delivered, retry (failed, tried again later) or failed (given up).');
  private gauges = new Map<string, { help: string; read: () => number }>();
  private readonly startedS: number;

  constructor(options: { nowMs?: () => number } = {}) {
    this.startedS = Math.floor((options.nowMs ?? Date.now)() / 1000);
  }

  /** One proxied gateway call (pass as `Gateway.onCall`). */
  observeCall(outcome: ProxiedCall): void {
    const labels = { surface: 'gateway', route: routeLabel(outcome.route), code: codeLabel(outcome.code) };
    this.requests.add(labels);
    if (outcome.status >= 400) this.refusals.add(labels);
    if (outcome.upstreamMs !== undefined) this.upstream.observe({ route: labels.route }, outcome.upstreamMs / 1000);
    if (outcome.reserveMs !== undefined) this.observeReserve(outcome.reserveMs);
  }

  /** One admin API (or health) request. */
  observeApi(route: string | undefined, status: number, code: string): void {
    const labels = { surface: 'api', route: routeLabel(route), code: codeLabel(code) };
    this.requests.add(labels);
    if (status >= 400) this.refusals.add(labels);
  }

  /** How long one `store.reserve` took. */
  observeReserve(ms: number): void {
    this.reserve.observe({}, ms / 1000);
  }

  /** A settlement that had to wait for the store: queued, then written (late or not) or dropped. */
  observeDeferredSettlement(outcome: 'queued' | 'written' | 'written_late' | 'dropped'): void {
    this.settlements.add({ outcome });
  }

  /** One webhook delivery attempt and what came of it. */
  observeWebhookAttempt(outcome: 'delivered' | 'retry' | 'failed'): void {
    this.webhooks.add({ outcome });
  }

  /** Counts committed entries by kind. */
  observeEntries(entries: readonly LedgerEntry[]): void {
    for (const e of entries) {
      this.entries.add({ kind: kinds.has(e.kind) ? e.kind : 'other' });
      const spend = spendOf(e);
      if (spend && spend.micros > 0) this.settled.add({}, spend.micros);
      if (spend && spend.micros < 0) this.refunded.add({}, -spend.micros);
    }
  }

  /**
   * Counts every entry the store commits from now on; returns the function that stops it.
   *
   * @example
   * const detach = metrics.attach(store);
   */
  attach(store: Pick<Store, 'subscribe'>): () => void {
    return store.subscribe((entries) => this.observeEntries(entries));
  }

  /** A gauge read when metrics are scraped (e.g. open event streams). */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  /**
   * The same store with `reserve` timed into the reservation latency histogram. Everything
   * else passes through unchanged.
   *
   * @example
   * const store = metrics.timeReserve(await openStore({ db }));
   */
  timeReserve<S extends Store>(store: S): S {
    const observe = (ms: number) => this.observeReserve(ms);
    return new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'reserve' || typeof value !== 'function') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (input: Parameters<Store['reserve']>[0]) => {
          const startedMs = performance.now();
          try {
            return await target.reserve(input);
          } finally {
            observe(performance.now() - startedMs);
          }
        };
      },
    });
  }

  /** Everything in the Prometheus text format (version 0.0.4). */
  render(): string {
    const lines = [
      ...this.requests.render(),
      ...this.refusals.render(),
      ...this.reserve.render(),
      ...this.upstream.render(),
      ...this.entries.render(),
      ...this.settled.render(),
      ...this.refunded.render(),
      ...this.settlements.render(),
      ...this.webhooks.render(),
      '# HELP bursar_process_start_time_seconds Start time of the process since the Unix epoch in seconds.',
      '# TYPE bursar_process_start_time_seconds gauge',
      `bursar_process_start_time_seconds ${this.startedS}`,
    ];
    for (const [name, g] of this.gauges) lines.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`);
    return `${lines.join('\n')}\n`;
  }
}
