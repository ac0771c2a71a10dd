import { beforeAll, it } from 'vitest';
import { expectAnswerSettled, expectRetriedAfter429, expectStreamSettled, importReadmeExample, useFrameworkServer, type FrameworkExample, type FrameworkServer } from './examples.js';

/**
 * One harness for the README's framework examples (AI SDK, LangChain, OpenAI Agents): a gateway
 * per file, the example imported once it is up, and the cases every framework must pass, each
 * named in the framework's own words.
 */

/** A framework's README example and the gateway it runs against, as its tests see them. */
export interface FrameworkSuite<T extends FrameworkExample> extends FrameworkServer {
  /** The example module, imported once the gateway is up. */
  readonly example: T;
}

/**
 * Starts the gateway for a test file and imports a framework's README example once it is up.
 *
 * @example
 * const s = useFrameworkExample<AiSdkExample>('ai-sdk.ts');
 */
export function useFrameworkExample<T extends FrameworkExample>(file: string): FrameworkSuite<T> {
  let example: T | undefined;
  const s = Object.defineProperty(useFrameworkServer(), 'example', {
    get: (): T => {
      if (!example) throw new Error(`${file} is not imported yet`);
      return example;
    },
  }) as FrameworkSuite<T>;
  beforeAll(async () => {
    example = await importReadmeExample<T>(file);
  });
  return s;
}

/** Declares the case every framework passes: a plain answer through `route`, settled at its cost. */
export function itSettlesAnAnswer(s: FrameworkSuite<FrameworkExample>, name: string, route: string): void {
  it(name, async () => {
    // Proves the framework works with only the gateway's base URL and a token: the call is reserved, forwarded and settled at a non-zero cost.
    await expectAnswerSettled(s, s.example, route);
  });
}

/** Declares the case every framework passes: a stream through `route`, relayed in parts and settled from its usage. */
export function itSettlesAStream(s: FrameworkServer, name: string, route: string, stream: (token: string, onText: (text: string) => void) => Promise<void>): void {
  it(name, async () => {
    // Proves the framework's stream goes through the gateway, is relayed in parts, and is settled from its usage.
    await expectStreamSettled(s, route, stream);
  });
}

/** Declares the case every framework passes: a 429 too_many_inflight waited out for its Retry-After. */
export function itWaitsOutA429(s: FrameworkSuite<FrameworkExample>): void {
  it('waits out a 429 too_many_inflight for its Retry-After and succeeds on the retry', async () => {
    // Proves the framework's own retry honours Bursar's Retry-After: the in-flight slot frees and the second attempt is admitted.
    await expectRetriedAfter429(s, s.example);
  });
}
