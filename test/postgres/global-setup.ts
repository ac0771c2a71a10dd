/**
 * Gives every PostgreSQL test a real server: DATABASE_URL when it is set (CI may provide one),
 * otherwise a throwaway server started here and removed when the run ends. Never skipped.
 */
import type { TestProject } from 'vitest/node';
import { startThrowawayServer } from './pg-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const url = process.env.DATABASE_URL;
  if (url) {
    project.provide('pgUrl', url);
    return undefined;
  }
  const server = await startThrowawayServer();
  project.provide('pgUrl', server.url);
  return () => server.stop();
}
