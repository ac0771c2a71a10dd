/**
 * Screenshots of every dashboard page for the README: builds the dashboard, starts a server on
 * a temporary SQLite file with the mock provider, replays an afternoon of a small agent
 * fleet through the OpenAI SDK, and photographs each page with Debian's Chromium.
 *
 *   npm run screenshots            # writes docs/screenshots/*.png
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { adminKey, call, createBudgets, launchBrowser, signIn, startDashboardServer, usd, viewerKey, type DashboardServer } from '../test/web/harness.js';

const out = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

const fleet = [
  { path: 'acme', kind: 'org', limitMicros: usd(250), period: 'month' },
  { path: 'acme/research', kind: 'team', limitMicros: usd(120), period: 'month' },
  { path: 'acme/research/market-researcher', kind: 'agent', limitMicros: usd(10), period: 'day' },
  { path: 'acme/research/competitor-scout', kind: 'agent', limitMicros: usd(10), period: 'day' },
  { path: 'acme/research/data-cleaner', kind: 'agent', limitMicros: usd(5), period: 'day' },
  { path: 'acme/marketing', kind: 'team', limitMicros: usd(60), period: 'month' },
  { path: 'acme/marketing/copywriter', kind: 'agent', limitMicros: usd(10), period: 'day' },
  { path: 'acme/marketing/seo-auditor', kind: 'agent', limitMicros: usd(5), period: 'day' },
  { path: 'acme/engineering', kind: 'team', limitMicros: usd(50), period: 'month' },
  { path: 'acme/engineering/code-reviewer', kind: 'agent', limitMicros: usd(20), period: 'day' },
  { path: 'acme/engineering/test-writer', kind: 'agent', limitMicros: usd(0.5), period: 'day' },
  { path: 'globex', kind: 'org', limitMicros: usd(40), period: 'month' },
  { path: 'globex/ops', kind: 'team', limitMicros: null, period: 'none' },
  { path: 'globex/ops/on-call-bot', kind: 'agent', limitMicros: usd(10), period: 'day' },
] as const;

/** Each agent's afternoon: calls in one session, output tokens growing or shrinking. */
const runs: { agent: string; session: string; task: string; model: string; calls: number; from: number; to: number }[] = [
  { agent: 'acme/research/market-researcher', session: 'research-0412', task: 'ev-bikes', model: 'gpt-5.6-sol', calls: 14, from: 6_000, to: 30_000 },
  { agent: 'acme/research/competitor-scout', session: 'scout-77', task: 'pricing-pages', model: 'gpt-5.6-sol', calls: 8, from: 9_000, to: 5_000 },
  { agent: 'acme/research/data-cleaner', session: 'clean-3', task: 'dedupe', model: 'gpt-4o-mini', calls: 12, from: 400, to: 420 },
  { agent: 'acme/marketing/copywriter', session: 'launch-copy', task: 'landing', model: 'gpt-5.6-sol', calls: 6, from: 3_000, to: 4_000 },
  { agent: 'acme/marketing/seo-auditor', session: 'seo-week-49', task: 'audit', model: 'gpt-4o-mini', calls: 5, from: 900, to: 800 },
  { agent: 'acme/engineering/code-reviewer', session: 'pr-1183', task: 'review', model: 'gpt-5.6-sol', calls: 10, from: 4_000, to: 2_500 },
  { agent: 'globex/ops/on-call-bot', session: 'incident-552', task: 'triage', model: 'gpt-5.6-sol', calls: 7, from: 2_000, to: 6_000 },
];

async function replay(s: DashboardServer): Promise<void> {
  await createBudgets(s.server, fleet.map((b) => ({ ...b })));
  for (const r of runs) {
    const client = await s.client(r.agent, r.session);
    for (let i = 0; i < r.calls; i += 1) {
      const outputTokens = Math.round(r.from + ((r.to - r.from) * i) / Math.max(1, r.calls - 1));
      await call(client, { model: r.model, outputTokens, maxTokens: r.model === 'gpt-4o-mini' ? 4_000 : 40_000, task: r.task });
    }
  }
  await s.server.store.setStatus({ path: 'acme/research/data-cleaner', status: 'paused', reason: 'dedupe loop on stale test data', actor: 'ops:maria' });
  await s.server.store.grant({ path: 'acme/research/competitor-scout', amountMicros: usd(5), reason: 'launch week', actor: 'ops:maria' });
  // Refusals: a paused agent, and a call whose worst case is more than an agent has.
  const refused = [await s.client('acme/research/data-cleaner', 'clean-3'), await s.client('acme/engineering/test-writer', 'tests-9')];
  for (const client of refused) await call(client, { model: 'gpt-5.6-sol', maxTokens: 40_000 }).catch(() => undefined);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-web-shots-'));
  await build({ configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)), logLevel: 'error', build: { outDir: dir, emptyOutDir: true } });
  const s = await startDashboardServer(dir);
  const browser = await launchBrowser();
  try {
    await replay(s);
    mkdirSync(out, { recursive: true });
    const { page } = await browser.page();
    await signIn(page, s.url, adminKey);
    const shots: [string, string][] = [['overview', '#/'], ['agents', '#/agents'], ['budgets', '#/budgets'], ['ledger', '#/ledger'], ['sessions', '#/sessions'], ['tokens', '#/tokens']];
    for (const [name, hash] of shots) {
      await page.goto(`${s.url}/${hash}`);
      await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
      await page.waitForTimeout(800);
      await page.screenshot({ path: join(out, `${name}.png`) });
    }
    await page.goto(`${s.url}/#/budgets`);
    await page.getByRole('button', { name: 'Edit acme/research/market-researcher' }).click();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, 'budgets-edit.png') });
    await page.keyboard.press('Escape');
    const viewer = (await browser.page()).page;
    await signIn(viewer, s.url, viewerKey);
    await viewer.goto(`${s.url}/#/agents`);
    await viewer.waitForTimeout(800);
    await viewer.screenshot({ path: join(out, 'agents-viewer.png') });
    await page.goto(`${s.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.screenshot({ path: join(out, 'sign-in.png') });
    process.stdout.write(`screenshots in ${out}\n`);
  } finally {
    await browser.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
