/**
 * What a long ledger costs: builds SQLite ledgers of 1 million and 5 million entries (10,000
 * agents with a spend token each, 100,000 entries a simulated day ending now; see
 * scale-ledger.ts), then times, on each, what an operator runs: the server's start until it
 * answers /readyz, `audit verify` (twice: the second starts from the checkpoint the first left),
 * a usage report for the last day, `sessions list --last 30` and `budgets tree`. Prints one JSON
 * line per figure and, last, how much each grew from the smaller ledger to the larger; asserts
 * nothing.
 *
 *   npm run bench:scale
 *   npm run bench:scale -- --entries 200000,1000000      (other sizes)
 *   npm run bench:scale -- --keep                          (keep the files; their paths are printed)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { runCli } from '../src/cli/run.js';
import { startServer } from '../src/server/index.js';
import { buildLedger } from './scale-ledger.js';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '1000000,5000000' }, keep: { type: 'boolean', default: false }, 'per-day': { type: 'string', default: '100000' } } });
const sizes = values.entries.split(',').map(Number);
const entriesPerDay = Number(values['per-day']);

/** A stream that keeps only how much was written. */
function sink(): Writable & { bytes: number } {
  const s = new Writable({
    write(chunk: Buffer, _encoding, done) {
      s.bytes += chunk.length;
      done();
    },
  }) as Writable & { bytes: number };
  s.bytes = 0;
  return s;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: Math.round(performance.now() - started), value };
}

/** One CLI command against the file, in this process, as `bursar … --db file` runs it. */
async function cli(db: string, argv: string[]): Promise<{ ms: number; code: number; bytes: number }> {
  const stdout = sink();
  const stderr = sink();
  const { ms, value } = await timed(() => runCli({ argv: [...argv, '--db', db], env: {}, stdout, stderr }));
  return { ms, code: value, bytes: stdout.bytes };
}

async function serverStart(db: string): Promise<{ ms: number; code: number }> {
  const { ms, value } = await timed(async () => {
    const server = await startServer({ db, port: 0, mockUpstream: true, env: {}, adminKeys: { admin: ['scale-bench-admin-key-0123456789'], viewer: [] }, dashboard: false });
    const ready = await fetch(`${server.url}/readyz`);
    await ready.text();
    return { server, status: ready.status };
  });
  await value.server.close();
  return { ms, code: value.status === 200 ? 0 : value.status };
}

const results = new Map<number, Map<string, number>>();
for (const entries of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-scale-'));
  const db = join(dir, 'scale.db');
  const built = await timed(() => buildLedger(db, { entries, teams: 100, agentsPerTeam: 100, entriesPerDay, openMax: 64 }, Date.now()));
  console.log(JSON.stringify({ bench: 'scale', op: 'build', ms: built.ms, ...built.value, file_mb: Math.round(statSync(db).size / 1048576), path: values.keep ? db : undefined }));
  const ops: [string, () => Promise<{ ms: number; code: number }>][] = [
    ['server_start', () => serverStart(db)],
    ['audit_verify', () => cli(db, ['audit', 'verify', '--json'])],
    ['audit_verify_again', () => cli(db, ['audit', 'verify', '--json'])],
    ['usage_last_day', () => cli(db, ['usage', '--by', 'agent', '--since', '24h', '--json'])],
    ['sessions_list_30', () => cli(db, ['sessions', 'list', '--last', '30', '--json'])],
    ['budgets_tree', () => cli(db, ['budgets', 'tree'])],
  ];
  const times = new Map<string, number>();
  for (const [op, run] of ops) {
    const r = await run();
    times.set(op, r.ms);
    console.log(JSON.stringify({ bench: 'scale', entries, op, ms: r.ms, exit_code: r.code }));
  }
  results.set(entries, times);
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}

const [small, large] = [sizes[0], sizes[sizes.length - 1]];
if (small !== undefined && large !== undefined && small !== large) {
  const a = results.get(small);
  const b = results.get(large);
  for (const [op, ms] of b ?? []) {
    const before = a?.get(op) ?? 0;
    console.log(JSON.stringify({ bench: 'scale_growth', op, entries_from: small, entries_to: large, ms_from: before, ms_to: ms, growth: before > 0 ? Math.round((ms / before) * 100) / 100 : null }));
  }
}
