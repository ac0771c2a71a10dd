import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatUsd, groupThousands, newSpendToken, type AuditReport, type BudgetKind, type BudgetView, type Policy } from '../core/index.js';
import { startServer, stderrJsonLog, type RunningServer } from '../server/index.js';
import type { Store } from '../store/index.js';
import type { CliContext } from './context.js';
import { CliError, unwrap, usageError } from './errors.js';
import { callWorstCaseMicros, oneCall, runawayModel, runRunaway, type RunawayReport } from './demo-runaway.js';
import { servePlugins } from './serve.js';

/**
 * `bursar demo`: the case study's "$3,000 weekend", replayed offline. It starts a server with
 * the mock provider on a free port, builds the case study's org (Dennis, 100,000 credits; Tech
 * Talent and Marketing Talent teams; their agents), lets a runaway market-research agent
 * re-request the same dataset through the OpenAI SDK until its budget refuses it, shows that
 * the rest of the org still works, audits the ledger, and prints where to look.
 *
 * Credits: 1 credit = $0.01 (10,000 micros), so the Market Researcher's 5,000 credits are $50.
 */

/** Micros per credit: 1 credit = $0.01. */
export const creditMicros = 10_000;

const session = 'weekend-runaway';
const task = 'TASK-0042 competitor analysis';
const researcher = 'dennis/marketing-talent/market-researcher';
const reviewer = 'dennis/tech-talent/code-reviewer';

/** The case study's tree, in credits (seed 000: BikiniBottom's hierarchical budgets). */
export const demoTree: { path: string; kind: BudgetKind; credits: number; title: string }[] = [
  { path: 'dennis', kind: 'org', credits: 100_000, title: 'Agent Dennis (L10)' },
  { path: 'dennis/tech-talent', kind: 'team', credits: 40_000, title: 'Tech Talent (L9)' },
  { path: reviewer, kind: 'agent', credits: 8_000, title: 'Code Reviewer (L6)' },
  { path: 'dennis/tech-talent/test-writer', kind: 'agent', credits: 5_000, title: 'Test Writer (L5)' },
  { path: 'dennis/marketing-talent', kind: 'team', credits: 30_000, title: 'Marketing Talent (L9)' },
  { path: researcher, kind: 'agent', credits: 5_000, title: 'Market Researcher (L5)' },
];

/**
 * Micros as credits, to the hundredth (rounded down), without decimals when whole.
 *
 * @example
 * credits(49_876_500) // '4,987.65'
 * credits(50_000_000) // '5,000'
 */
export function credits(micros: number): string {
  const whole = Math.floor(micros / creditMicros);
  const hundredths = Math.floor((micros % creditMicros) / (creditMicros / 100));
  return hundredths === 0 ? groupThousands(whole) : `${groupThousands(whole)}.${String(hundredths).padStart(2, '0')}`;
}

/**
 * Adds `bursar demo`.
 *
 * @example
 * registerDemo(program, context);
 */
export function registerDemo(program: Command, context: CliContext): void {
  program
    .command('demo')
    .description('offline tour: the case study\'s org, a runaway agent stopped by its budget, and where to look')
    .addHelpText('after', '\nRuns offline against the built-in mock provider, on a temporary ledger unless --db is given (it is kept, to explore afterwards).\nCredits: 1 credit = $0.01.')
    .action(() => demo(program, context));
}

/** The ledger to use: --db (or BURSAR_DB) when given, else a fresh file in a temporary directory. */
function demoDb(program: Command, context: CliContext): string {
  const { db, url } = context.options();
  if (url !== undefined) throw usageError('usage', 'bursar demo runs its own offline server; drop --url (or BURSAR_URL)');
  const source = program.getOptionValueSource('db');
  return source === 'cli' || source === 'env' ? db : join(mkdtempSync(join(tmpdir(), 'bursar-demo-')), 'bursar.db');
}

async function buildTree(store: Store): Promise<void> {
  if (await store.getBudget('dennis')) {
    throw new CliError({ code: 'budget_exists', message: 'this ledger already has the demo\'s tree (dennis); run bursar demo without --db, or on an empty ledger', budget: 'dennis' }, 1);
  }
  // The demo shows the budget's hard stop, so its agents turn the default burn limit and loop
  // limit off: at 2 USD a minute, or at the 21st repeat of its one request, either would stop
  // the runaway first, long before its 5,000 credits are gone.
  for (const b of demoTree) {
    const policy: Policy | undefined = b.kind === 'agent' ? { burnLimits: [], loopLimit: 'off' } : undefined;
    unwrap(await store.createBudget({ path: b.path, kind: b.kind, limitMicros: b.credits * creditMicros, period: 'month', policy, actor: 'demo', reason: b.title }));
  }
}

async function mint(store: Store, path: string, label: string): Promise<string> {
  const token = newSpendToken((n) => randomBytes(n));
  unwrap(await store.mintToken({ path, tokenId: token.id, hash: token.hash, expiresMs: store.now() + 3_600_000, labels: { task: label }, actor: 'demo' }));
  return token.secret;
}

interface DemoResult {
  db: string;
  url: string;
  runaway: RunawayReport;
  agent: BudgetView;
  reviewerOk: boolean;
  audit: AuditReport;
  after: BudgetView[];
}

async function play(server: RunningServer, db: string): Promise<DemoResult> {
  const researcherToken = await mint(server.store, researcher, 'market research');
  const runaway = await runRunaway({ url: server.url, token: researcherToken, session, task });
  const reviewerOk = (await oneCall(server.url, await mint(server.store, reviewer, 'code review'))).ok;
  const agent = await server.store.getBudget(researcher);
  if (!agent) throw new CliError({ code: 'internal', message: `the demo's agent ${researcher} is missing` }, 1);
  const after = (await Promise.all(demoTree.map((b) => server.store.getBudget(b.path)))).filter((b): b is BudgetView => b !== undefined);
  return { db, url: server.url, runaway, agent, reviewerOk, audit: await server.store.audit(), after };
}

async function demo(program: Command, context: CliContext): Promise<void> {
  const db = demoDb(program, context);
  // The runaway is refused on purpose: its refusals are recorded (refusals list), not logged over the tour.
  const log = (event: Record<string, unknown>) => (event.event === 'refused' ? undefined : stderrJsonLog(event));
  const server = await startServer({ port: 0, db, mockUpstream: true, env: {}, plugins: servePlugins, log });
  let result: DemoResult;
  try {
    await buildTree(server.store);
    if (!context.options().json) await context.print(intro(server.url, db));
    result = await play(server, db);
  } finally {
    await server.close();
  }
  await context.emit(
    () => demoJson(result),
    () => report(result),
  );
  if (!result.audit.ok) context.setExitCode(1);
}

function intro(url: string, db: string): string {
  const rows = demoTree.map((b) => `  ${'  '.repeat(b.path.split('/').length - 1)}${b.path.split('/').at(-1) ?? b.path}`.padEnd(34) + `${b.kind.padEnd(6)} ${credits(b.credits * creditMicros).padStart(11)} credits  (${formatUsd(b.credits * creditMicros)}/month)`);
  return [
    'Bursar demo: the "$3,000 weekend" case study, replayed offline (1 credit = $0.01).',
    '',
    `Server  ${url}  (mock provider, nothing leaves this machine)`,
    `Ledger  ${db}`,
    '',
    'Budget tree:',
    ...rows,
    '',
    `A market-research agent hits an edge case: its analysis never completes, so it re-requests the same dataset with ${runawayModel} through the gateway, 4 loops at once…`,
  ].join('\n');
}

function refusalLines(r: RunawayReport, agent: BudgetView): string[] {
  const codes = Object.entries(r.codes).map(([code, n]) => `${n} ${code}`).join(', ') || 'none';
  const by = r.stoppedBy;
  const left = Math.max(0, agent.remainingMicros ?? 0);
  const stop = by === null ? 'it was not stopped by a budget within the demo\'s bounds' : `stopped by budget ${by.budget ?? '?'}: ${credits(left)} credits left, and each call reserves its worst case, ${credits(callWorstCaseMicros())} credits`;
  return [
    `  admitted   ${r.admitted} calls in ${(r.elapsedMs / 1_000).toFixed(1)} s (via the ${r.via === 'openai-sdk' ? 'official OpenAI SDK' : 'HTTP API, as the openai package is not installed'})`,
    `  refused    ${r.refused} calls (${codes}), each before reaching the provider`,
    `  spent      ${credits(agent.spentMicros)} of ${credits(agent.limitMicros ?? 0)} credits (${formatUsd(agent.spentMicros)} of ${formatUsd(agent.limitMicros ?? 0)}), ${credits(agent.reservedMicros)} still reserved`,
    `  ${stop}`,
  ];
}

function report(d: DemoResult): string {
  const q = d.db.includes(' ') ? JSON.stringify(d.db) : d.db;
  const treeAfter = d.after.map((b) => `  ${b.path.padEnd(44)} ${credits(b.spentMicros).padStart(10)} of ${credits(b.limitMicros ?? 0).padStart(10)} credits`);
  return [
    '',
    'What happened:',
    ...refusalLines(d.runaway, d.agent),
    `  blast radius: the Code Reviewer's next call was ${d.reviewerOk ? 'admitted: the rest of the org keeps working' : 'refused too (unexpected)'}`,
    '',
    'Spend per budget (this month):',
    ...treeAfter,
    '',
    `Audit: ${d.audit.ok ? `OK, replaying ${d.audit.entries} ledger entries reproduces every balance` : `FAILED with ${d.audit.problems.length} problem(s)`}.`,
    '',
    'Where to look (the ledger is kept):',
    `  npx bursar --db ${q} refusals list --agent market-researcher`,
    `  npx bursar --db ${q} credits history --agent market-researcher`,
    `  npx bursar --db ${q} sessions show ${session}`,
    `  npx bursar --db ${q} budgets tree`,
    `  npx bursar --db ${q} audit verify`,
    `  npx bursar --db ${q} serve     then the admin API at http://127.0.0.1:8787/api (key printed at start)`,
  ].join('\n');
}

function demoJson(d: DemoResult): Record<string, unknown> {
  return {
    ok: d.audit.ok,
    db: d.db,
    credit_micros: creditMicros,
    runaway: {
      agent: researcher,
      model: runawayModel,
      via: d.runaway.via,
      calls: d.runaway.calls,
      admitted: d.runaway.admitted,
      refused: d.runaway.refused,
      refused_by_code: d.runaway.codes,
      stopped_by: d.runaway.stoppedBy?.budget ?? null,
      stopped_remaining_micros: d.runaway.stoppedBy?.remainingMicros ?? null,
      spent_micros: d.agent.spentMicros,
      reserved_micros: d.agent.reservedMicros,
      limit_micros: d.agent.limitMicros,
      elapsed_ms: d.runaway.elapsedMs,
      session,
    },
    other_agent_admitted: d.reviewerOk,
    budgets: d.after.map((b) => ({ path: b.path, kind: b.kind, limit_micros: b.limitMicros, spent_micros: b.spentMicros })),
    audit: { ok: d.audit.ok, entries: d.audit.entries, problems: d.audit.problems.length },
  };
}
