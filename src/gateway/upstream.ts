import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';
import type { Provider } from './errors.js';
import { gatewayLimits } from './limits.js';

// undici's connection pool and its request function only: the package's index also loads fetch,
// WebSocket, caches and mocks, which this server never uses (several MB of memory for nothing).
const requireUndici = createRequire(import.meta.url);
const Agent = requireUndici('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
const dispatchRequest = requireUndici('undici/lib/api/api-request.js') as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

export interface UpstreamConfig {
  /** OpenAI base URL including `/v1` (as the OpenAI SDK takes it). */
  openaiBaseUrl: string;
  /** Anthropic base URL without `/v1` (as the Anthropic SDK takes it). */
  anthropicBaseUrl: string;
  openaiApiKey: string | undefined;
  anthropicApiKey: string | undefined;
  timeoutMs: number;
  /** Also pass request headers with these prefixes (the mock provider's `x-mock-` controls). */
  passHeaderPrefixes?: readonly string[];
}

/** Client request headers passed through to the provider (never credentials). */
const passThrough = ['anthropic-version', 'anthropic-beta', 'openai-organization', 'openai-project', 'openai-beta', 'user-agent'];

/**
 * Forwards calls to the providers over keep-alive connection pools, with the upstream key (never
 * the client's spend token) and a timeout.
 */
export class Upstream {
  private readonly agent: UndiciAgent;

  constructor(readonly config: UpstreamConfig) {
    this.agent = new Agent({ connections: gatewayLimits.upstreamConnectionsMax, keepAliveTimeout: gatewayLimits.upstreamKeepAliveMs, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
  }

  /** The base URL calls for `provider` go to, as configured. */
  baseUrl(provider: Provider): string {
    return provider === 'anthropic' ? this.config.anthropicBaseUrl : this.config.openaiBaseUrl;
  }

  /** The host (and port, when not the scheme's) calls for `provider` go to, for messages. */
  host(provider: Provider): string {
    try {
      return new URL(this.baseUrl(provider)).host;
    } catch {
      return this.baseUrl(provider);
    }
  }

  /** True when calls for `provider` carry a provider key. */
  keyed(provider: Provider): boolean {
    return (provider === 'anthropic' ? this.config.anthropicApiKey : this.config.openaiApiKey) !== undefined;
  }

  url(provider: Provider, route: string): string {
    if (provider === 'anthropic') return `${this.config.anthropicBaseUrl.replace(/\/$/, '')}${route}`;
    return `${this.config.openaiBaseUrl.replace(/\/$/, '')}${route.replace(/^\/v1/, '')}`;
  }

  headers(provider: Provider, incoming: Record<string, string | string[] | undefined>): Record<string, string> {
    const out: Record<string, string> = { 'content-type': 'application/json' };
    for (const name of passThrough) {
      const value = incoming[name];
      if (typeof value === 'string') out[name] = value;
    }
    for (const prefix of this.config.passHeaderPrefixes ?? []) {
      for (const [name, value] of Object.entries(incoming)) if (name.startsWith(prefix) && typeof value === 'string') out[name] = value;
    }
    if (provider === 'anthropic') {
      out['anthropic-version'] ??= '2023-06-01';
      if (this.config.anthropicApiKey) out['x-api-key'] = this.config.anthropicApiKey;
    } else if (this.config.openaiApiKey) {
      out.authorization = `Bearer ${this.config.openaiApiKey}`;
    }
    return out;
  }

  /** Sends one call; the caller reads (or discards) the body. */
  send(provider: Provider, route: string, incoming: Record<string, string | string[] | undefined>, body: string, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    const { origin, path } = this.target(provider, route);
    return dispatchRequest.call(this.agent, { origin, path, method: 'POST', headers: this.headers(provider, incoming), body, signal });
  }

  /** Origin and path of a route's URL, parsed once per URL (there is one per provider route). */
  private target(provider: Provider, route: string): { origin: string; path: string } {
    const url = this.url(provider, route);
    let target = this.targets.get(url);
    if (target === undefined) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      this.targets.set(url, target);
    }
    return target;
  }

  private readonly targets = new Map<string, { origin: string; path: string }>();

  async close(): Promise<void> {
    await this.agent.close();
  }
}

const causes: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening there (ECONNREFUSED)',
  ENOTFOUND: 'the host name does not resolve (ENOTFOUND)',
  EAI_AGAIN: 'the host name could not be resolved right now (EAI_AGAIN)',
  ECONNRESET: 'the connection was reset (ECONNRESET)',
  ETIMEDOUT: 'connecting timed out (ETIMEDOUT)',
  EHOSTUNREACH: 'the host is unreachable (EHOSTUNREACH)',
  ENETUNREACH: 'the network is unreachable (ENETUNREACH)',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out (UND_ERR_CONNECT_TIMEOUT)',
  UND_ERR_SOCKET: 'the connection closed before an answer (UND_ERR_SOCKET)',
};

/**
 * Why a call could not reach its provider, in words with the system's code, for the 502 a
 * client gets (never anything from the request or its credentials).
 *
 * @example
 * upstreamFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })) // 'nothing is listening there (ECONNREFUSED)'
 */
export function upstreamFailure(error: unknown): string {
  const e = error instanceof Error ? (error as NodeJS.ErrnoException & { cause?: unknown }) : undefined;
  const code = e?.code ?? (e?.cause instanceof Error ? (e.cause as NodeJS.ErrnoException).code : undefined);
  if (code !== undefined) return causes[code] ?? `${code}${e?.message ? `: ${e.message}` : ''}`;
  if (e?.name === 'AbortError') return 'the call was aborted';
  return e ? `${e.name}: ${e.message}` : String(error);
}
