import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RefusalWrite } from '../core/index.js';
import { openSqliteStore, type Store } from '../store/index.js';
import { opsLimits, type OpsLimits } from './limits.js';
import { isRecordedRefusal, RefusalRecorder, type RefusalNotice } from './refusals.js';

const dir = mkdtempSync(join(tmpdir(), 'bursar-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const startMs = Date.UTC(2026, 0, 31, 12, 0, 0);

/** A budget refusal of a call by the bot's token, `over` changing what a test needs. */
function notice(over: Partial<RefusalNotice> = {}): RefusalNotice {
  return {
    code: 'budget_exceeded',
    message: 'budget acme/bot/tok_AbCdEfGhIjKl has 1000 micros left ($0.001); this reservation needs 41005 ($0.041)',
    route: '/v1/chat/completions',
    budget: 'acme/bot/tok_AbCdEfGhIjKl',
    spendOn: 'acme/bot/tok_AbCdEfGhIjKl',
    tokenId: 'tok_AbCdEfGhIjKl',
    model: 'gpt-4o-mini',
    amountMicros: 41_005,
    requestId: 'req_1',
    ...over,
  };
}

describe('RefusalRecorder', () => {
  let path: string;
  let store: Store;
  let nowMs: number;
  let logs: Record<string, unknown>[];
  let events: RefusalWrite[];
  let recorder: RefusalRecorder;

  function start(limits: Partial<OpsLimits> = {}, busyTimeoutMs?: number): void {
    path = join(dir, `r${(files += 1)}.db`);
    store = openSqliteStore({ path, busyTimeoutMs });
    recorder = new RefusalRecorder({ store, now: () => nowMs, log: (e) => logs.push(e), limits });
    recorder.subscribe((row) => events.push(row));
  }

  beforeEach(() => {
    nowMs = startMs;
    logs = [];
    events = [];
  });

  afterEach(async () => {
    await recorder.close();
    await store.close();
  });

  const rows = async () => (await store.refusals({})).refusals;

  it('records a refusal with who, what and where, keeping only a prefix of the token id', async () => {
    // Proves the row's fields: code and status from the code table, agent without the token envelope, token id cut to 12 characters.
    start();
    recorder.record(notice());
    await recorder.flush();
    expect(await rows()).toMatchObject([
      { code: 'budget_exceeded', status: 402, budget: 'acme/bot/tok_AbCdEfGhIjKl', agent: 'acme/bot', tokenIdPrefix: 'tok_AbCdEfGh', model: 'gpt-4o-mini', tool: null, amountMicros: 41_005, requestId: 'req_1', route: '/v1/chat/completions', count: 1, firstMs: startMs, lastMs: startMs },
    ]);
    expect(events).toHaveLength(1);
    expect(events[0]?.id).toBe((await rows())[0]?.id);
  });

  it('records refused spend and a store that was down, and nothing else', () => {
    // Proves which codes are recorded: 402, 403, 429 and 503 store_unavailable; bad input and credentials are not.
    expect(['budget_exceeded', 'request_cost_cap', 'model_not_allowed', 'model_unpriced', 'budget_paused', 'forbidden', 'policy_widens', 'too_many_inflight', 'burn_limit', 'loop_detected', 'store_unavailable'].filter(isRecordedRefusal)).toHaveLength(11);
    expect(['bad_request', 'token_invalid', 'token_expired', 'unknown_reservation', 'already_settled', 'upstream_error', 'shutting_down', 'internal', 'no_such_code'].filter(isRecordedRefusal)).toEqual([]);
  });

  it('coalesces a flood of the same refusal into one row with a count, first and last time', async () => {
    // Proves coalescing: same code, budget and agent within the run window is one row; another code, budget or agent is another.
    start();
    for (let i = 0; i < 50; i += 1) {
      recorder.record(notice({ requestId: `req_${i}` }));
      nowMs += 100;
    }
    recorder.record(notice({ code: 'burn_limit', message: 'burn limit' }));
    recorder.record(notice({ spendOn: 'acme/other/tok_ZZZZZZZZZZZZ', budget: 'acme/bot/tok_AbCdEfGhIjKl' }));
    await recorder.flush();
    const [flood, burn, other] = await rows();
    expect(flood).toMatchObject({ count: 50, firstMs: startMs, lastMs: startMs + 4_900, requestId: 'req_49' });
    expect(burn).toMatchObject({ code: 'burn_limit', status: 429, count: 1 });
    expect(other).toMatchObject({ agent: 'acme/other', count: 1 });
    nowMs = startMs + opsLimits.refusalRunMs;
    recorder.record(notice());
    await recorder.flush();
    expect((await rows()).map((r) => r.count)).toEqual([50, 1, 1, 1]);
  });

  it('logs at most one line per run and flush, with the count since the last line, and bounds the lines of a flush', async () => {
    // Proves the log cannot be flooded: a thousand refusals of one kind are one line; many kinds are capped with a line summing up the rest.
    start({ refusalLogLinesPerFlushMax: 3 });
    for (let i = 0; i < 1_000; i += 1) recorder.record(notice());
    await recorder.flush();
    recorder.record(notice());
    recorder.record(notice());
    await recorder.flush();
    expect(logs.map((l) => [l.event, l.count, l.total])).toEqual([
      ['refused', 1_000, 1_000],
      ['refused', 2, 1_002],
    ]);
    logs = [];
    for (let i = 0; i < 10; i += 1) recorder.record(notice({ spendOn: `acme/agent${i}/tok_AbCdEfGhIjKl`, budget: undefined }));
    await recorder.flush();
    expect(logs).toHaveLength(4);
    expect(logs[3]).toMatchObject({ event: 'refused', runs: 7, count: 7 });
  });

  it('keeps the table within its retention: newest rows by count, none past the age', async () => {
    // Proves retention: the oldest rows go when there are more than refusalRowsMax, and rows older than refusalAgeMsMax go.
    start({ refusalRowsMax: 3, refusalAgeMsMax: 10_000 });
    for (let i = 0; i < 5; i += 1) recorder.record(notice({ code: 'budget_paused', budget: `acme/b${i}`, spendOn: `acme/b${i}` }));
    await recorder.flush();
    expect((await rows()).map((r) => r.budget)).toEqual(['acme/b2', 'acme/b3', 'acme/b4']);
    nowMs += 10_001;
    recorder.record(notice());
    await recorder.flush();
    expect((await rows()).map((r) => r.budget)).toEqual(['acme/bot/tok_AbCdEfGhIjKl']);
  });

  it('holds refusals while the store cannot take them and writes them once it can, with what came meanwhile', async () => {
    // Proves store_unavailable refusals are recorded later: the write fails on a locked database, is logged once, and the run is written after the lock goes.
    start({}, 20);
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    recorder.record(notice({ code: 'store_unavailable', message: 'the ledger cannot be reached', budget: undefined, spendOn: undefined, tokenId: undefined, model: undefined, amountMicros: undefined }));
    await recorder.flush();
    recorder.record(notice({ code: 'store_unavailable', message: 'the ledger cannot be reached', budget: undefined, spendOn: undefined, tokenId: undefined, model: undefined, amountMicros: undefined }));
    await recorder.flush();
    expect(logs.filter((l) => l.event === 'refusals_unwritten')).toHaveLength(1);
    expect(logs.filter((l) => l.event === 'refused').map((l) => l.recorded)).toEqual([false, false]);
    expect(events.map((e) => e.id)).toEqual([null, null]);
    locker.exec('COMMIT');
    locker.close();
    await recorder.flush();
    expect(await rows()).toMatchObject([{ code: 'store_unavailable', status: 503, count: 2, budget: null, agent: null }]);
  });

  it('holds a bounded number of runs, dropping the oldest unwritten ones and saying how many refusals were lost', async () => {
    // Proves memory is bounded while the store is down: past refusalRunsMax runs, the oldest are dropped and counted.
    start({ refusalRunsMax: 3 }, 20);
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 5; i += 1) recorder.record(notice({ budget: `acme/b${i}`, spendOn: `acme/b${i}` }));
    await recorder.flush();
    expect(logs.find((l) => l.event === 'refusals_dropped')).toMatchObject({ count: 2 });
    locker.exec('COMMIT');
    locker.close();
    await recorder.flush();
    expect((await rows()).map((r) => r.budget)).toEqual(['acme/b2', 'acme/b3', 'acme/b4']);
  });
});
