/**
 * The dashboard under load: a server with N agents, the page open in Debian's Chromium, and
 * settlements committed at a steady rate (straight into the store, so the page gets the same
 * events a busy gateway would send, without the gateway's own CPU in the figure). Measures how
 * busy the page's main thread is, from Chromium's own counters (CDP Performance.getMetrics:
 * TaskDuration over Timestamp), after a warm-up. Prints one JSON line per page.
 * Not a test: figures are printed, never asserted.
 *
 *   npm run bench:dashboard
 *   npm run bench:dashboard -- --agents 500 --rate 50 --seconds 30 --pages agents,overview
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { adminKey, createBudgets, launchBrowser, signIn, startDashboardServer, usd, type DashboardServer } from '../test/web/harness.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '500' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    pages: { type: 'string', default: 'agents,overview' },
  },
});

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`);
  return n;
}

const agents = positive('agents', values.agents);
const rate = positive('rate', values.rate);
const seconds = positive('seconds', values.seconds);
const warmupS = positive('warmup', values.warmup);
const pages = (values.pages ?? '').split(',').filter((p) => p !== '');

const agentPath = (i: number) => `load/bots/bot-${String(i).padStart(4, '0')}`;

/** Commits `rate` settlements a second on random agents until stopped; counts them. */
function drive(s: DashboardServer): { stop(): Promise<number> } {
  let sent = 0;
  let running = true;
  const loop = (async () => {
    const started = Date.now();
    while (running) {
      const due = Math.floor(((Date.now() - started) * rate) / 1_000);
      for (; sent < due; sent += 1) {
        const i = Math.floor(Math.random() * agents);
        const r = await s.server.store.reserve({ path: agentPath(i), amountMicros: 20_000, labels: { session: `load-${i % 50}`, model: 'gpt-4o-mini' } });
        if (!r.ok) throw new Error(JSON.stringify(r));
        await s.server.store.settle({ reservationId: r.reservation.id, actualMicros: 1_000 + Math.floor(Math.random() * 9_000), usage: { model: 'gpt-4o-mini', tokensIn: 800, tokensOut: 200 } });
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return sent;
    },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-bench-web-'));
  await build({ configFile: fileURLToPath(new URL('../web/vite.config.ts', import.meta.url)), logLevel: 'error', build: { outDir: dir, emptyOutDir: true } });
  const s = await startDashboardServer(dir);
  const browser = await launchBrowser();
  try {
    await createBudgets(s.server, [
      { path: 'load', kind: 'org', limitMicros: usd(1_000_000), period: 'month' },
      { path: 'load/bots', kind: 'team', limitMicros: null },
      ...Array.from({ length: agents }, (_, i) => ({ path: agentPath(i), kind: 'agent' as const, limitMicros: usd(1_000), period: 'day' as const })),
    ]);
    for (const name of pages) {
      const { page } = await browser.page();
      await signIn(page, `${s.url}/#/${name === 'overview' ? '' : name}`, adminKey);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
      const driver = drive(s);
      await new Promise((resolve) => setTimeout(resolve, warmupS * 1_000));
      const before = await metrics();
      await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
      const after = await metrics();
      const sent = await driver.stop();
      const wallS = (after.Timestamp ?? 0) - (before.Timestamp ?? 0);
      const pct = (name: string) => Math.round((((after[name] ?? 0) - (before[name] ?? 0)) / wallS) * 1_000) / 10;
      const cards = await page.locator('article.agent-card').count();
      process.stdout.write(
        `${JSON.stringify({ page: name, agents, rate_per_s: rate, seconds, events_sent: sent, main_thread_busy_pct: pct('TaskDuration'), script_pct: pct('ScriptDuration'), layout_pct: pct('LayoutDuration'), style_pct: pct('RecalcStyleDuration'), js_heap_mb: Math.round((after.JSHeapUsedSize ?? 0) / 1e5) / 10, cards_in_dom: cards })}\n`,
      );
      await page.close();
    }
  } finally {
    await browser.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
