/**
 * Builds the dashboard once for the browser tests, from the current web/ sources into a
 * temporary folder (so a stale dist/web is never what is tested), and removes it afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    dashboardDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-web-'));
  await build({ configFile: fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url)), logLevel: 'error', build: { outDir: dir, emptyOutDir: true } });
  project.provide('dashboardDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
