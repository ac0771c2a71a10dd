/**
 * Optional OpenTelemetry export: a span per proxied call (a model call through the gateway, a
 * tool call through the MCP proxy) following the GenAI semantic conventions, with Bursar's own
 * `bursar.*` attributes, and metrics for spend and refusals, sent over OTLP/HTTP (JSON).
 *
 * Off by default, and then it costs nothing: the `@opentelemetry/*` modules are imported only
 * by `startTelemetry`, when an endpoint is configured; a server without one never loads them.
 *
 * @example
 * const telemetry = endpoint === undefined ? undefined : await startTelemetry({ endpoint, serviceName: 'bursar' });
 * telemetry?.modelCall({ provider: 'openai', model: 'gpt-4o-mini', code: 'ok', … });
 */

/** What every call a span records has: how it ended, what it cost, where it was reserved, when. */
interface CallRecordBase {
  /** `ok`, or the code the call ended with (`budget_exceeded`, `upstream_error`…). */
  code: string;
  /** True when Bursar refused the call before forwarding it. */
  refused: boolean;
  costMicros?: number;
  /** The budget the call reserved on (its token's envelope), or the budget that refused it. */
  budget?: string;
  reservationId?: string;
  session?: string;
  task?: string;
  startedMs: number;
  endedMs: number;
}

/** One model call the gateway proxied (or refused), as a span and as metrics. */
export interface ModelCallRecord extends CallRecordBase {
  /** `openai` or `anthropic`, when known. */
  provider?: string;
  /** The catalog model, once the request was read. */
  model?: string;
  /** The GenAI operation: `chat` or `embeddings`. */
  operation: 'chat' | 'embeddings';
  /** The gateway route, e.g. /v1/chat/completions. */
  route: string;
  status: number;
  tokensIn?: number;
  tokensOut?: number;
}

/** One tool call the MCP proxy forwarded (or refused). */
export interface ToolCallRecord extends CallRecordBase {
  tool: string;
}

/** Where spans and metrics go. */
export interface Telemetry {
  modelCall(record: ModelCallRecord): void;
  toolCall(record: ToolCallRecord): void;
  /** Sends what is buffered now. */
  flush(): Promise<void>;
  /** Sends what is buffered and stops exporting. */
  close(): Promise<void>;
}

export interface TelemetryOptions {
  /** The OTLP/HTTP base URL (the collector's, e.g. http://127.0.0.1:4318); `/v1/traces` and `/v1/metrics` are appended. */
  endpoint: string;
  /** `service.name` of the resource. */
  serviceName: string;
  /** How often metrics are exported (default 60 s, or OTEL_METRIC_EXPORT_INTERVAL). */
  metricIntervalMs?: number;
}

/** A configuration error a person must fix (a malformed endpoint or export interval). */
export class TelemetryConfigError extends Error {
  override name = 'TelemetryConfigError';
  constructor(
    readonly code: 'invalid_otel_endpoint' | 'invalid_otel_interval',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The endpoint checked: an http(s) URL, without a trailing slash.
 *
 * @example
 * otlpEndpoint('http://collector:4318/') // 'http://collector:4318'
 */
export function otlpEndpoint(value: string): string {
  const invalid = new TelemetryConfigError('invalid_otel_endpoint', `the OTLP endpoint must be an http(s) URL like http://127.0.0.1:4318; got ${JSON.stringify(value)}`);
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    throw invalid;
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw invalid;
  return value.replace(/\/+$/, '');
}

/**
 * The metric export interval the standard variable sets (`OTEL_METRIC_EXPORT_INTERVAL`, in
 * milliseconds), or undefined for the default of 60 s.
 *
 * @example
 * metricIntervalMsFrom({ OTEL_METRIC_EXPORT_INTERVAL: '10000' }) // 10000
 */
export function metricIntervalMsFrom(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const text = env.OTEL_METRIC_EXPORT_INTERVAL;
  if (text === undefined || text === '') return undefined;
  const ms = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(ms >= 1)) throw new TelemetryConfigError('invalid_otel_interval', `OTEL_METRIC_EXPORT_INTERVAL must be a whole number of milliseconds from 1; got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * Starts exporting to an OTLP/HTTP endpoint; the OpenTelemetry modules load here, and only here.
 *
 * @example
 * const telemetry = await startTelemetry({ endpoint: 'http://127.0.0.1:4318', serviceName: 'bursar' });
 * await telemetry.close();
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const endpoint = otlpEndpoint(options.endpoint);
  const { startOtel } = await import('./otel.js');
  return startOtel({ ...options, endpoint });
}
