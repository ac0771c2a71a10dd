import type Anthropic from '@anthropic-ai/sdk';
import type { ClientOptions as AnthropicOptions } from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import type { ClientOptions as OpenAIOptions } from 'openai';
import type { Connection } from './backend.js';
import { BursarError } from './types.js';

/**
 * The official provider SDKs pointed at the gateway with a spend token. `openai` and
 * `@anthropic-ai/sdk` are optional peer dependencies: they are imported only when a client is
 * asked for, so Bursar works without them; asking without the package installed throws
 * `BursarError('sdk_missing')` saying what to install.
 */

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Imports an optional peer dependency, or throws `sdk_missing` naming what to install. */
async function optional<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isMissing(error)) throw error;
    throw new BursarError('sdk_missing', `the ${name} package is not installed; run \`npm install ${name}\` to get a client from Bursar`, { cause: error });
  }
}

/**
 * An OpenAI client whose requests go through the gateway with the spend token, labelled with
 * the given headers (x-bursar-session, x-bursar-task). Options are passed through; `baseURL`
 * and `apiKey` are Bursar's.
 *
 * @example
 * const openai = await openaiClient({ url: 'http://127.0.0.1:8787', token }, { 'x-bursar-session': 'run-42' });
 * await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
 */
export async function openaiClient(c: Connection, headers: Record<string, string>, options: OpenAIOptions = {}): Promise<OpenAI> {
  const module = await optional('openai', () => import('openai'));
  return new module.default({ ...options, baseURL: `${c.url}/v1`, apiKey: c.token, defaultHeaders: { ...headers, ...options.defaultHeaders } });
}

/**
 * An Anthropic client whose requests go through the gateway with the spend token (sent as
 * `x-api-key`), labelled with the given headers.
 *
 * @example
 * const anthropic = await anthropicClient({ url: 'http://127.0.0.1:8787', token }, {});
 * await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });
 */
export async function anthropicClient(c: Connection, headers: Record<string, string>, options: AnthropicOptions = {}): Promise<Anthropic> {
  const module = await optional('@anthropic-ai/sdk', () => import('@anthropic-ai/sdk'));
  return new module.default({ ...options, baseURL: c.url, apiKey: c.token, defaultHeaders: { ...headers, ...options.defaultHeaders } });
}
