/**
 * What a long ledger costs: builds SQLite ledgers of 1 million and 5 million entries (10,000
 * agents with a spend token each, 100,000 entries a simulated day ending now; see
 * scale-ledger.ts), then times, on each, what an operator runs: the server's start until it
 * answers /readyz, `audit verify` (after a first, full one has left its checkpoint), a usage
 * report for the last day, `sessions list --last 30` and `budgets tree`. The sizes take turns,
 * operation by operation, for `--rounds` rounds (the machine may be shared); medians are printed
 * and, last, how much each grew from the smaller ledger to the larger. Asserts nothing.
 *
 *   npm run bench:scale
 *   npm run bench:scale -- --entries 200000,1000000      (other sizes)
 *   npm run bench:scale -- --keep                          (keep the files; their paths are printed)
 *   npm run bench:scale -- --rounds 5                      (more rounds)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { runCli } from '../src/cli/run.js';
import { startServer } from '../src/server/index.js';
import { buildLedger } from './scale-ledger.js';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '1000000,5000000' }, keep: { type: 'boolean', default: false }, 'per-day': { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } } });
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

/** The operations timed on each ledger, in the order they run. */
const ops: [string, (db: string) => Promise<{ ms: number; code: number }>][] = [
  ['server_start', (db) => serverStart(db)],
  ['audit_verify', (db) => cli(db, ['audit', 'verify', '--json'])],
  ['usage_last_day', (db) => cli(db, ['usage', '--by', 'agent', '--since', '24h', '--json'])],
  ['sessions_list_30', (db) => cli(db, ['sessions', 'list', '--last', '30', '--json'])],
  ['budgets_tree', (db) => cli(db, ['budgets', 'tree'])],
];

const rounds = Number(values.rounds);
const dirs: string[] = [];
const files = new Map<number, string>();
for (const entries of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-scale-'));
  dirs.push(dir);
  const db = join(dir, 'scale.db');
  files.set(entries, db);
  const built = await timed(() => buildLedger(db, { entries, teams: 100, agentsPerTeam: 100, entriesPerDay, openMax: 64 }, Date.now()));
  console.log(JSON.stringify({ bench: 'scale', op: 'build', ms: built.ms, ...built.value, file_mb: Math.round(statSync(db).size / 1048576), path: values.keep ? db : undefined }));
}

// The first audit of each file replays it all and leaves a checkpoint; the rounds below time
// what an audit costs from then on.
for (const [entries, db] of files) {
  const first = await cli(db, ['audit', 'verify', '--full', '--json']);
  console.log(JSON.stringify({ bench: 'scale', entries, op: 'audit_verify_full', ms: first.ms, exit_code: first.code }));
}

// Every operation on each file in turn, round after round, so both sizes see the same machine.
const times = new Map<string, number[]>();
for (let round = 0; round < rounds; round += 1) {
  for (const [op, run] of ops) {
    for (const [entries, db] of files) {
      const r = await run(db);
      if (r.code !== 0) console.log(JSON.stringify({ bench: 'scale', entries, op, exit_code: r.code }));
      times.set(`${op}:${entries}`, [...(times.get(`${op}:${entries}`) ?? []), r.ms]);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
for (const [op] of ops) {
  for (const entries of sizes) console.log(JSON.stringify({ bench: 'scale', entries, op, ms_median: median(times.get(`${op}:${entries}`) ?? []), ms: times.get(`${op}:${entries}`), rounds }));
}
const [small, large] = [sizes[0], sizes[sizes.length - 1]];
if (small !== undefined && large !== undefined && small !== large) {
  for (const [op] of ops) {
    const a = median(times.get(`${op}:${small}`) ?? []);
    const b = median(times.get(`${op}:${large}`) ?? []);
    console.log(JSON.stringify({ bench: 'scale_growth', op, entries_from: small, entries_to: large, ms_from: a, ms_to: b, growth: a > 0 ? Math.round((b / a) * 100) / 100 : null }));
  }
}
if (!values.keep) for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
