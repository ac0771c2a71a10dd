import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { occupyPort, runCliProcess } from './process-harness.js';

/** `bursar serve` and `bursar mock-upstream` as real processes: how they start, and how they refuse to. */

let dir: string;
let blocker: Awaited<ReturnType<typeof occupyPort>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-serve-'));
  blocker = await occupyPort();
});

afterAll(async () => {
  await blocker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a port that is already taken', () => {
  it('makes bursar serve --port exit by itself, non-zero, naming --port and BURSAR_PORT', async () => {
    // Proves a busy port ends the process (the mock provider and the store are closed again)
    // instead of leaving it running without a server after the error.
    const run = await runCliProcess(['--db', join(dir, 'a.db'), 'serve', '--port', String(blocker.port)]);
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`bursar: port_in_use: 127.0.0.1:${blocker.port} is already in use`);
    expect(run.stderr).toContain('--port');
    expect(run.stderr).toContain('BURSAR_PORT');
    expect(run.stdout).toBe('');
  });

  it('ends npm start (serve --quickstart, port from BURSAR_PORT) the same way, in JSON with --json', async () => {
    // Proves the quick start's path (seeding waits for a listening server) and the
    // environment variable end the same way, with the stable code in the JSON error.
    const run = await runCliProcess(['--db', join(dir, 'b.db'), '--json', 'serve', '--quickstart'], { BURSAR_PORT: String(blocker.port) });
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code).toBe(2);
    const error = JSON.parse(run.stderr) as { ok: boolean; code: string; message: string };
    expect(error).toMatchObject({ ok: false, code: 'port_in_use' });
    expect(error.message).toContain('BURSAR_PORT');
  });

  it('makes bursar mock-upstream --port exit non-zero with port_in_use rather than an internal error', async () => {
    // Proves the fake provider's command reports a busy port as something to fix.
    const run = await runCliProcess(['mock-upstream', '--port', String(blocker.port)]);
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`bursar: port_in_use: 127.0.0.1:${blocker.port} is already in use`);
    expect(run.stderr).toContain('--port');
  });
});
