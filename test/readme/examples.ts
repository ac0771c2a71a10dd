import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { CallOutcome } from '../../src/gateway/index.js';
import type { LedgerEntry } from '../../src/core/index.js';
import { repoRoot } from '../cli/cli-harness.js';
import { useHarness, type Harness } from '../gateway/harness.js';

/**
 * The README's examples, run as they are written. An example is a fenced code block whose first
 * line names it (`// ai-sdk.ts: …`); a test writes it to a module under .tmp (an import of
 * 'bursar' pointed at this clone's source) and imports it, so the README cannot drift from what
 * the tests run.
 */

const readme = (): string => readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** Every code block of the README with its language. */
export function readmeBlocks(): { lang: string; code: string }[] {
  return [...readme().matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? '', code: m[2] ?? '' }));
}

/** The names of the README's examples (`ai-sdk.ts`, …): TypeScript blocks whose first line names a file. */
export function readmeExampleNames(): string[] {
  return readmeBlocks().flatMap((b) => (b.lang === 'ts' ? (/^\/\/ ([\w-]+\.ts):/.exec(b.code)?.[1] ?? []) : []));
}

/** The example named `name`, exactly as the README shows it. */
export function readmeExample(name: string): string {
  const found = readmeBlocks().filter((b) => b.lang === 'ts' && b.code.startsWith(`// ${name}:`));
  expect(found, `README blocks named ${name}`).toHaveLength(1);
  return found[0]?.code ?? '';
}

/** The shell block that comes right before the example named `name`. */
export function readmeShellBefore(name: string): string {
  const blocks = readmeBlocks();
  const at = blocks.findIndex((b) => b.lang === 'ts' && b.code.startsWith(`// ${name}:`));
  const before = blocks[at - 1];
  expect(before?.lang, `the block before ${name}`).toBe('sh');
  return before?.code ?? '';
}

const runDir = join(repoRoot, '.tmp', 'readme');
let written = 0;

/**
 * Imports a README example as a module (its top-level code runs now, with the environment as
 * it is). `from 'bursar'` becomes this clone's `src/index.ts`; nothing else changes.
 */
export async function importReadmeExample<T>(name: string): Promise<T> {
  mkdirSync(runDir, { recursive: true });
  const file = join(runDir, `${name.replace(/\.ts$/, '')}-${process.pid}-${(written += 1)}.ts`);
  const code = readmeExample(name).replaceAll("from 'bursar';", `from '${join(repoRoot, 'src', 'index.ts')}';`);
  writeFileSync(file, code);
  try {
    return (await import(file)) as T;
  } finally {
    rmSync(file, { force: true });
  }
}

/** What a framework example module offers the tests. */
export interface FrameworkExample {
  answer(token: string, question: string): Promise<string>;
  overBudget(error: unknown): boolean;
}

/**
 * Asks `example.answer` with a fresh token and checks the call went through `route` and was
 * settled in the ledger at the cost the gateway reported, above zero.
 */
export async function expectAnswerSettled(s: FrameworkServer, example: FrameworkExample, route: string): Promise<void> {
  const token = await s.h.mint();
  const text = await example.answer(token.secret, 'Name one budget risk');
  expect(text.length).toBeGreaterThan(0);
  const call = s.calls.at(-1);
  expect(call).toMatchObject({ route, status: 200, code: 'ok', model: 'gpt-4o-mini' });
  const [settle, ...more] = await s.settles(token.envelope);
  expect(more).toEqual([]);
  expect(settle?.amountMicros).toBeGreaterThan(0);
  expect(settle?.amountMicros).toBe(call?.costMicros);
}

/** Streams with a fresh token (`stream` runs the example) and checks the stream was relayed in parts and settled above zero. */
export async function expectStreamSettled(s: FrameworkServer, route: string, stream: (token: string, onText: (text: string) => void) => Promise<void>): Promise<void> {
  const token = await s.h.mint();
  const parts: string[] = [];
  await stream(token.secret, (text) => parts.push(text));
  expect(parts.join('').length).toBeGreaterThan(0);
  expect(parts.length).toBeGreaterThan(1);
  expect(s.calls.at(-1)).toMatchObject({ route, status: 200, code: 'ok' });
  const [settle] = await s.settles(token.envelope);
  expect(settle?.amountMicros).toBeGreaterThan(0);
}

/** Asks `example.answer` with a token whose slot is taken: one 429, the framework's own retry after Retry-After, one settlement. */
export async function expectRetriedAfter429(s: FrameworkServer, example: FrameworkExample): Promise<void> {
  const token = await s.busyToken();
  expect((await example.answer(token.secret, 'Hi')).length).toBeGreaterThan(0);
  expect(token.refusals()).toBe(1);
  expect(await s.settles(token.envelope)).toHaveLength(1);
}

/** A gateway (mock provider) for one test file, with every proxied call's outcome recorded. */
export interface FrameworkServer {
  h: Harness;
  calls: CallOutcome[];
  /** Settlements on a token's envelope. */
  settles(envelope: string): Promise<LedgerEntry[]>;
  /**
   * A token whose one in-flight slot is taken, so its next call is refused with 429
   * `too_many_inflight`; the slot frees as soon as that refusal is answered. `refusals()`
   * says how many 429s it got.
   */
  busyToken(): Promise<{ secret: string; envelope: string; refusals(): number }>;
}

/**
 * Starts one gateway for a test file, with `BURSAR_URL` pointing at it before the examples are
 * imported.
 *
 * @example
 * const s = useFrameworkServer();
 * beforeAll(async () => (example = await importReadmeExample('ai-sdk.ts')));
 */
export function useFrameworkServer(): FrameworkServer {
  const calls: CallOutcome[] = [];
  let onRateLimited: (() => void) | undefined;
  let h: Harness | undefined;
  const harness = (): Harness => {
    if (!h) throw new Error('the gateway is not started yet');
    return h;
  };
  useHarness((started) => (h = started), {
    onCall: (outcome) => {
      calls.push(outcome);
      if (outcome.status === 429) onRateLimited?.();
    },
  });
  let before: string | undefined;
  beforeAll(() => {
    before = process.env.BURSAR_URL;
    process.env.BURSAR_URL = harness().server.url;
  });
  afterAll(() => {
    if (before === undefined) delete process.env.BURSAR_URL;
    else process.env.BURSAR_URL = before;
  });
  return {
    calls,
    get h() {
      return harness();
    },
    async settles(envelope: string): Promise<LedgerEntry[]> {
      const budget = await harness().server.store.getBudget(envelope);
      return (await harness().entries(['settle'])).filter((e) => e.budgetId === budget?.id);
    },
    async busyToken() {
      const store = harness().server.store;
      const token = await harness().mint({ inflightMax: 1, limitMicros: 1_000_000 });
      const held = await store.reserve({ path: token.envelope, amountMicros: 1 });
      if (!held.ok) throw new Error(held.message);
      let refusals = 0;
      onRateLimited = () => {
        refusals += 1;
        onRateLimited = undefined;
        void store.void({ reservationId: held.reservation.id });
      };
      return { ...token, refusals: () => refusals };
    },
  };
}
