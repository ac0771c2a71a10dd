/**
 * A real `bursar serve` in a child process (the CLI entry under tsx), pointed at a mock provider
 * that lives in the test process, so the provider and its bill survive when the gateway is
 * killed. Used by the crash tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { newSpendToken } from '../../src/core/index.js';
import type { Store } from '../../src/store/index.js';
import { bundledCatalog, priceUsage, resolveModel } from '../../src/pricing/index.js';
import type { MockBillByModel } from '../../src/mock-upstream/index.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const mainPath = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** Everything it printed on stdout (its banner). */
  stdout(): string;
  /** Everything it printed on stderr (its operational log). */
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `bursar serve --json` on a free port and resolves once it listens.
 *
 * @example
 * const g = await startGatewayProcess({ db: file, upstreamUrl: mock.url, args: ['--upstream-timeout', '2000'] });
 */
export async function startGatewayProcess(options: { db: string; upstreamUrl: string; args?: string[]; env?: Record<string, string> }): Promise<GatewayProcess> {
  const env = { ...process.env, BURSAR_ADMIN_KEY: 'crash-test-admin-key-0123456789', BURSAR_OPENAI_BASE_URL: `${options.upstreamUrl}/v1`, BURSAR_ANTHROPIC_BASE_URL: options.upstreamUrl, OPENAI_API_KEY: 'sk-mock', ANTHROPIC_API_KEY: 'sk-ant-mock', ...options.env };
  const child = spawn(process.execPath, ['--import', 'tsx', mainPath, 'serve', '--json', '--db', options.db, '--port', '0', ...(options.args ?? [])], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /"url":\s*"(http:[^"]+)"/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(({ code }) => reject(new Error(`gateway exited (${code}) before listening: ${err}`)));
  });
  return { url, child, stdout: () => out, stderr: () => err, exited };
}

/** The provider's bill in micros, priced at the catalog (the provider's price list). */
export function billMicros(bill: MockBillByModel): number {
  let total = 0;
  for (const [model, line] of Object.entries(bill)) {
    const resolved = resolveModel(model, bundledCatalog());
    if (!resolved.ok) throw new Error(`the mock billed an unpriced model ${model}`);
    total += priceUsage(resolved.entry, { inputTokens: line.inputTokens, outputTokens: line.outputTokens, cachedTokens: line.cachedTokens, cacheWriteTokens: line.cacheWriteTokens }).costMicros;
  }
  return total;
}

/** How the crash tests' provider answers: the whole output cap, streamed in 200 chunks 100 ms apart. */
export const slowProvider = { outputTokens: 'max', chunks: 200, chunkDelayMs: 100 } as const;

/**
 * Starts `count` streamed calls that each want `maxTokens` output, paced by the mock, and
 * resolves once every one has received content; the streams keep running (or break) after.
 */
export async function startStreams(client: OpenAI, count: number, maxTokens: number): Promise<void> {
  let started = 0;
  await new Promise<void>((resolve, reject) => {
    for (let i = 0; i < count; i += 1) {
      const run = async () => {
        const stream = await client.chat.completions.create(
          { model: 'gpt-4o-mini', max_tokens: maxTokens, stream: true, messages: [{ role: 'user', content: `long task ${i}` }] },
        );
        let seen = false;
        for await (const chunk of stream) {
          if (!seen && (chunk.choices[0]?.delta?.content ?? '') !== '') {
            seen = true;
            started += 1;
            if (started === count) resolve();
          }
        }
      };
      run().catch((error: unknown) => {
        // Streams are cut when the gateway dies: that is the point. Only a failure to start counts.
        if (started < count) reject(error instanceof Error ? error : new Error(String(error)));
      });
    }
  });
}

/** Spends through the gateway with (non-streamed) calls that cost their whole hold, until the budget refuses one. */
export async function spendUntilRefused(client: OpenAI, maxTokens: number, callsMax: number): Promise<{ calls: number; code: string }> {
  for (let calls = 0; calls < callsMax; calls += 1) {
    try {
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages: [{ role: 'user', content: 'spend' }] });
    } catch (error) {
      return { calls, code: String((error as { code?: unknown }).code) };
    }
  }
  return { calls: callsMax, code: 'none' };
}

/** The crash tests' agent limit: $0.10. */
export const limitMicros = 100_000;

/** An agent with a $0.10 limit and room for every stream in flight, and a token on it without a limit of its own. */
export async function seedAgent(store: Store): Promise<string> {
  const must = <T extends { ok: boolean }>(r: T): T => {
    if (!r.ok) throw new Error(JSON.stringify(r));
    return r;
  };
  must(await store.createBudget({ path: 'acme', kind: 'org' }));
  // The tests race one request many times; the agent's loop limit (tested on its own) would stop them first.
  must(await store.createBudget({ path: 'acme/bot', kind: 'agent', limitMicros, policy: { inflightMax: 100, loopLimit: 'off' } }));
  const token = newSpendToken((n) => randomBytes(n));
  must(await store.mintToken({ path: 'acme/bot', tokenId: token.id, hash: token.hash }));
  return token.secret;
}

/** Polls a read handle until `check` holds (effects of another process land asynchronously). */
export async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
