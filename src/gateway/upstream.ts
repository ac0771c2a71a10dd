import { Agent, request, type Dispatcher } from 'undici';
import type { Provider } from './errors.js';
import { gatewayLimits } from './limits.js';

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
  private readonly agent: Agent;

  constructor(readonly config: UpstreamConfig) {
    this.agent = new Agent({ connections: gatewayLimits.upstreamConnectionsMax, keepAliveTimeout: gatewayLimits.upstreamKeepAliveMs, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
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
    return request(this.url(provider, route), { method: 'POST', headers: this.headers(provider, incoming), body, signal, dispatcher: this.agent });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
