import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { newSpendToken } from '../../src/core/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';

/**
 * The browser tests' parts: a real Bursar server (SQLite file, the mock provider, the built
 * dashboard) that can be restarted on the same file and port, and Debian's Chromium driven
 * by playwright-core with a fresh profile. Never a downloaded browser.
 */

export const adminKey = 'web-test-admin-key-0123456789';
export const viewerKey = 'web-test-viewer-key-0123456789';
export const usd = (n: number) => Math.round(n * 1_000_000);

export const chromiumPath = '/usr/bin/chromium';
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface Browser {
  context: BrowserContext;
  /** A new tab (its own sessionStorage), recording uncaught errors and console errors. */
  page(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** One Chromium for a test file, with a fresh user-data-dir removed on close. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`the browser tests drive Debian's Chromium at ${chromiumPath}: apt-get install -y chromium (.ci/run does)`);
  const profile = mkdtempSync(join(tmpdir(), 'bursar-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, args: chromiumArgs, headless: true, viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  return {
    context,
    async page() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      return { page, errors };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface DashboardServer {
  server: RunningServer;
  url: string;
  db: string;
  /** Closes the server and starts it again on the same file and port. */
  restart(between?: () => Promise<void>): Promise<void>;
  /** Mints a spend token on a budget and returns an OpenAI client that spends with it. */
  client(budget: string, session?: string): Promise<OpenAI>;
  close(): Promise<void>;
}

/** Starts Bursar with the dashboard built by the global setup, on a temporary SQLite file. */
export async function startDashboardServer(dashboardDir: string): Promise<DashboardServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-web-db-'));
  const db = join(dir, 'bursar.db');
  const start = (port: number) => startServer({ port, db, mockUpstream: true, env: {}, adminKeys: { admin: [adminKey], viewer: [viewerKey] }, dashboard: dashboardDir });
  const h: DashboardServer = {
    server: await start(0),
    url: '',
    db,
    async restart(between) {
      const port = h.server.port;
      await h.server.close();
      await between?.();
      h.server = await start(port);
    },
    async client(budget, session) {
      const t = newSpendToken((n) => randomBytes(n));
      const minted = await h.server.store.mintToken({ path: budget, tokenId: t.id, hash: t.hash, limitMicros: null });
      if (!minted.ok) throw new Error(JSON.stringify(minted));
      return new OpenAI({ baseURL: `${h.url}/v1`, apiKey: t.secret, maxRetries: 0, defaultHeaders: session ? { 'x-bursar-session': session } : {} });
    },
    async close() {
      await h.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  h.url = h.server.url;
  return h;
}

/** Creates budgets through the store; throws on a refusal. */
export async function createBudgets(server: RunningServer, budgets: { path: string; kind: 'org' | 'team' | 'agent'; limitMicros: number | null; period?: 'none' | 'day' | 'month' }[]): Promise<void> {
  for (const b of budgets) {
    const made = await server.store.createBudget({ path: b.path, kind: b.kind, limitMicros: b.limitMicros, period: b.period ?? 'none', policy: b.kind === 'agent' ? { inflightMax: 64 } : undefined });
    if (!made.ok) throw new Error(JSON.stringify(made));
  }
}

/** Opens the dashboard and signs in with `key`; resolves once the event stream is live. */
export async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
}

/** One chat completion; `outputTokens` sets what the mock provider generates (and so the cost). */
export async function call(client: OpenAI, o: { outputTokens?: number; model?: string; maxTokens?: number; task?: string } = {}): Promise<void> {
  const headers: Record<string, string> = { 'x-mock-output-tokens': String(o.outputTokens ?? 16) };
  if (o.task) headers['x-bursar-task'] = o.task;
  await client.chat.completions.create(
    { model: o.model ?? 'gpt-4o-mini', messages: [{ role: 'user', content: 'Summarise the market for electric bikes in one line.' }], max_tokens: o.maxTokens ?? 4_000 },
    { headers },
  );
}
