/// <reference lib="dom" />
import OpenAI from 'openai';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openSqliteStore } from '../../src/store/index.js';
import { adminKey, call, createBudgets, launchBrowser, signIn, startDashboardServer, usd, viewerKey, type Browser, type DashboardServer } from './harness.js';

/**
 * The dashboard in a real Chromium against a real server: signing in, live numbers without a
 * reload, pausing from a card, the viewer's read-only page, and resuming the event stream
 * after the server restarts.
 */

const agent = 'acme/research/bot';

function card(page: Page, path: string) {
  return page.locator(`article.agent-card[data-path="${path}"]`);
}

/** Marks the document so a test can tell that the page was never reloaded. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => Object.assign(window, { bursarTestMark: 'still the same document' }));
}

async function sameDocument(page: Page): Promise<unknown> {
  return page.evaluate(() => (window as unknown as { bursarTestMark?: string }).bursarTestMark);
}

describe('the live dashboard', () => {
  let s: DashboardServer;
  let browser: Browser;
  let client: OpenAI;

  beforeAll(async () => {
    [s, browser] = await Promise.all([startDashboardServer(inject('dashboardDir')), launchBrowser()]);
    await createBudgets(s.server, [
      { path: 'acme', kind: 'org', limitMicros: usd(100), period: 'month' },
      { path: 'acme/research', kind: 'team', limitMicros: usd(50), period: 'month' },
      { path: agent, kind: 'agent', limitMicros: usd(10), period: 'day' },
      { path: 'acme/research/writer', kind: 'agent', limitMicros: usd(5), period: 'day' },
    ]);
    client = await s.client(agent, 'run-1');
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('serves the page at / with its content types and caching, beside the API', async () => {
    // Proves the static plugin: HTML that revalidates, hashed assets cached for good, and /api and /v1 untouched.
    const page = await fetch(`${s.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${s.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const again = await fetch(`${s.url}/`, { headers: { 'if-none-match': page.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
    expect((await fetch(`${s.url}/assets/nothing.js`)).status).toBe(404);
    expect((await fetch(`${s.url}/api/budgets`)).status).toBe(401);
    expect((await fetch(`${s.url}/v1/models`)).status).toBe(401);
  });

  it('signs in with an admin key kept in sessionStorage, never in the URL, and shows the tree', async () => {
    // Proves login: the key is accepted, stored for the tab only, absent from the URL, and the budgets appear.
    const { page, errors } = await browser.page();
    await signIn(page, s.url, adminKey);
    expect(page.url()).not.toContain(adminKey);
    expect(await page.evaluate(() => sessionStorage.getItem('bursar.dashboard.key'))).toBe(adminKey);
    expect(await page.evaluate(() => localStorage.getItem('bursar.dashboard.key'))).toBeNull();
    await expect.poll(() => page.locator('.org-card h3').allTextContents()).toEqual(['acme']);
    await page.getByRole('link', { name: 'Budgets' }).click();
    await expect.poll(() => page.locator('.tree-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')))).toEqual(['acme', 'acme/research', agent, 'acme/research/writer']);
    await page.reload();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await expect(page.locator('[data-testid="role"]').textContent()).resolves.toBe('admin');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses a wrong key with the API\'s message and keeps nothing', async () => {
    // Proves a bad key never gets in: the server's reason is shown and nothing is stored.
    const { page } = await browser.page();
    await page.goto(s.url);
    await page.getByLabel('API key').fill('not-the-key-but-long-enough');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('unknown admin API key');
    expect(await page.evaluate(() => sessionStorage.getItem('bursar.dashboard.key'))).toBeNull();
    await page.close();
  });

  it('updates an agent card live after calls through the gateway, without a reload', async () => {
    // Proves the live path: calls with the OpenAI SDK change the card's session tokens, cost and trend through /api/events.
    const { page, errors } = await browser.page();
    await signIn(page, `${s.url}/#/agents`, adminKey);
    await markDocument(page);
    const bot = card(page, agent);
    await expect(bot.getByTestId('session-cost').textContent()).resolves.toBe('—');
    await call(client, { outputTokens: 100 });
    await call(client, { outputTokens: 100 });
    await call(client, { outputTokens: 2_000 });
    await call(client, { outputTokens: 2_000 });
    const spent = (await s.server.store.getBudget(agent))?.spentMicros ?? 0;
    expect(spent).toBeGreaterThan(0);
    await expect.poll(() => bot.getByTestId('period-cost').locator('[data-micros]').getAttribute('data-micros')).toBe(String(spent));
    await expect.poll(() => bot.getByTestId('session-cost').locator('[data-micros]').getAttribute('data-micros')).toBe(String(spent));
    await expect.poll(() => bot.locator('.cpr').getAttribute('data-trend')).toBe('up');
    expect(await bot.locator('.cpr').getAttribute('title')).toMatch(/^Avg cost\/request: \$[\d.]+ \(last 4 requests\)$/);
    expect(Number((await bot.getByTestId('session-tokens').textContent())?.replace(/,/g, ''))).toBeGreaterThan(4_000);
    expect(await sameDocument(page)).toBe('still the same document');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('pauses an agent from its card, so the next call is refused, and resumes it', async () => {
    // Proves card controls act on the ledger: pause → budget paused and budget_paused on the gateway; resume → calls pass again.
    const { page, errors } = await browser.page();
    await signIn(page, `${s.url}/#/agents`, adminKey);
    const bot = card(page, agent);
    await bot.getByRole('button', { name: `Pause ${agent}` }).click();
    await expect.poll(() => bot.locator('.badge').textContent()).toBe('paused');
    expect((await s.server.store.getBudget(agent))?.status).toBe('paused');
    const refused = await call(client).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_paused');
    // The refusal reaches the overview from the event stream, with the budget that refused.
    await page.getByRole('link', { name: 'Overview' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Refusals' }).locator('li.alert-item').allTextContents()).toEqual([expect.stringMatching(/^budget_paused acme\/research\/bot budget acme\/research\/bot is paused/)]);
    await page.getByRole('link', { name: 'Agents' }).click();
    await bot.getByRole('button', { name: `Resume ${agent}` }).click();
    await expect.poll(() => bot.locator('.badge').textContent()).toBe('active');
    await call(client);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('changes an agent\'s limit from its card', async () => {
    // Proves the limit dialog: USD typed by a person becomes integer micros in the ledger, and the card shows it.
    const { page } = await browser.page();
    await signIn(page, `${s.url}/#/agents`, adminKey);
    const writer = card(page, 'acme/research/writer');
    await writer.getByRole('button', { name: 'Change the limit of acme/research/writer' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/^Limit per day/).fill('7.25');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await s.server.store.getBudget('acme/research/writer'))?.limitMicros).toBe(7_250_000);
    await expect.poll(() => writer.locator('.agent-limit').textContent()).toContain('$7.25');
    await page.close();
  });

  it('gives a viewer key every number and no write control, and the API refuses a forged write', async () => {
    // Proves the read-only role end to end: no pause, limit, edit, top-up or mint controls, and a hand-made POST gets 403.
    const { page } = await browser.page();
    await signIn(page, `${s.url}/#/agents`, viewerKey);
    await expect(page.locator('[data-testid="role"]').textContent()).resolves.toBe('viewer · read-only');
    await expect.poll(() => card(page, agent).getByTestId('period-cost').textContent()).not.toBe('$0.00');
    expect(await page.locator('article.agent-card button').count()).toBe(0);
    await page.getByRole('link', { name: 'Budgets' }).click();
    await page.locator('.tree-table').waitFor();
    expect(await page.locator('.tree-table tbody button:not(.toggle)').count()).toBe(0);
    expect(await page.getByRole('columnheader', { name: 'Actions' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'Spend tokens' }).waitFor();
    expect(await page.getByRole('button', { name: 'Mint token' }).count()).toBe(0);
    const forged = await page.evaluate(async (path) => {
      const key = sessionStorage.getItem('bursar.dashboard.key') ?? '';
      const res = await fetch(`/api/budgets/${encodeURIComponent(path)}/pause`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    }, agent);
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('forbidden');
    expect((await s.server.store.getBudget(agent))?.status).toBe('active');
    await page.close();
  });

  it('reconnects after the server restarts on the same file and replays what it missed (Last-Event-ID)', async () => {
    // Proves resumption: spend written while the server was down reaches the open page through the replay, without a reload.
    const { page } = await browser.page();
    await signIn(page, `${s.url}/#/agents`, adminKey);
    await markDocument(page);
    const writer = card(page, 'acme/research/writer');
    await expect(writer.getByTestId('session-cost').textContent()).resolves.toBe('—');
    await s.restart(async () => {
      await page.locator('[data-testid="connection"]:not([data-state="live"])').waitFor();
      // While the server is down, another process (here: the store itself) records a settlement.
      const store = openSqliteStore({ path: s.db });
      // At most the agent's default burn limit: 2 USD in a minute.
      const reserved = await store.reserve({ path: 'acme/research/writer', amountMicros: usd(2), labels: { session: 'offline-run', model: 'gpt-4o-mini' } });
      if (!reserved.ok) throw new Error(JSON.stringify(reserved));
      const settled = await store.settle({ reservationId: reserved.reservation.id, actualMicros: usd(2), usage: { model: 'gpt-4o-mini', tokensIn: 1_000, tokensOut: 500 } });
      if (!settled.ok) throw new Error(JSON.stringify(settled));
      await store.close();
    });
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: 30_000 });
    await expect.poll(() => writer.getByTestId('session-cost').locator('[data-micros]').getAttribute('data-micros'), { timeout: 15_000 }).toBe(String(usd(2)));
    await expect.poll(() => writer.getAttribute('data-level')).toBe('yellow');
    expect(await writer.getByTestId('session-tokens').textContent()).toBe('1,500');
    await expect.poll(() => writer.getByTestId('period-cost').textContent()).toBe('$2.00');
    expect(await sameDocument(page)).toBe('still the same document');
    await page.close();
  });
});
