import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callWorstCaseMicros } from '../../src/cli/demo-runaway.js';
import { formatUsd } from '../../src/core/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { adminKey } from '../api/api-harness.js';
import { parseCsv, runInProcess, type CliRun } from './cli-harness.js';

/**
 * `bursar sessions list|show` over spend labelled through a real gateway (mock provider), on a
 * local database and through the server's admin API; and `bursar demo`.
 */

/** A ledger export row, as `bursar ledger export --format json` writes it. */
interface Row {
  seq: number;
  ts: string;
  ts_ms: number;
  kind: string;
  budget: string;
  amount_micros: number;
  model: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  tokens_cached: number | null;
  session: string | null;
}

interface Session {
  id: string;
  started_at: string;
  ended_at: string;
  calls: number;
  tokens_in: number;
  tokens_out: number;
  tokens_cached: number;
  cost_micros: number;
  agents: string[];
  models: string[];
  entries: number;
  truncated: boolean;
}

interface SessionsJson {
  sessions: Session[];
  scanned_entries: number;
  scan_limit: number;
  truncated: boolean;
}

const botA = 'acme/research/bot-a';
const botB = 'acme/sales/bot-b';
const sessionFields = ['session', 'started_at', 'ended_at', 'calls', 'tokens_in', 'tokens_out', 'tokens_cached', 'cost_micros', 'cost_usd', 'agents', 'models', 'entries'];

const sum = (rows: readonly Row[], pick: (r: Row) => number | null): number => rows.reduce((n, r) => n + (pick(r) ?? 0), 0);
/** The agent a budget path belongs to in this test's tree: org/team/agent[/token]. */
const agentOfPath = (path: string): string => path.split('/').slice(0, 3).join('/');
const under = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);

/**
 * What a session's summary must be, computed here from the raw ledger export: every entry of
 * the session (under `root` when given), spend from its settle and late_charge entries.
 */
function expectedSession(rows: readonly Row[], id: string, root?: string): Session {
  const mine = rows.filter((r) => r.session === id && (root === undefined || under(r.budget, root)));
  const spent = mine.filter((r) => r.kind === 'settle' || r.kind === 'late_charge');
  const first = mine[0];
  const last = mine.at(-1);
  if (!first || !last) throw new Error(`no ledger rows for session ${id}`);
  return {
    id,
    started_at: first.ts,
    ended_at: last.ts,
    calls: spent.length,
    tokens_in: sum(spent, (r) => r.tokens_in),
    tokens_out: sum(spent, (r) => r.tokens_out),
    tokens_cached: sum(spent, (r) => r.tokens_cached),
    cost_micros: sum(spent, (r) => r.amount_micros),
    agents: [...new Set(mine.map((r) => agentOfPath(r.budget)))].sort(),
    models: [...new Set(mine.flatMap((r) => (r.model === null ? [] : [r.model])))].sort(),
    entries: mine.length,
    truncated: false,
  };
}

describe('bursar sessions', () => {
  let dir: string;
  let db: string;
  let server: RunningServer;
  let rows: Row[];
  /** When beta's tool reservation was recorded: only beta is active since then. */
  let toolReservedMs: number;

  const local = (...args: string[]): Promise<CliRun> => runInProcess(['--db', db, ...args]);
  const remote = (...args: string[]): Promise<CliRun> => runInProcess(['--url', server.url, ...args], { BURSAR_ADMIN_KEY: adminKey });
  const localJson = async <T>(...args: string[]): Promise<T> => {
    const run = await local('--json', ...args);
    expect(run.code, `bursar --json ${args.join(' ')}: ${run.stderr}`).toBe(0);
    return JSON.parse(run.stdout) as T;
  };

  async function chat(token: string, session: string | undefined, outputTokens: number): Promise<void> {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-mock-output-tokens': String(outputTokens), ...(session === undefined ? {} : { 'x-bursar-session': session }) },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 500, messages: [{ role: 'user', content: `Summarize the quarter in ${outputTokens} tokens` }] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await res.json();
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bursar-sessions-'));
    db = join(dir, 'bursar.db');
    server = await startServer({ port: 0, db, mockUpstream: true, env: {}, adminKeys: { admin: [adminKey], viewer: [] } });
    for (const agent of [botA, botB]) expect((await remote('agents', 'create', agent, '--budget-limit', '5.00', '--parents')).code).toBe(0);
    const mint = async (agent: string) => (JSON.parse((await remote('--json', 'tokens', 'mint', '--agent', agent)).stdout) as { token: string }).token;
    const tokenA = await mint(botA);
    const tokenB = await mint(botB);

    await chat(tokenA, 'alpha', 40);
    await chat(tokenB, 'beta', 60);
    await chat(tokenB, 'alpha', 80);
    await chat(tokenA, undefined, 100);
    // Later than every alpha entry by a margin, for the --since check.
    await new Promise((resolve) => setTimeout(resolve, 25));
    const reserved = await fetch(`${server.url}/v1/bursar/reservations`, { method: 'POST', headers: { authorization: `Bearer ${tokenB}`, 'content-type': 'application/json', 'x-bursar-session': 'beta' }, body: JSON.stringify({ tool: 'Read' }) });
    expect(reserved.status).toBe(201);
    const { reservation } = (await reserved.json()) as { reservation: { id: string } };
    const settled = await fetch(`${server.url}/v1/bursar/reservations/${reservation.id}/settle`, { method: 'POST', headers: { authorization: `Bearer ${tokenB}`, 'content-type': 'application/json' }, body: JSON.stringify({ actual_micros: 900 }) });
    expect(settled.status).toBe(200);

    rows = await localJson<Row[]>('ledger', 'export', '--format', 'json');
    const toolReserve = rows.find((r) => r.kind === 'reserve' && r.session === 'beta' && r.model === null);
    if (!toolReserve) throw new Error('the tool reservation is not in the ledger');
    toolReservedMs = toolReserve.ts_ms;
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists exactly the labelled sessions, newest active first, with totals equal to the ledger\'s settlements', async () => {
    // Proves list --json: two sessions (not the unlabelled call), beta (latest activity) first, each total summed from its own settle entries.
    const report = await localJson<SessionsJson>('sessions', 'list');
    expect(report.sessions.map((s) => s.id)).toEqual(['beta', 'alpha']);
    expect(report.sessions).toEqual([expectedSession(rows, 'beta'), expectedSession(rows, 'alpha')]);
    expect(report.truncated).toBe(false);
    const [beta, alpha] = report.sessions;
    // Figures known without the ledger: the mock wrote the output tokens asked for, the tool settled at 900.
    expect([alpha?.calls, alpha?.tokens_out, alpha?.agents]).toEqual([2, 120, [botA, botB]]);
    expect([beta?.calls, beta?.tokens_out, beta?.agents]).toEqual([2, 60, [botB]]);
    expect(alpha?.tokens_in).toBeGreaterThan(0);
    expect(beta?.cost_micros).toBe(sum(rows.filter((r) => r.session === 'beta' && r.kind === 'settle' && r.model !== null), (r) => r.amount_micros) + 900);
    // The unlabelled call was spent, but belongs to no session.
    const allSpend = sum(rows.filter((r) => r.kind === 'settle'), (r) => r.amount_micros);
    expect(allSpend).toBeGreaterThan((alpha?.cost_micros ?? 0) + (beta?.cost_micros ?? 0));
  });

  it('honours --last, --budget and --since, and prints a table newest first', async () => {
    // Proves the list filters: --last bounds the count, --budget totals only spend under it, --since drops sessions idle since then.
    expect((await localJson<SessionsJson>('sessions', 'list', '--last', '1')).sessions.map((s) => s.id)).toEqual(['beta']);
    const research = await localJson<SessionsJson>('sessions', 'list', '--budget', 'acme/research');
    expect(research.sessions).toEqual([expectedSession(rows, 'alpha', 'acme/research')]);
    expect(research.sessions[0]?.agents).toEqual([botA]);
    expect(research.sessions[0]?.calls).toBe(1);
    const since = await localJson<SessionsJson>('sessions', 'list', '--since', new Date(toolReservedMs).toISOString());
    // A session found by --since is still totalled whole.
    expect(since.sessions).toEqual([expectedSession(rows, 'beta')]);

    const table = await local('sessions', 'list');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SESSION +STARTED \(UTC\) +ENDED \(UTC\) +CALLS +TOKENS IN +TOKENS OUT +COST +AGENTS$/);
    expect(lines.slice(1).map((l) => l.split(/ +/)[0])).toEqual(['beta', 'alpha']);
    const alpha = expectedSession(rows, 'alpha');
    expect(lines[2]).toContain(formatUsd(alpha.cost_micros));
    expect(lines[2]).toContain(`${botA}, ${botB}`);
  });

  it('writes the list as CSV: the header and one row per session with the JSON\'s numbers', async () => {
    // Proves --format csv: RFC 4180 records whose fields equal the JSON report, agents joined with ';'.
    const run = await local('sessions', 'list', '--format', 'csv');
    expect(run.code).toBe(0);
    const records = parseCsv(run.stdout);
    expect(records[0]).toEqual(sessionFields);
    const expected = [expectedSession(rows, 'beta'), expectedSession(rows, 'alpha')];
    expect(records.slice(1)).toEqual(
      expected.map((s) => [s.id, s.started_at, s.ended_at, String(s.calls), String(s.tokens_in), String(s.tokens_out), String(s.tokens_cached), String(s.cost_micros), `0.${String(s.cost_micros).padStart(6, '0')}`, s.agents.join(';'), s.models.join(';'), String(s.entries)]),
    );
    expect(run.stdout.endsWith('\r\n')).toBe(true);
  });

  it('shows one session: totals, its entries oldest first, --limit, and a CSV of its entries only', async () => {
    // Proves sessions show: the summary equals the list's, entries are only this session's, and the CSV is the ledger export filtered to it.
    const alpha = expectedSession(rows, 'alpha');
    const alphaRows = rows.filter((r) => r.session === 'alpha');
    const shown = await localJson<{ ok: boolean; session: Session; entries: Row[]; more: boolean }>('sessions', 'show', 'alpha');
    expect(shown.session).toEqual(alpha);
    expect(shown.entries.map((e) => e.seq)).toEqual(alphaRows.map((r) => r.seq));
    expect(shown.more).toBe(false);

    const limited = await localJson<{ entries: Row[]; more: boolean }>('sessions', 'show', 'alpha', '--limit', '1');
    expect([limited.entries.map((e) => e.seq), limited.more]).toEqual([[alphaRows[0]?.seq], true]);

    const human = await local('sessions', 'show', 'alpha');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Session alpha\n');
    expect(human.stdout).toMatch(new RegExp(`calls +2 +tokens in/out ${alpha.tokens_in.toLocaleString('en-US')}/120 +cost \\${formatUsd(alpha.cost_micros)}`));
    expect(human.stdout).toContain(`agents    ${botA}, ${botB}`);
    expect(human.stdout).toContain(`entries   ${alphaRows.length}`);
    expect((await local('sessions', 'show', 'alpha', '--limit', '1')).stdout).toContain('Showing the first 1; more with --limit or: bursar sessions show alpha --format csv');

    const csv = await local('sessions', 'show', 'alpha', '--format', 'csv');
    expect(csv.code).toBe(0);
    const records = parseCsv(csv.stdout);
    const sessionColumn = records[0]?.indexOf('session') ?? -1;
    expect(sessionColumn).toBeGreaterThan(0);
    expect(records.slice(1).map((r) => r[sessionColumn])).toEqual(alphaRows.map(() => 'alpha'));
    expect(csv.stdout).toBe((await local('ledger', 'export', '--format', 'csv', '--session', 'alpha')).stdout);
  });

  it('refuses an unknown session, an unknown budget and bad --last values with a clear message', async () => {
    // Proves the failures: not_found / unknown_budget exit 1, a bad count is a usage error (exit 2) naming --last and its range.
    const unknown = await local('sessions', 'show', 'gamma');
    expect([unknown.code, unknown.stdout, unknown.stderr]).toEqual([1, '', 'bursar: not_found: no ledger entries for session gamma\n']);
    const nobudget = await local('sessions', 'list', '--budget', 'acme/nope');
    expect([nobudget.code, nobudget.stderr]).toEqual([1, 'bursar: unknown_budget: no budget at acme/nope\n']);
    for (const bad of ['0', 'abc', '501', '-1']) {
      const run = await local('sessions', 'list', '--last', bad);
      expect([run.code, run.stdout, run.stderr], bad).toEqual([2, '', `bursar: invalid_limit: --last: ${JSON.stringify(bad)} is not a whole number from 1 to 500\n`]);
    }
  });

  it('prints byte for byte the same through the server (--url) as on the database file it holds open', async () => {
    // Proves parity of every sessions command, successes and failures, with the server's SQLite file read concurrently by the local CLI.
    const script: string[][] = [
      ['sessions', 'list'],
      ['--json', 'sessions', 'list'],
      ['sessions', 'list', '--last', '1'],
      ['sessions', 'list', '--format', 'csv'],
      ['--json', 'sessions', 'list', '--budget', 'acme/sales'],
      ['sessions', 'list', '--since', new Date(toolReservedMs).toISOString()],
      ['sessions', 'show', 'alpha'],
      ['--json', 'sessions', 'show', 'beta'],
      ['sessions', 'show', 'beta', '--limit', '2'],
      ['sessions', 'show', 'alpha', '--format', 'csv'],
      ['sessions', 'show', 'gamma'],
      ['sessions', 'list', '--budget', 'acme/nope'],
      ['sessions', 'list', '--last', '0'],
    ];
    let failed = 0;
    for (const args of script) {
      const atFile = await local(...args);
      const atServer = await remote(...args);
      const label = `bursar ${args.join(' ')}`;
      expect(atServer.stdout, label).toBe(atFile.stdout);
      expect(atServer.stderr, label).toBe(atFile.stderr);
      expect(atServer.code, label).toBe(atFile.code);
      if (atFile.code !== 0) failed += 1;
      else expect(atFile.stdout, label).toMatch(/alpha|beta/);
    }
    expect(failed).toBe(3);
  });

  it('gives the same list with BURSAR_URL and BURSAR_ADMIN_KEY in the environment as with --db', async () => {
    // Proves the env wiring end to end for sessions: a run whose environment names the server prints what one on the file prints.
    const [viaEnv, viaFile] = await Promise.all([runInProcess(['--json', 'sessions', 'list'], { BURSAR_URL: server.url, BURSAR_ADMIN_KEY: adminKey }), runInProcess(['--db', db, '--json', 'sessions', 'list'])]);
    expect([viaEnv.code, viaEnv.stderr]).toEqual([0, '']);
    expect(viaEnv.stdout).toBe(viaFile.stdout);
    expect((JSON.parse(viaEnv.stdout) as SessionsJson).sessions.map((s) => s.id)).toEqual(['beta', 'alpha']);
  });
});

/** Runs the CLI with no provider keys, server or database in its environment. */
function runOffline(args: readonly string[]): Promise<CliRun> {
  return runInProcess(args, {});
}

const researcher = 'dennis/marketing-talent/market-researcher';
const researcherLimit = 50_000_000;
/**
 * Each loop stops after a budget_exceeded refusal, which means less than one worst-case call
 * was left; the (at most 3) other loops' calls in flight then settle below what they reserved,
 * each freeing less than one worst case. So the runaway ends within 4 worst cases of the limit.
 */
const spentAtLeast = researcherLimit - 4 * callWorstCaseMicros();

interface DemoJson {
  ok: boolean;
  db: string;
  runaway: { agent: string; calls: number; admitted: number; refused: number; refused_by_code: Record<string, number>; stopped_by: string | null; spent_micros: number; reserved_micros: number; limit_micros: number; session: string };
  other_agent_admitted: boolean;
  budgets: { path: string; spent_micros: number }[];
  audit: { ok: boolean; entries: number; problems: number };
}

interface TreeNode {
  path: string;
  name: string;
  spent_micros: number;
  limit_micros: number | null;
  children: TreeNode[];
}

describe('bursar demo', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bursar-demo-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs offline on a temporary ledger: the runaway agent is refused by its own budget, the rest of the org works, the audit passes', async () => {
    // Proves the human report: admitted and budget_exceeded refusals, the refusing budget named, spend within the limit, Audit OK, exit 0.
    const run = await runOffline(['demo']);
    expect([run.code, run.stderr]).toEqual([0, '']);
    const out = run.stdout;
    expect(out).toContain('mock provider, nothing leaves this machine');
    expect(out).toContain(`stopped by budget ${researcher}:`);
    const admitted = Number(/admitted +(\d+) calls/.exec(out)?.[1]);
    expect(admitted).toBeGreaterThan(0);
    const refused = /refused +(\d+) calls \(([^)]*)\)/.exec(out);
    expect(Number(refused?.[1])).toBeGreaterThan(0);
    expect(Number(/(\d+) budget_exceeded/.exec(refused?.[2] ?? '')?.[1])).toBeGreaterThan(0);
    const spent = /spent +[\d,.]+ of 5,000 credits \(\$(\d+\.\d+) of \$50\.00\), 0 still reserved/.exec(out);
    const spentMicros = Math.round(Number(spent?.[1]) * 1_000_000);
    expect(spentMicros).toBeLessThanOrEqual(researcherLimit);
    expect(spentMicros).toBeGreaterThan(spentAtLeast);
    expect(out).toContain('the Code Reviewer\'s next call was admitted');
    expect(out).toMatch(/^Audit: OK, replaying \d+ ledger entries reproduces every balance\.$/m);
    // Without --db the ledger is a fresh temporary file, not ./bursar.db in the working directory.
    const ledger = /^Ledger {2}(.+)$/m.exec(out)?.[1] ?? '';
    expect(ledger.startsWith(join(tmpdir(), 'bursar-demo-'))).toBe(true);
    expect((await runInProcess(['--db', ledger, 'audit', 'verify'])).code).toBe(0);
    rmSync(dirname(ledger), { recursive: true, force: true });
  });

  it('keeps a --db ledger that audits, shows the case study tree and the runaway session, and refuses to run twice on it', async () => {
    // Proves demo --json on --db: the agent is stopped by budget_exceeded just short of its $50 limit, the kept ledger verifies, and a rerun fails with budget_exists.
    const db = join(dir, 'demo.db');
    const run = await runOffline(['--db', db, '--json', 'demo']);
    expect([run.code, run.stderr]).toEqual([0, '']);
    const d = JSON.parse(run.stdout) as DemoJson;
    expect([d.ok, d.db, d.runaway.agent, d.runaway.stopped_by, d.other_agent_admitted, d.audit.ok]).toEqual([true, db, researcher, researcher, true, true]);
    expect(d.runaway.admitted).toBeGreaterThan(0);
    expect(d.runaway.refused_by_code.budget_exceeded).toBeGreaterThan(0);
    expect(d.runaway.calls).toBe(d.runaway.admitted + d.runaway.refused);
    expect([d.runaway.limit_micros, d.runaway.reserved_micros]).toEqual([researcherLimit, 0]);
    expect(d.runaway.spent_micros).toBeLessThanOrEqual(researcherLimit);
    expect(d.runaway.spent_micros).toBeGreaterThan(spentAtLeast);

    const cli = (...args: string[]) => runInProcess(['--db', db, ...args]);
    const verified = await cli('--json', 'audit', 'verify');
    expect(verified.code).toBe(0);
    expect((JSON.parse(verified.stdout) as { ok: boolean; entries: number }).entries).toBe(d.audit.entries);

    const tree = JSON.parse((await cli('--json', 'budgets', 'tree')).stdout) as { budgets: TreeNode[] };
    expect(tree.budgets.map((b) => b.path)).toEqual(['dennis']);
    const dennis = tree.budgets[0];
    expect(dennis?.children.map((c) => c.name).sort()).toEqual(['marketing-talent', 'tech-talent']);
    const marketing = dennis?.children.find((c) => c.name === 'marketing-talent');
    const agent = marketing?.children.find((c) => c.path === researcher);
    expect([agent?.limit_micros, agent?.spent_micros]).toEqual([researcherLimit, d.runaway.spent_micros]);
    expect(dennis?.children.find((c) => c.name === 'tech-talent')?.children.map((c) => c.name).sort()).toEqual(['code-reviewer', 'test-writer']);

    // The runaway's calls are one session: its admitted calls, all on the researcher.
    const sessions = JSON.parse((await cli('--json', 'sessions', 'list')).stdout) as SessionsJson;
    const runaway = sessions.sessions.find((s) => s.id === d.runaway.session);
    expect([runaway?.calls, runaway?.cost_micros, runaway?.agents]).toEqual([d.runaway.admitted, d.runaway.spent_micros, [researcher]]);
    expect(sessions.sessions.find((s) => s.id === 'code-review')?.agents).toEqual(['dennis/tech-talent/code-reviewer']);

    // Why it stopped is on record: every refused call, by code, in the refusals the demo points to.
    const refusals = JSON.parse((await cli('--json', 'refusals', 'list', '--agent', 'market-researcher')).stdout) as { refusals: { code: string; count: number; agent: string }[] };
    const byCode: Record<string, number> = {};
    for (const r of refusals.refusals) byCode[r.code] = (byCode[r.code] ?? 0) + r.count;
    expect(byCode).toEqual(d.runaway.refused_by_code);
    expect(new Set(refusals.refusals.map((r) => r.agent))).toEqual(new Set([researcher]));

    const again = await runOffline(['--db', db, 'demo']);
    expect([again.code, again.stdout]).toEqual([1, '']);
    expect(again.stderr).toBe('bursar: budget_exists: this ledger already has the demo\'s tree (dennis); run bursar demo without --db, or on an empty ledger\n');
    // The refused rerun wrote nothing.
    expect((JSON.parse((await cli('--json', 'audit', 'verify')).stdout) as { entries: number }).entries).toBe(d.audit.entries);
  });

  it('refuses --url: the demo runs its own offline server', async () => {
    // Proves the demo never touches a remote server: --url is a usage error (exit 2) before anything starts.
    const run = await runInProcess(['--url', 'http://127.0.0.1:1', 'demo']);
    expect([run.code, run.stdout, run.stderr]).toEqual([2, '', 'bursar: usage: bursar demo runs its own offline server; drop --url (or BURSAR_URL)\n']);
  });
});
