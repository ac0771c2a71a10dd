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

function missing(name: string, error: unknown): BursarError {
  return new BursarError('sdk_missing', `the ${name} package is not installed; run \`npm install ${name}\` to get a client from Bursar`, { cause: error });
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
  let module: typeof import('openai');
  try {
    module = await import('openai');
  } catch (error) {
    if (isMissing(error)) throw missing('openai', error);
    throw error;
  }
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
  let module: typeof import('@anthropic-ai/sdk');
  try {
    module = await import('@anthropic-ai/sdk');
  } catch (error) {
    if (isMissing(error)) throw missing('@anthropic-ai/sdk', error);
    throw error;
  }
  return new module.default({ ...options, baseURL: c.url, apiKey: c.token, defaultHeaders: { ...headers, ...options.defaultHeaders } });
}
