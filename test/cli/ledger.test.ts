import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock, parseCsv, spend, tempDb, type TempDb } from './cli-harness.js';

const dayMs = 86_400_000;

interface LedgerRowJson {
  seq: number;
  kind: string;
  budget: string;
  amount_micros: number;
  amount_usd: string;
  model: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  task: string | null;
  session: string | null;
  reason: string | null;
}

/** Micros from an exact six-decimal USD string, without floating point. */
function microsOf(usdText: string): number {
  const [whole = '0', fraction = ''] = usdText.replace('-', '').split('.');
  const micros = Number(whole) * 1_000_000 + Number(fraction.padEnd(6, '0'));
  return usdText.startsWith('-') ? -micros : micros;
}

/** An agent with spend three days ago and spend now, so `--since` has something to cut. */
async function seedHistory(t: TempDb): Promise<void> {
  const old = t.store(fixedClock(Date.now() - 3 * dayMs));
  await old.createBudget({ path: 'acme', kind: 'org', limitMicros: 100_000_000, period: 'none' });
  await old.createBudget({ path: 'acme/bot', kind: 'agent', limitMicros: 50_000_000, period: 'none', policy: { burnLimits: [] } });
  await spend(old, 'acme/bot', 1_111_111, { model: 'gpt-4o-mini', task: 'old-task', session: 's-old' });
  await old.close();
  const now = t.store();
  await spend(now, 'acme/bot', 2_222_223, { model: 'gpt-4o', task: 'crawl, "pricing" pages', session: 's-new' });
  await now.grant({ path: 'acme/bot', amountMicros: 333_333, reason: 'top-up, "urgent"' });
  await now.close();
}

describe('bursar credits history, ledger export, audit verify', () => {
  let t: TempDb;
  beforeEach(() => {
    t = tempDb();
  });
  afterEach(() => t.remove());

  it('shows an agent\'s entries newest first, cut by --since and --limit', async () => {
    // Proves history: the agent's own entries with model, tokens, task and session; old entries drop out with --since.
    await seedHistory(t);
    const all = await t.json<{ entries: LedgerRowJson[]; more: boolean }>('credits', 'history', '--agent', 'acme/bot');
    expect(all.entries.map((e) => e.kind)).toEqual(['grant', 'settle', 'reserve', 'settle', 'reserve', 'budget_created']);
    expect(all.entries.map((e) => e.seq)).toEqual([...all.entries.map((e) => e.seq)].sort((a, b) => b - a));

    const recent = await t.json<{ entries: LedgerRowJson[] }>('credits', 'history', '--agent', 'bot', '--since', '24h');
    expect(recent.entries.map((e) => e.kind)).toEqual(['grant', 'settle', 'reserve']);
    expect(recent.entries[1]).toMatchObject({ amount_micros: 2_222_223, model: 'gpt-4o', tokens_in: 1_200, tokens_out: 300, task: 'crawl, "pricing" pages', session: 's-new' });

    const human = await t.ok('credits', 'history', '--agent', 'acme/bot', '--since', '2d', '--limit', '2');
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+KIND\s+AMOUNT\s+BUDGET\s+MODEL\s+TOKENS IN\/OUT\s+TASK\s+SESSION\s+REASON$/);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+grant\s+\$0\.333333\s+bot\s+.*top-up, "urgent"$/);
    expect(lines[2]).toMatch(/settle\s+\$2\.222223\s+bot\s+gpt-4o\s+1200\/300\s+crawl, "pricing" pages\s+s-new/);
    expect(lines[3]).toBe('Showing the newest 2; more with --limit or --since.');

    const iso = new Date(Date.now() - dayMs).toISOString().slice(0, 10);
    const sinceDate = await t.json<{ entries: LedgerRowJson[] }>('credits', 'history', '--agent', 'acme/bot', '--since', iso);
    expect(sinceDate.entries).toHaveLength(3);
  });

  it('exports every entry as CSV and JSON whose amounts match the ledger to the micro', async () => {
    // Proves export: all pages streamed, CSV quoting per RFC 4180, micros and USD columns agree exactly in every format.
    await seedHistory(t);
    const store = t.store();
    for (let i = 0; i < 1_050; i += 1) await store.grant({ path: 'acme', amountMicros: 1 + i });
    const expected = [];
    for (let cursor: string | undefined, page; (page = await store.ledger({ cursor, limit: 1_000 })); cursor = page.nextCursor) {
      expected.push(...page.entries.map((e) => [e.seq, e.amountMicros]));
      if (page.nextCursor === null) break;
    }
    await store.close();

    const csv = await t.ok('ledger', 'export', '--format', 'csv');
    expect(csv.stdout.endsWith('\r\n')).toBe(true);
    const [header = [], ...records] = parseCsv(csv.stdout);
    const col = (name: string) => header.indexOf(name);
    expect(header.slice(0, 7)).toEqual(['seq', 'ts', 'ts_ms', 'kind', 'budget', 'amount_micros', 'amount_usd']);
    expect(records.map((r) => [Number(r[col('seq')]), Number(r[col('amount_micros')])])).toEqual(expected);
    for (const r of records) expect(microsOf(r[col('amount_usd')] ?? '')).toBe(Number(r[col('amount_micros')]));
    expect(records.some((r) => r[col('task')] === 'crawl, "pricing" pages')).toBe(true);
    expect(records.some((r) => r[col('reason')] === 'top-up, "urgent"')).toBe(true);

    const json = JSON.parse((await t.ok('ledger', 'export', '--format', 'json')).stdout) as (Omit<LedgerRowJson, 'data'> & { data: unknown })[];
    expect(json.map((r) => [r.seq, r.amount_micros])).toEqual(expected);
    for (const r of json) expect(microsOf(r.amount_usd)).toBe(r.amount_micros);
    // data is the object itself in JSON, and its hashed JSON text in CSV.
    const created = json.find((r) => r.kind === 'budget_created' && r.budget === 'acme/bot');
    expect(created?.data).toMatchObject({ name: 'bot', path: 'acme/bot', kind: 'agent' });
    const csvCreated = records.find((r) => r[col('seq')] === String(created?.seq));
    expect(JSON.parse(csvCreated?.[col('data')] ?? 'null')).toEqual(created?.data);

    const jsonl = (await t.ok('ledger', 'export', '--format', 'jsonl', '--budget', 'acme/bot', '--since', '24h')).stdout;
    const rows = jsonl.trimEnd().split('\n').map((line) => JSON.parse(line) as LedgerRowJson);
    expect(rows.map((r) => [r.kind, r.amount_micros])).toEqual([
      ['reserve', 2_223_223],
      ['settle', 2_222_223],
      ['grant', 333_333],
    ]);
  });

  it('exports an empty selection as a header, an empty array, or nothing', async () => {
    // Proves the edge of export: no matching entries still gives well-formed output.
    await seedHistory(t);
    const future = new Date(Date.now() + dayMs).toISOString();
    expect((await t.ok('ledger', 'export', '--format', 'json', '--since', future)).stdout).toBe('[]\n');
    expect(parseCsv((await t.ok('ledger', 'export', '--since', future)).stdout)).toHaveLength(1);
    expect((await t.ok('ledger', 'export', '--format', 'jsonl', '--since', future)).stdout).toBe('');
    const unknown = await t.cli('ledger', 'export', '--budget', 'nope');
    expect([unknown.code, unknown.stderr]).toEqual([1, 'bursar: unknown_budget: no budget at nope\n']);
  });

  it('verifies an intact ledger and fails, naming the entry, after a row is altered', async () => {
    // Proves audit verify: exit 0 on a clean ledger, then from where that audit left off; after
    // editing one stored amount, --full (from the first entry) exits 1 with the seq and budget named.
    await seedHistory(t);
    const clean = await t.ok('audit', 'verify');
    expect(clean.stdout).toMatch(/^Audit OK: replaying the ledger reproduces every balance\.\n\d+ entries, 2 budgets/);
    expect(clean.stdout).toContain('replayed from the first entry');
    const again = await t.json<{ ok: boolean; entries: number; verified_from_seq: number }>('audit', 'verify');
    expect([again.ok, again.verified_from_seq]).toEqual([true, again.entries]);

    const store = t.store();
    const settle = (await store.ledger({ kinds: ['settle'], order: 'desc', limit: 1 })).entries[0];
    await store.close();
    if (!settle) throw new Error('no settle entry');
    const db = new Database(t.db);
    db.exec('DROP TRIGGER ledger_no_update');
    db.prepare('UPDATE ledger SET amount_micros = ? WHERE seq = ?').run(1, settle.seq);
    db.close();

    const failed = await t.cli('audit', 'verify', '--full');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^Audit FAILED: \d+ problems? found/);
    expect(failed.stdout).toContain(`seq ${settle.seq}: entry ${settle.seq} does not match its hash`);
    expect(failed.stdout).toMatch(/budget acme\/bot: .*\[spentMicros: expected \d+, found \d+\]/);
    expect(failed.stderr).toMatch(/^bursar: audit_failed: /);

    const failedJson = await t.cli('--json', 'audit', 'verify', '--full');
    expect(failedJson.code).toBe(1);
    const report = JSON.parse(failedJson.stdout) as { ok: boolean; code: string; problems: { seq: number | null; field: string | null }[] };
    expect(report).toMatchObject({ ok: false, code: 'audit_failed' });
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: settle.seq, field: 'hash' }));
  });
});
