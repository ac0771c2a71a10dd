/// <reference lib="dom" />
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminKey, call, createBudgets, launchBrowser, signIn, startDashboardServer, usd, type Browser, type DashboardServer } from './harness.js';

/**
 * The dashboard's pages in a real Chromium with 500 agents: windowed agent cards, the ledger
 * explorer (filters, paging, a reservation per line, CSV), sessions with CSV, the budget tree's
 * controls, tokens, the credits unit, and labelled, keyboard-reachable controls everywhere.
 */

const agentsCount = 500;
const agentPath = (i: number) => `fleet/bots/bot-${String(i).padStart(3, '0')}`;

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), text: readFileSync(await download.path(), 'utf8') };
}

function csvRows(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\r\n');
  const names = (head ?? '').split(',');
  // The rows these tests read hold no quoted commas.
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i] ?? '', v])));
}

describe('the dashboard pages with 500 agents', () => {
  let s: DashboardServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  /** Opens a page afresh (a reload, so no filter or scroll position carries over). */
  async function visit(hash: string): Promise<void> {
    await page.goto(`${s.url}/${hash}`);
    await page.reload();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
  }

  beforeAll(async () => {
    [s, browser] = await Promise.all([startDashboardServer(inject('dashboardDir')), launchBrowser()]);
    await createBudgets(s.server, [
      { path: 'fleet', kind: 'org', limitMicros: usd(1_000), period: 'month' },
      { path: 'fleet/bots', kind: 'team', limitMicros: null },
      ...Array.from({ length: agentsCount }, (_, i) => ({ path: agentPath(i), kind: 'agent' as const, limitMicros: usd(5), period: 'day' as const })),
    ]);
    const a = await s.client(agentPath(1), 'ledger-a');
    const b = await s.client(agentPath(2), 'ledger-b');
    for (let i = 0; i < 3; i += 1) await call(a, { outputTokens: 3_000, task: 'crawl' });
    for (let i = 0; i < 2; i += 1) await call(b, { outputTokens: 500, task: 'summarise' });
    ({ page, errors } = await browser.page());
    await signIn(page, s.url, adminKey);
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('renders 500 agent cards windowed: all counted, few in the page, the last one reachable, filter and sort work', async () => {
    // Proves the agents page scales by windowing: the DOM holds a screenful of cards whatever the fleet size.
    await visit('#/agents');
    await expect.poll(() => page.getByTestId('agent-count').textContent()).toBe(`${agentsCount} agents`);
    const inPage = await page.locator('article.agent-card').count();
    expect(inPage).toBeGreaterThan(0);
    expect(inPage).toBeLessThan(80);
    await page.getByTestId('agent-grid').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await page.locator(`article.agent-card[data-path="${agentPath(agentsCount - 1)}"]`).waitFor();
    expect(await page.locator('article.agent-card').count()).toBeLessThan(80);
    await page.getByLabel('Filter').fill('bot-123');
    await expect.poll(() => page.getByTestId('agent-count').textContent()).toBe(`1 of ${agentsCount} agents`);
    expect(await page.locator('article.agent-card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-path')))).toEqual([agentPath(123)]);
    await page.getByLabel('Filter').fill('');
    await page.getByLabel('Sort by').selectOption('period');
    await expect.poll(() => page.locator('article.agent-card').evaluateAll((cards) => cards.slice(0, 2).map((c) => c.getAttribute('data-path')))).toEqual([agentPath(1), agentPath(2)]);
  });

  it('follows a call on one of 500 agents live', async () => {
    // Proves live updates reach a card in a large fleet: the card shows the new spend without a reload.
    await visit('#/agents');
    await page.getByLabel('Filter').fill('bot-250');
    const card = page.locator(`article.agent-card[data-path="${agentPath(250)}"]`);
    await expect(card.getByTestId('period-cost').textContent()).resolves.toBe('$0.00');
    await call(await s.client(agentPath(250), 'fleet-live'));
    const spent = (await s.server.store.getBudget(agentPath(250)))?.spentMicros;
    await expect.poll(() => card.getByTestId('period-cost').locator('[data-micros]').getAttribute('data-micros')).toBe(String(spent));
  });

  it('filters the ledger by session and kind, folds each reservation into one line, and exports the filtered CSV', async () => {
    // Proves the explorer: filters reach the API, a reservation's reserve and settle read as one line, and the CSV holds exactly the filtered entries.
    await visit('#/ledger');
    await page.getByLabel('Session').fill('ledger-a');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('.ledger-table tbody tr').count()).toBe(3);
    const lives = await page.locator('.ledger-table tbody tr.reservation-row .life').allTextContents();
    expect(lives).toHaveLength(3);
    for (const life of lives) expect(life).toMatch(/^reserved \$[\d.]+ → settled \$[\d.]+ after [\d.]+ s$/);
    await page.getByLabel('One line per reservation').uncheck();
    await expect.poll(() => page.locator('.ledger-table tbody tr').count()).toBe(6);
    await page.getByText('Kinds: all').click();
    await page.getByRole('checkbox', { name: 'settle', exact: true }).check();
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('.ledger-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')))).toEqual(['settle', 'settle', 'settle']);
    const csv = await downloaded(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
    expect(csv.name).toBe('bursar-ledger.csv');
    const rows = csvRows(csv.text);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => [r.kind, r.session, r.task, r.budget?.startsWith(`${agentPath(1)}/tok_`)])).toEqual(Array(3).fill(['settle', 'ledger-a', 'crawl', true]));
  });

  it('pages through the ledger with its cursors', async () => {
    // Proves cursor paging: the next page holds older entries, and Newer returns to the first page.
    await visit('#/ledger');
    await page.getByLabel('One line per reservation').uncheck();
    await expect.poll(() => page.locator('.ledger-table tbody tr').count()).toBe(50);
    const first = await page.locator('.ledger-table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));
    await page.getByRole('button', { name: 'Older →' }).click();
    await expect.poll(() => page.getByText('Page 2').count()).toBe(1);
    await expect.poll(async () => Math.max(...(await page.locator('.ledger-table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))))))).toBeLessThan(Math.min(...first));
    await page.getByRole('button', { name: '← Newer' }).click();
    await expect.poll(() => page.locator('.ledger-table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))))).toEqual(first);
  });

  it('lists the sessions and exports them as CSV', async () => {
    // Proves the sessions page: ids, calls and cost match the API, and the CSV carries the same rows in integer micros.
    const api = (await (await fetch(`${s.url}/api/sessions?last=30`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as { sessions: { id: string; cost_micros: number; calls: number }[] };
    await visit('#/sessions');
    await expect.poll(() => page.locator('.sessions-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session')))).toEqual(api.sessions.map((x) => x.id));
    const csv = await downloaded(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
    expect(csv.name).toBe('bursar-sessions.csv');
    expect(csvRows(csv.text).map((r) => [r.session, Number(r.calls), Number(r.cost_micros)])).toEqual(api.sessions.map((x) => [x.id, x.calls, x.cost_micros]));
    const entries = await downloaded(page, () => page.getByRole('button', { name: 'Download the entries of session ledger-b as CSV' }).click());
    expect(csvRows(entries.text).every((r) => r.session === 'ledger-b')).toBe(true);
  });

  it('edits a limit and policy, tops up and collapses from the budget tree', async () => {
    // Proves the tree's admin controls write the ledger: limit and in-flight policy, a grant, and the tree folds.
    await visit('#/budgets');
    await page.getByRole('button', { name: 'Edit fleet', exact: true }).click();
    const edit = page.getByRole('dialog');
    await edit.getByLabel(/^Limit per month/).fill('900');
    await edit.getByLabel('Most in flight').fill('32');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await s.server.store.getBudget('fleet'))?.limitMicros).toBe(usd(900));
    expect((await s.server.store.getBudget('fleet'))?.policy.inflightMax).toBe(32);
    await page.getByRole('button', { name: `Top up ${agentPath(3)}` }).click();
    const grant = page.getByRole('dialog');
    await grant.getByLabel(/^Amount/).fill('2.50');
    await grant.getByRole('button', { name: 'Top up' }).click();
    await expect.poll(async () => (await s.server.store.getBudget(agentPath(3)))?.grantedMicros).toBe(2_500_000);
    const rows = () => page.locator('.tree-table tbody tr').count();
    expect(await rows()).toBe(agentsCount + 2);
    await page.getByRole('button', { name: 'Collapse fleet/bots' }).click();
    await expect.poll(rows).toBe(2);
  });

  it('mints a token whose secret is shown once and works, then revokes it', async () => {
    // Proves the tokens page: the secret from the dialog spends through the gateway, and a revoked token is refused.
    await visit('#/tokens');
    await page.getByRole('button', { name: 'Mint token' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Budget (usually an agent)').fill(agentPath(4));
    await dialog.getByLabel(/^Max spend/).fill('1.00');
    await dialog.getByRole('button', { name: 'Mint' }).click();
    const secret = await dialog.getByTestId('token-secret').inputValue();
    expect(secret).toMatch(/^bsr_/);
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: secret, maxRetries: 0 });
    await call(client);
    await dialog.getByRole('button', { name: 'Done' }).click();
    const id = (await s.server.store.listTokens()).find((t) => t.budget.startsWith(`${agentPath(4)}/`))?.id ?? '';
    await page.getByRole('button', { name: `Revoke ${id}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(async () => (await s.server.store.getToken(id))?.status).toBe('revoked');
    const refused = await call(client).then(() => undefined, (e: unknown) => e);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('token_revoked');
  });

  it('shows amounts in credits at a configured rate, and back in USD', async () => {
    // Proves the display unit: the same integer micros read as credits (1 credit = $0.01) and as dollars.
    await visit('#/');
    const org = page.locator('.org-card .big-number > [data-micros]');
    const micros = Number(await org.getAttribute('data-micros'));
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('dialog').getByLabel('Credits').check();
    await page.getByRole('dialog').getByLabel('One credit is worth (USD)').fill('0.01');
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => org.textContent()).toMatch(/ cr$/);
    expect(await org.getAttribute('title')).toMatch(/^\$/);
    expect(Number((await org.textContent())?.replace(/ cr$/, '').replace(/,/g, ''))).toBeCloseTo(micros / 10_000, 2);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('dialog').getByLabel('US dollars').check();
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => org.textContent()).toMatch(/^\$/);
  });

  it('names every control on every page, reaches the pages by keyboard, and logs no error', async () => {
    // Proves accessibility basics: each input, select and button has an accessible name; Tab and Enter navigate; the console stayed clean.
    for (const hash of ['#/', '#/agents', '#/budgets', '#/ledger', '#/sessions', '#/tokens']) {
      await page.goto(`${s.url}/${hash}`);
      await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
      await page.locator('main .panel, main .toolbar, main .table-wrap').first().waitFor();
      const unnamed = await page.evaluate(() =>
        Array.from(document.querySelectorAll('input, select, button, a[href]'))
          .filter((el) => {
            const labelled = el.closest('label') !== null || el.getAttribute('aria-label') || ((el as HTMLInputElement).labels?.length ?? 0) > 0;
            return !labelled && (el.textContent ?? '').trim() === '';
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      expect(unnamed, hash).toEqual([]);
    }
    // From the top of a freshly loaded page: the brand, then the page links.
    await visit('#/');
    await page.locator('.org-card').waitFor();
    let reached = false;
    for (let i = 0; i < 12 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'Sessions');
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.url()).toMatch(/#\/sessions$/);
    expect(errors).toEqual([]);
  });
});
