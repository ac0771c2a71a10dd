import { SpanKind, SpanStatusCode, type Attributes, type Counter, type Histogram, type Tracer } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_SYSTEM,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_MCP_METHOD_NAME,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
} from '@opentelemetry/semantic-conventions/incubating';
import { packageVersion } from '../version.js';
import type { ModelCallRecord, Telemetry, TelemetryOptions, ToolCallRecord } from './index.js';

/**
 * The OpenTelemetry side of `Telemetry`, loaded only when an endpoint is configured. Spans are
 * made when a call has ended, with its start and end times, and are not registered as the
 * process's global tracer (Bursar does not change what an embedding app's instrumentation does).
 */

/** Bursar's own span attributes, next to the GenAI ones. */
const bursarAttr = {
  costMicros: 'bursar.cost_micros',
  budget: 'bursar.budget',
  reservation: 'bursar.reservation',
  code: 'bursar.code',
  session: 'bursar.session',
  task: 'bursar.task',
  kind: 'bursar.kind',
} as const;

interface Instruments {
  spend: Counter;
  refusals: Counter;
  tokens: Histogram;
  duration: Histogram;
}

/** Attributes with the undefined ones left out (OTLP has no "absent" value). */
function defined(attributes: Record<string, string | number | boolean | undefined>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value;
  return out;
}

function bursarAttributes(r: Pick<ModelCallRecord, 'costMicros' | 'budget' | 'reservationId' | 'code' | 'session' | 'task'>): Record<string, string | number | undefined> {
  return { [bursarAttr.costMicros]: r.costMicros, [bursarAttr.budget]: r.budget, [bursarAttr.reservation]: r.reservationId, [bursarAttr.code]: r.code, [bursarAttr.session]: r.session, [bursarAttr.task]: r.task };
}

/** A call that did not end as it should: a refusal, an upstream failure, a cut stream. */
function failed(code: string): boolean {
  return code !== 'ok' && code !== 'dry_run';
}

class OtelTelemetry implements Telemetry {
  constructor(
    private readonly tracer: Tracer,
    private readonly instruments: Instruments,
    private readonly providers: { traces: BasicTracerProvider; metrics: MeterProvider },
  ) {}

  modelCall(r: ModelCallRecord): void {
    const genAi = { [ATTR_GEN_AI_OPERATION_NAME]: r.operation, [ATTR_GEN_AI_SYSTEM]: r.provider, [ATTR_GEN_AI_PROVIDER_NAME]: r.provider, [ATTR_GEN_AI_REQUEST_MODEL]: r.model };
    const attributes = defined({
      ...genAi,
      [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: r.tokensIn,
      [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: r.tokensOut,
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: r.status,
      [ATTR_ERROR_TYPE]: failed(r.code) ? r.code : undefined,
      ...bursarAttributes(r),
    });
    this.span(r.model === undefined ? r.operation : `${r.operation} ${r.model}`, attributes, r);
    const metric = defined({ ...genAi, [ATTR_GEN_AI_SYSTEM]: undefined, [bursarAttr.kind]: 'model' });
    this.measure(r, metric, r.refused);
    if (r.tokensIn !== undefined) this.instruments.tokens.record(r.tokensIn, { ...metric, [ATTR_GEN_AI_TOKEN_TYPE]: 'input' });
    if (r.tokensOut !== undefined) this.instruments.tokens.record(r.tokensOut, { ...metric, [ATTR_GEN_AI_TOKEN_TYPE]: 'output' });
  }

  toolCall(r: ToolCallRecord): void {
    const genAi = { [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL, [ATTR_GEN_AI_TOOL_NAME]: r.tool };
    const attributes = defined({ ...genAi, [ATTR_MCP_METHOD_NAME]: 'tools/call', [ATTR_ERROR_TYPE]: failed(r.code) ? r.code : undefined, ...bursarAttributes(r) });
    this.span(`${GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL} ${r.tool}`, attributes, r);
    this.measure(r, defined({ ...genAi, [bursarAttr.kind]: 'tool' }), r.refused);
  }

  private span(name: string, attributes: Attributes, r: { code: string; startedMs: number; endedMs: number }): void {
    const span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, startTime: r.startedMs, attributes });
    span.setStatus(failed(r.code) ? { code: SpanStatusCode.ERROR, message: r.code } : { code: SpanStatusCode.OK });
    span.end(Math.max(r.startedMs, r.endedMs));
  }

  private measure(r: { code: string; costMicros?: number; startedMs: number; endedMs: number }, attributes: Attributes, refused: boolean): void {
    if (r.costMicros !== undefined && r.costMicros > 0) this.instruments.spend.add(r.costMicros, attributes);
    if (refused) this.instruments.refusals.add(1, { ...attributes, [bursarAttr.code]: r.code });
    this.instruments.duration.record(Math.max(0, r.endedMs - r.startedMs) / 1_000, defined({ ...attributes, [ATTR_ERROR_TYPE]: failed(r.code) ? r.code : undefined }));
  }

  async flush(): Promise<void> {
    await Promise.all([this.providers.traces.forceFlush(), this.providers.metrics.forceFlush()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.providers.traces.shutdown(), this.providers.metrics.shutdown()]);
  }
}

/** Instruments on a meter: spend and refusals (Bursar's), token usage and duration (GenAI's). */
function instrumentsOf(metrics: MeterProvider): Instruments {
  const meter = metrics.getMeter('bursar', packageVersion());
  return {
    spend: meter.createCounter('bursar.spend', { unit: '{micro_usd}', description: 'What calls through Bursar were charged, in micro-USD (1 USD = 1,000,000).' }),
    refusals: meter.createCounter('bursar.refusals', { unit: '{refusal}', description: 'Calls Bursar refused before forwarding them, by code.' }),
    tokens: meter.createHistogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, { unit: '{token}', description: 'Tokens used per model call, by gen_ai.token.type.' }),
    duration: meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_DURATION, { unit: 's', description: 'How long each proxied call took.' }),
  };
}

/**
 * Exports spans (batched) and metrics (every `metricIntervalMs`) to `endpoint` over OTLP/HTTP
 * with JSON bodies.
 *
 * @example
 * const telemetry = startOtel({ endpoint: 'http://127.0.0.1:4318', serviceName: 'bursar' });
 */
export function startOtel(options: TelemetryOptions): Telemetry {
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName, [ATTR_SERVICE_VERSION]: packageVersion() });
  const traces = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` }))] });
  const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${options.endpoint}/v1/metrics` }), ...(options.metricIntervalMs === undefined ? {} : { exportIntervalMillis: options.metricIntervalMs }) });
  const metrics = new MeterProvider({ resource, readers: [reader] });
  return new OtelTelemetry(traces.getTracer('bursar', packageVersion()), instrumentsOf(metrics), { traces, metrics });
}
